"""The real HTTP server (``copr-distgit http`` on gunicorn): git clones, lookaside, logs."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from copr_common.settings import EXIT_CONFIG
from copr_common.testing.services import free_port
from copr_distgit.importer import ImportResult, import_srpm, per_task_log
from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask

MakeSrpm = Callable[..., Path]
MakeTask = Callable[..., ImportTask]


# One server and one import for the whole module: every test here only reads.
@pytest.fixture(scope="module")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> DistGitSettings:
    return DistGitSettings(state_dir=tmp_path_factory.mktemp("web") / "state")


@pytest.fixture(scope="module")
def server(
    web_settings: DistGitSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = web_settings
    tmp_path = tmp_path_factory.mktemp("web-server")
    port = free_port()
    env = {**os.environ, "COPR_DISTGIT_STATE_DIR": str(settings.state_dir)}
    log = (tmp_path / "http.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "copr_distgit.cli", "http", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "http.log").read_text()
            assert time.monotonic() < deadline, "the HTTP server did not come up"
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def imported(
    web_settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> ImportResult:
    with per_task_log(web_settings, 7):
        return import_srpm(web_settings, make_task(7), make_srpm("hello", "1.0"))


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def get(url: str, method: str = "GET") -> tuple[int, bytes]:
    response = requests.request(method, url, timeout=10)
    return response.status_code, response.content


def test_git_clone_over_http(server: str, imported: ImportResult, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", f"{server}/git/alice/demo/hello.git", str(clone))
    branches = git("branch", "-r", cwd=clone)
    assert "origin/f41" in branches
    assert "origin/f42" in branches
    git("checkout", "-q", "f42", cwd=clone)
    assert git("rev-parse", "HEAD", cwd=clone).strip() == imported.branch_commits["f42"]
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == [
        "hello-fix.patch",
        "hello.spec",
        "sources",
    ]
    # Without the .git suffix too, as Copr's clone URLs are written either way.
    git("ls-remote", f"{server}/git/alice/demo/hello", cwd=tmp_path)


def test_fetch_one_commit_by_hash_shallow(
    server: str, imported: ImportResult, tmp_path: Path
) -> None:
    """What a builder does: fetch exactly the commit the frontend named, nothing more."""
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", cwd=work)
    commit = imported.branch_commits["f41"]
    git("fetch", "-q", "--depth", "1", f"{server}/git/alice/demo/hello.git", commit, cwd=work)
    git("checkout", "-q", commit, cwd=work)
    assert (work / "hello.spec").exists()


def test_lookaside_download_matches_its_hash(
    server: str, imported: ImportResult, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", "-b", "f41", f"{server}/git/alice/demo/hello.git", str(clone))
    line = (clone / "sources").read_text().strip()
    match = re.fullmatch(r"SHA512 \((?P<name>[^)]+)\) = (?P<hash>[0-9a-f]{128})", line)
    assert match is not None, line
    name, digest = match["name"], match["hash"]
    status, body = get(f"{server}/repo/pkgs/alice/demo/hello/{name}/sha512/{digest}/{name}")
    assert status == 200
    assert hashlib.sha512(body).hexdigest() == digest
    assert body[:2] == b"\x1f\x8b"  # the gzip tarball itself

    status, _ = get(f"{server}/repo/pkgs/alice/demo/hello/{name}/sha512/{'0' * 128}/{name}")
    assert status == 404


def test_per_import_log(server: str, imported: ImportResult) -> None:
    status, body = get(f"{server}/per-task-logs/7.log")
    assert status == 200
    text = body.decode()
    assert "hello-1.0-1: spec hello.spec, patches ['hello-fix.patch']" in text
    assert f"branch f41: {imported.branch_commits['f41']} (updated)" in text
    assert get(f"{server}/per-task-logs/8.log")[0] == 404


def test_push_is_refused(server: str, imported: ImportResult, tmp_path: Path) -> None:
    status, _ = get(f"{server}/git/alice/demo/hello.git/info/refs?service=git-receive-pack")
    assert status == 403
    clone = tmp_path / "clone"
    git("clone", "-q", "-b", "f41", f"{server}/git/alice/demo/hello.git", str(clone))
    (clone / "evil").write_text("x")
    git("add", "evil", cwd=clone)
    git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "evil", cwd=clone)
    push = subprocess.run(
        ["git", "push", "origin", "f41"], cwd=clone, capture_output=True, text=True, check=False
    )
    assert push.returncode != 0
    assert (
        git("ls-remote", f"{server}/git/alice/demo/hello.git", "f41").split()[0]
        == (imported.branch_commits["f41"])
    )


def test_spec_at_a_commit(server: str, imported: ImportResult) -> None:
    commit = imported.branch_commits["f41"]
    response = requests.get(
        f"{server}/git/alice/demo/hello.git/plain/hello.spec", params={"id": commit}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.text.startswith("Name:") or "\nName:" in response.text
    assert "hello" in response.text
    missing = "0" * 40
    assert get(f"{server}/git/alice/demo/hello.git/plain/hello.spec?id={missing}")[0] == 404
    # A branch name is not a fixed version: refused.
    assert get(f"{server}/git/alice/demo/hello.git/plain/hello.spec?id=f41")[0] == 404
    assert get(f"{server}/git/alice/demo/hello.git/plain/nothing.spec?id={commit}")[0] == 404
    assert get(f"{server}/git/alice/demo/hello.git/plain/hello.spec?id={commit}", "POST")[0] == 405


@pytest.mark.parametrize(
    "path",
    [
        "/git/alice/demo/hello.git/plain/hello.spec",
        "/git/alice/demo/hello.git/plain/../config?id=" + "0" * 40,
        "/git/alice/demo/hello.git/plain/sub/hello.spec?id=" + "0" * 40,
        "/git/alice/../../etc/plain/passwd?id=" + "0" * 40,
        "/repo/pkgs/../../../etc/passwd",
        "/repo/pkgs/alice/demo/hello/..%2f..%2fetc/sha512/00/x",
        "/repo/pkgs/alice/demo/hello/a/sha512/00/b",
        "/git/alice/demo/nothing.git/info/refs?service=git-upload-pack",
        "/git/alice/../../etc/info/refs",
        "/git/alice/demo/hello.git/config",
        "/git/alice/demo/hello.git/objects/../../../lookaside",
        "/per-task-logs/../settings.toml",
        "/nothing",
    ],
)
def test_bad_paths_are_not_found(server: str, imported: ImportResult, path: str) -> None:
    assert get(server + path)[0] == 404


def test_writes_are_refused(server: str, imported: ImportResult) -> None:
    assert get(f"{server}/per-task-logs/7.log", method="POST")[0] == 405
    assert get(f"{server}/repo/pkgs/x", method="DELETE")[0] == 405


def test_settings_error_stops_the_server(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "copr_distgit.cli", "http"],
        env={**os.environ, "COPR_DISTGIT_MAX_WORKERS": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_CONFIG
    assert "'max_workers'" in result.stderr


def test_bad_settings_file_stops_the_server(tmp_path: Path) -> None:
    config = tmp_path / "dist-git.toml"
    config.write_text("max_workers = -3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPR_DISTGIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "copr_distgit.cli", "--config", str(config), "http"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_CONFIG
    assert "copr-distgit: invalid settings" in result.stderr
    assert "'max_workers' (from file" in result.stderr
