"""End to end: a git forge drives builds through the whole local stack, and the builds'
events reach notification endpoints.

A real git repository is served on loopback by ``git http-backend``; the test pushes
commits to it and posts the payloads GitHub, GitLab and Bitbucket send for them (the
fixtures of ``copr_common.testing.forge``) to the stack's receivers.  Each build must
be of the pushed commit (the package version that commit's spec says) and installable
with dnf.  A pull request builds into ``webhooks:pr:7``, its second commit rebuilds it,
and closing it removes the dir and its results.  Two loopback endpoints hear the builds:
one answers 200, one answers 500 until the test lets it succeed — the builds do not wait
for it, and its deliveries are retried and listed with their states through our copr-cli.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_local_stack import (
    CHROOT,
    EXAMPLE_SPEC,
    ROOT,
    UPSTREAM,
    Stack,
    dnf,
    public_state_dir,
    start_stack,
    stop_stack,
)

from copr.v3 import Client, CoprNoResultException
from copr_common.testing import forge as payloads
from copr_common.testing.forge import Commit, ForgeRepo, GitForge, Payload
from copr_common.testing.polling import wait_for
from copr_common.testing.receiver import HookReceiver

pytestmark = pytest.mark.slow

OUR_CLI = ROOT / ".venv" / "bin" / "copr-cli"
BUILD_TIMEOUT = 300
PROJECT = "webhooks"


def spec(version: str) -> str:
    return EXAMPLE_SPEC.read_text().replace("Version:        1.0", f"Version:        {version}")


# The stack is polled once a second.
wait_until = functools.partial(wait_for, interval=1.0)


class Hooks:
    """The stack, its project with an SCM package of the forge's repository, and the
    project's webhook URLs and notification endpoints."""

    def __init__(self, stack: Stack, repo: ForgeRepo) -> None:
        self.stack = stack
        self.repo = repo
        self.client = Client.create_from_config_file(str(stack.cli_config))
        self.good = HookReceiver(200)
        self.flaky = HookReceiver(500)
        self.secrets: dict[str, str] = {}
        self.endpoint_ids: dict[str, int] = {}
        self.project_id = 0
        self.webhook_secret = ""

    def our_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(OUR_CLI), "--config", str(self.stack.cli_config), *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    def set_up(self) -> None:
        # The real copr-cli makes the project and the package, as a user would.
        for args in (
            ["create", PROJECT, "--chroot", CHROOT],
            ["add-package-scm", PROJECT, "--name", "hello-copr", "--clone-url",
             self.repo.clone_url, "--subdir", "pkg", "--spec", "hello-copr.spec",
             "--webhook-rebuild", "on"],
        ):  # fmt: skip
            made = subprocess.run(
                [str(UPSTREAM / "copr-cli"), "--config", str(self.stack.cli_config), *args],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr + made.stdout
        info = self.our_cli("get-webhooks", PROJECT).stdout
        self.project_id = int(re.search(r"^Project ID: (\d+)$", info, re.M).group(1))  # type: ignore[union-attr]
        self.webhook_secret = re.search(r"^Webhook secret: (\S+)$", info, re.M).group(1)  # type: ignore[union-attr]
        assert f"github: {self.stack.url}/webhooks/github/{self.project_id}/" in info
        for name, receiver, extra in (
            ("good", self.good, []),
            ("flaky", self.flaky, ["--event", "build.ended"]),
        ):
            added = self.our_cli("add-notification-endpoint", PROJECT, receiver.url, *extra).stdout
            self.endpoint_ids[name] = int(added.split()[2])
            self.secrets[name] = re.search(r"^Secret: (\S+)$", added, re.M).group(1)  # type: ignore[union-attr]

    def url(self, forge: str) -> str:
        return f"{self.stack.url}/webhooks/{forge}/{self.project_id}/{self.webhook_secret}/"

    def post(self, url: str, payload: Payload) -> tuple[int, Any]:
        request = urllib.request.Request(url, data=payload.body, headers=payload.headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def hook(self, forge: str, payload: Payload) -> list[int]:
        status, body = self.post(self.url(forge), payload)
        assert status == 200, body
        assert body["build_ids"], body
        return list(body["build_ids"])

    def wait_build(self, build_id: int) -> Any:
        def ended() -> Any:
            build = self.client.build_proxy.get(build_id)
            return build if build.state in ("succeeded", "failed", "canceled") else None

        build = wait_until(ended, BUILD_TIMEOUT, f"build {build_id}")
        assert build.state == "succeeded", dict(build)
        return build

    def committish(self, build_id: int) -> str:
        """What the build was made from, as the frontend stored it."""
        database = self.stack.state_dir / "frontend" / "copr.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            (raw,) = conn.execute(
                "SELECT source_json FROM builds WHERE id = ?", (build_id,)
            ).fetchone()
        return str(json.loads(raw)["committish"])

    def results(self, dirname: str = PROJECT) -> Path:
        return self.stack.state_dir / "public_html" / "results" / "admin" / dirname


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitForge]:
    yield from payloads.git_forge(tmp_path_factory.mktemp("forge"))


