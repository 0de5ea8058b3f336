"""Copr's own sanity suite, the parts that need no build: the real copr-cli 2.6 against a
live server, expecting what Copr answers (its messages, as its scripts grep for them)."""

from __future__ import annotations

import configparser
import json
import re
import urllib.request
from pathlib import Path

import pytest

from copr_frontend.builds.models import Build
from copr_frontend.testing import Factory

from .clients import COPR_CLI, make_srpm, run, write_config

X86 = "fedora-42-x86_64"


@pytest.fixture
def cli(live_server, factory: Factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    assert COPR_CLI.exists(), f"the real copr-cli 2.6 is missing at {COPR_CLI}: run make setup"
    alice = factory.user("alice")
    factory.mock_chroot(X86)
    login, token = factory.token(alice)
    config = write_config(tmp_path / "copr.conf", live_server.url, "alice", login, token)

    def copr_cli(*args: str, code: int = 0, stdin: str | None = None) -> str:
        argv = [str(COPR_CLI), "--config", str(config), *args]
        result = run(argv, tmp_path, stdin=stdin)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result.stdout + result.stderr

    copr_cli.url = live_server.url  # type: ignore[attr-defined]
    return copr_cli


def test_validation_lists_every_field_error(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "project1", "--chroot", X86)
    out = cli("create", "project1", "--chroot", "wrong-chroot-name", code=1)
    # Copr's form errors, one per line, which copr-cli shows as a list.
    assert re.search(r"^Error: $", out, re.M), out
    assert "- name: You already have a project named alice/project1." in out
    assert "- chroots: 'wrong-chroot-name' is not a valid choice for this field." in out

    out = cli("modify", "project1", "--chroot", "non-existing-1", code=1)
    assert "'non-existing-1' is not a valid choice for this field" in out


def test_build_checks_come_before_the_upload(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("create", "buildspec", "--chroot", X86)
    srpm = make_srpm(tmp_path)
    out = cli("build", "--nowait", "buildspec:foo", str(srpm), code=1)
    assert "Please use directory format buildspec:custom:<SUFFIX_OF_CHOICE>" in out
    assert "Uploading package" not in out
    out = cli("build", "--nowait", "buildspec", "--chroot", "foo", str(srpm), code=1)
    assert "not a valid choice" in out
    assert "Uploading package" not in out


def test_fork_into_an_existing_project_needs_confirm(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "project10", "--chroot", X86)
    assert "Forking project" in cli("fork", "project10", "project10fork")
    out = cli("fork", "project10", "project10fork", code=1)
    assert "- You are about to fork into existing project: alice/project10fork" in out
    assert "- Please use --confirm if you really want to do this" in out
    assert "Updating packages in" in cli("fork", "project10", "project10fork", "--confirm")


def test_reset_of_an_invalid_attribute(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "reset", "--chroot", X86)
    out = cli("edit-chroot", f"reset/{X86}", "--reset", "nonexisting", code=1)
    assert "Trying to reset an invalid attribute: nonexisting" in out
    assert f"copr-cli get-chroot alice/reset/{X86}' for all the possible attributes" in out


def test_webhook_secrets_are_uuids(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "hooks", "--chroot", X86)
    out = cli("new-webhook-secret", "hooks", stdin="y\n")
    assert re.search(r"Generated new token: [0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", out, re.M)


def test_timeout_from_zero(cli, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("create", "timeout", "--chroot", X86)
    srpm = make_srpm(tmp_path)
    for seconds in ("0", "10", "72500"):
        out = cli("build", "timeout", str(srpm), "--timeout", seconds, "--nowait")
        build_id = int(re.search(r"Created builds: (\d+)", out).group(1))  # type: ignore[union-attr]
        factory.session.expire_all()
        build = factory.session.get(Build, build_id)
        assert build is not None
        assert build.timeout == int(seconds)
    out = cli("build", "timeout", str(srpm), "--timeout", "-1", "--nowait", code=1)
    assert "timeout" in out


def test_distgit_source_dict_has_copr_keys(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "distgit", "--chroot", X86)
    cli("add-package-distgit", "distgit", "--name", "tar", "--commit", "f42")
    package = json.loads(cli("get-package", "distgit", "--name", "tar"))
    assert package["source_dict"] == {
        "clone_url": "https://src.fedoraproject.org/rpms/tar.git",
        "committish": "f42",
        "distgit": "fedora",
    }
    cli("edit-package-distgit", "distgit", "--name", "tar", "--namespace", "forks/alice")
    package = json.loads(cli("get-package", "distgit", "--name", "tar"))
    # An edit keeps what it does not change.
    assert set(package["source_dict"]) == {"clone_url", "committish", "distgit", "namespace"}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return response.read()  # type: ignore[no-any-return]


def test_module_hotfixes_reach_repos_mock_config_and_tasks(
    cli, factory: Factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = cli.url
    cli("create", "hotfixes", "--module-hotfixes", "off", "--chroot", X86)
    cli("modify", "hotfixes", "--module-hotfixes", "on")
    project = json.loads(_get(f"{url}/api_3/project?ownername=alice&projectname=hotfixes"))
    assert project["module_hotfixes"] is True
    repo = configparser.ConfigParser(interpolation=None)
    repo.read_string(_get(f"{url}/coprs/alice/hotfixes/repo/fedora-42/foo.repo").decode())
    assert repo[repo.sections()[0]]["module_hotfixes"] == "1"
    assert "module_hotfixes=True" in cli("mock-config", "hotfixes", X86)

    srpm = make_srpm(tmp_path)
    out = cli("build", "hotfixes", str(srpm), "--nowait")
    build_id = int(re.search(r"Created builds: (\d+)", out).group(1))  # type: ignore[union-attr]
    task = json.loads(_get(f"{url}/backend/get-build-task/{build_id}-{X86}/"))
    assert task["repos"][0]["module_hotfixes"] is True

    # A project that uses the first one through copr://: only that repo says so.
    cli("create", "plain", "--chroot", X86)
    cli("modify", "plain", "--repo", "copr://alice/hotfixes")
    out = cli("build", "plain", str(srpm), "--nowait")
    build_id = int(re.search(r"Created builds: (\d+)", out).group(1))  # type: ignore[union-attr]
    task = json.loads(_get(f"{url}/backend/get-build-task/{build_id}-{X86}/"))
    assert len(task["repos"]) == 2
    assert "module_hotfixes" not in task["repos"][0]
    assert task["repos"][1]["module_hotfixes"] is True
    assert task["repos"][1]["baseurl"].endswith(f"/alice/hotfixes/{X86}/")
    config = cli("mock-config", "plain", X86)
    assert config.count("module_hotfixes=True") == 1