@pytest.fixture(scope="module")
def hooks(forge: GitForge) -> Iterator[Hooks]:
    repo = forge.create_repo("hello", {"pkg/hello-copr.spec": spec("1.0"), "README": "hi\n"})
    with public_state_dir() as state_dir:
        stack = start_stack(state_dir)
        made = Hooks(stack, repo)
        try:
            made.set_up()
            yield made
        finally:
            made.good.close()
            made.flaky.close()
            stop_stack(stack)


@pytest.fixture(scope="module")
def installroot(tmp_path_factory: pytest.TempPathFactory, hooks: Hooks) -> Path:
    root = tmp_path_factory.mktemp("installroot")
    (root / "etc" / "yum.repos.d").mkdir(parents=True)
    enabled = dnf(root, "copr", "enable", "--hub", hooks.stack.url, f"admin/{PROJECT}", CHROOT)
    assert enabled.returncode == 0, enabled.stderr
    return root


def installed_version(root: Path) -> str:
    query = subprocess.run(["rpm", "--root", str(root), "-q", "hello-copr"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    return query.stdout.strip()


def assert_installs(root: Path, version: str) -> None:
    result = dnf(root, "--refresh", "install", f"hello-copr-{version}")
    assert result.returncode == 0, result.stderr + result.stdout
    assert installed_version(root).startswith(f"hello-copr-{version}-1"), installed_version(root)


def bump(repo: ForgeRepo, version: str, branch: str = "main") -> Commit:
    return repo.commit({"pkg/hello-copr.spec": spec(version)}, f"Version {version}", branch=branch)


def test_forge_refusals_store_nothing(hooks: Hooks) -> None:
    commit = bump(hooks.repo, "0.9", branch="unbuilt")
    payload = payloads.github_push(hooks.repo, [commit])
    wrong = f"{hooks.stack.url}/webhooks/github/{hooks.project_id}/{'0' * 32}/"
    assert hooks.post(wrong, payload)[0] == 403
    assert hooks.post(f"{hooks.stack.url}/webhooks/github/999999/x/", payload)[0] == 404
    assert hooks.post(hooks.url("github"), Payload(payload.headers, b"{oops"))[0] == 400
    assert list(hooks.client.build_proxy.get_list("admin", PROJECT)) == []


def test_pushes_and_a_tag_build_the_commit_they_name(hooks: Hooks, installroot: Path) -> None:
    repo = hooks.repo
    github = bump(repo, "1.1")
    (github_build,) = hooks.hook("github", payloads.github_push(repo, [github]))
    gitlab = bump(repo, "1.2")
    (gitlab_build,) = hooks.hook("gitlab", payloads.gitlab_push(repo, [gitlab]))
    bitbucket = bump(repo, "1.3")
    (bitbucket_build,) = hooks.hook("bitbucket", payloads.bitbucket_push(repo, bitbucket))
    bump(repo, "1.4")
    repo.tag("hello-copr-1.4")
    (tag_build,) = hooks.hook("github", payloads.github_create_tag(repo, "hello-copr-1.4"))

    expected = [
        (github_build, "1.1", github.sha),
        (gitlab_build, "1.2", gitlab.sha),
        (bitbucket_build, "1.3", bitbucket.sha),
        (tag_build, "1.4", "hello-copr-1.4"),
    ]
    for build_id, version, committish in expected:
        build = hooks.wait_build(build_id)
        assert build.source_package["version"] == f"{version}-1"
        assert hooks.committish(build_id) == committish
        build_dir = hooks.results() / CHROOT / f"{build_id:08d}-hello-copr"
        assert list(build_dir.glob(f"hello-copr-{version}-1*.noarch.rpm")), build_dir
    for _, version, _ in expected:
        assert_installs(installroot, version)
    check_failing_endpoint_is_retried(hooks, [build_id for build_id, _, _ in expected])


def test_pull_request_dir_is_built_rebuilt_and_removed(hooks: Hooks, tmp_path: Path) -> None:
    repo = hooks.repo
    first = bump(repo, "2.0", branch="friendlier")
    (opened,) = hooks.hook("github", payloads.github_pull_request(repo, "opened", 7, first))
    build = hooks.wait_build(opened)
    assert build.project_dirname == f"{PROJECT}:pr:7"
    assert build.source_package["version"] == "2.0-1"
    # The pull request's own repository, installable on its own.
    root = tmp_path / "pr-root"
    (root / "etc" / "yum.repos.d").mkdir(parents=True)
    enabled = dnf(root, "copr", "enable", "--hub", hooks.stack.url, f"admin/{PROJECT}:pr:7", CHROOT)
    assert enabled.returncode == 0, enabled.stderr
    assert_installs(root, "2.0")

    second = bump(repo, "2.1", branch="friendlier")
    (synced,) = hooks.hook("github", payloads.github_pull_request(repo, "synchronize", 7, second))
    assert synced != opened
    rebuilt = hooks.wait_build(synced)
    assert rebuilt.project_dirname == f"{PROJECT}:pr:7"
    assert hooks.committish(synced) == second.sha
    assert_installs(root, "2.1")
    pr_results = hooks.results(f"{PROJECT}:pr:7")
    assert (pr_results / CHROOT / f"{synced:08d}-hello-copr").is_dir()

    status, body = hooks.post(hooks.url("github"),
                              payloads.github_pull_request(repo, "closed", 7, second))  # fmt: skip
    assert (status, body) == (
        200,
        {"build_ids": [], "message": f"{PROJECT}:pr:7 and its results are removed"},
    )
    for build_id in (opened, synced):
        with pytest.raises(CoprNoResultException):
            hooks.client.build_proxy.get(build_id)
    wait_until(lambda: not pr_results.exists(), 120, "the pull-request dir's results to go")
    assert hooks.results().is_dir()
    repo_url = f"{hooks.stack.url}/coprs/admin/{PROJECT}:pr:7/repo/fedora-42/dnf.repo"
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(repo_url, timeout=30)  # noqa: S310
    gone.value.close()
    assert gone.value.code == 404


def deliveries(hooks: Hooks, endpoint: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries, as our copr-cli lists them (API v3)."""
    out = hooks.our_cli("list-notification-deliveries", PROJECT, "--endpoint",
                        str(hooks.endpoint_ids[endpoint])).stdout  # fmt: skip
    return json.loads(out) if out.strip() else []


def check_failing_endpoint_is_retried(hooks: Hooks, build_ids: list[int]) -> None:
    """The builds finished while the flaky endpoint answered 500: their ``build.ended``
    deliveries wait, retried with growing waits, until it answers 200."""

    def attempted() -> list[dict[str, Any]]:
        found = deliveries(hooks, "flaky")
        ready = len(found) == len(build_ids) and all(d["attempts"] >= 3 for d in found)
        return found if ready else []

    failing = wait_until(attempted, 120, "three attempts of each build.ended at the flaky endpoint")
    assert sorted(d["build_id"] for d in failing) == sorted(build_ids)
    for delivery in failing:
        assert delivery["event"] == "build.ended"
        assert delivery["state"] == "pending"
        assert delivery["response_code"] == 500
        assert delivery["last_error"].startswith("HTTP 500")
        assert delivery["next_attempt_on"] > delivery["last_attempt_on"]
    hooks.flaky.status = 200
    wait_until(lambda: all(d["state"] == "delivered" for d in deliveries(hooks, "flaky")), 180,
               "the flaky endpoint's deliveries to succeed")  # fmt: skip
    by_build: dict[int, list[float]] = {}
    for request in hooks.flaky.received():
        assert request.signed_by(hooks.secrets["flaky"])
        by_build.setdefault(request.json()["build"]["id"], []).append(request.at)
    for attempts in by_build.values():
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        # The local stack retries after 2 s, then 4 s, ...: only lower bounds, as the
        # machine may be slow.
        assert gaps[0] >= 2.0 - 0.5
        assert gaps[1] >= 4.0 - 0.5


def test_endpoints_heard_every_build(hooks: Hooks) -> None:
    builds = [b.id for b in hooks.client.build_proxy.get_list("admin", PROJECT)]
    assert len(builds) == 4
    wait_until(lambda: len(deliveries(hooks, "good")) >= 18, 120, "3 events of 6 builds")
    good = deliveries(hooks, "good")
    wait_until(lambda: all(d["state"] == "delivered" for d in deliveries(hooks, "good")), 120,
               "every delivery to the good endpoint")  # fmt: skip
    # Delivery is at least once: a delivery may arrive twice (when the report of an attempt
    # was lost), always with its X-Copr-Delivery id; each event of a build is one delivery.
    delivery_of: dict[tuple[int, str], set[str]] = {}
    for request in hooks.good.received():
        assert request.signed_by(hooks.secrets["good"])
        body = request.json()
        assert request.headers["X-Copr-Event"] == body["event"]
        key = (body["build"]["id"], body["event"])
        delivery_of.setdefault(key, set()).add(request.headers["X-Copr-Delivery"])
    assert all(len(ids) == 1 for ids in delivery_of.values()), delivery_of
    events: dict[int, list[str]] = {}
    for build_id, event in delivery_of:
        events.setdefault(build_id, []).append(event)
    # The four builds of the project and the two of the pull request (now removed).
    assert len(events) == 6
    assert len(good) == 18
    for build_id in builds:
        assert sorted(events[build_id]) == ["build.ended", "build.started", "chroot.ended"]
    ended = [r.json() for r in hooks.good.received() if r.json()["event"] == "build.ended"]
    assert {e["build"]["state"] for e in ended} == {"succeeded"}
    # The pull request's builds came after the flaky endpoint recovered: delivered at once.
    assert all(d["state"] == "delivered" for d in deliveries(hooks, "flaky"))
