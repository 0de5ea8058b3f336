"""Import workers end to end: downloads, the frontend report, and the real dispatcher
command running real worker processes against Redis and a loopback frontend stand-in."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2
import pytest
import redis

from copr_common.redis_keys import IMPORT_MANAGER, record_key
from copr_distgit.frontend import BackendApiClient, BackendApiError, ImportQueue
from copr_distgit.importer import run_import
from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask

MakeSrpm = Callable[..., Path]
MakeTask = Callable[..., ImportTask]


def task_dict(build_id: int, url: str, pkg_name: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "build_id": build_id,
        "owner": "alice",
        "project": "demo",
        "branches": ["f41", "f42"],
        "pkg_name": pkg_name,
        "srpm_url": url,
        "sandbox": "alice--alice",
        "background": False,
        **extra,
    }


def test_run_import_downloads_and_reports(
    settings: DistGitSettings, frontend: Any, make_srpm: MakeSrpm
) -> None:
    url = frontend.srpm_url(make_srpm("hello", "1.0"))
    payload = run_import(settings, ImportTask.from_dict(task_dict(5, url)))
    assert payload["build_id"] == 5
    assert payload["reponame"] == "alice/demo/hello"
    assert payload["pkg_version"] == "1.0-1"
    assert set(payload["branch_commits"]) == {"f41", "f42"}
    assert "error" not in payload
    log = (settings.per_task_log_root / "5.log").read_text()
    assert f"importing build 5: {url}" in log
    assert list(settings.work_root.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/results/missing.src.rpm", "cannot download the SRPM from {url}: HTTP 404"),
        ("/results/notrpm.src.rpm", "the file is not an RPM package (no RPM lead)"),
        ("/results/big.src.rpm", "the SRPM is 20000 bytes, larger than the limit of 10000 bytes"),
    ],
)
def test_failed_import_reports_the_reason(
    settings: DistGitSettings, frontend: Any, path: str, message: str
) -> None:
    (frontend.srpm_dir / "notrpm.src.rpm").write_text("not a package\n" * 20)
    (frontend.srpm_dir / "big.src.rpm").write_bytes(b"x" * 20000)
    small = settings.model_copy(update={"max_srpm_size": 10000})
    url = frontend.url + path
    payload = run_import(small, ImportTask.from_dict(task_dict(6, url)))
    assert payload == {"build_id": 6, "branch_commits": {}, "error": message.format(url=url)}
    assert message.format(url=url) in (settings.per_task_log_root / "6.log").read_text()
    assert not settings.git_root.exists() or list(settings.git_root.rglob("*.git")) == []
    assert list(settings.work_root.iterdir()) == []


def test_unreachable_srpm_url(settings: DistGitSettings) -> None:
    task = ImportTask.from_dict(task_dict(7, "http://127.0.0.1:9/x.src.rpm"))
    payload = run_import(settings, task)
    assert payload["error"].startswith("cannot download the SRPM from http://127.0.0.1:9/x.src.rpm")


def test_client_retries_server_errors_but_not_refusals(frontend: Any) -> None:
    client = BackendApiClient(frontend.url, "backend-password", first_delay=0.01)
    frontend.fail_next_posts = 2
    client.import_completed({"build_id": 1, "branch_commits": {}})
    assert frontend.completed == [{"build_id": 1, "branch_commits": {}}]
    assert frontend.api_versions == {"6"}

    wrong = BackendApiClient(frontend.url, "wrong", first_delay=0.01)
    with pytest.raises(BackendApiError, match=": 403 ") as refused:
        wrong.import_completed({"build_id": 2, "branch_commits": {}})
    assert refused.value.status == 403
    assert len(frontend.completed) == 1

    down = BackendApiClient("http://127.0.0.1:9", "x", first_delay=0.01, report_patience=0.1)
    with pytest.raises(BackendApiError, match="POST http://127.0.0.1:9/backend/import-completed/"):
        down.import_completed({"build_id": 3, "branch_commits": {}})


def test_queue_fails_unusable_tasks_at_once(frontend: Any) -> None:
    frontend.add_task(task_dict(1, f"{frontend.url}/results/a.src.rpm"))
    frontend.add_task(task_dict(2, f"{frontend.url}/results/b.src.rpm", branches=["../x"]))
    queue = ImportQueue(BackendApiClient(frontend.url, "backend-password", first_delay=0.01))
    assert [t.build_id for t in queue.get_tasks()] == [1]
    assert frontend.completed == [
        {"build_id": 2, "branch_commits": {}, "error": "build 2: invalid branch name '../x'"}
    ]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_dispatcher_imports_everything_the_frontend_lists(
    settings: DistGitSettings,
    frontend: Any,
    make_srpm: MakeSrpm,
    redis_url: str,
    tmp_path: Path,
) -> None:
    config = tmp_path / "dist-git.toml"
    config.write_text(
        f'frontend_url = "{frontend.url}"\n'
        'frontend_auth = "backend-password"\n'
        f'redis_url = "{redis_url}"\n'
        f'state_dir = "{settings.state_dir}"\n'
        "sleep_time = 0.2\n"
        "max_workers = 3\n"
    )
    hello1 = frontend.srpm_url(make_srpm("hello", "1.0"))
    hello2 = frontend.srpm_url(make_srpm("hello", "2.0"))
    other = frontend.srpm_url(make_srpm("other", "7"))
    (frontend.srpm_dir / "junk.src.rpm").write_text("junk\n")
    frontend.add_task(task_dict(1, hello1))
    frontend.add_task(task_dict(2, hello2))
    frontend.add_task(task_dict(3, other, pkg_name="other"))
    frontend.add_task(task_dict(4, f"{frontend.url}/results/junk.src.rpm", pkg_name="junk"))

    with (tmp_path / "dispatcher.log").open("wb") as log:
        dispatcher = subprocess.Popen(
            [sys.executable, "-m", "copr_distgit.cli", "--config", str(config), "dispatcher"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        wait_until(lambda: len(frontend.completed) == 4, 60, "four import reports")
    finally:
        os.killpg(dispatcher.pid, signal.SIGTERM)
        dispatcher.wait(timeout=15)
    assert dispatcher.returncode == 0, (tmp_path / "dispatcher.log").read_text()

    by_build = {p["build_id"]: p for p in frontend.completed}
    assert by_build[4]["branch_commits"] == {}
    assert by_build[4]["error"] == "the file is not an RPM package (no RPM lead)"
    assert by_build[3]["reponame"] == "alice/demo/other"
    for build_id in (1, 2, 3):
        assert set(by_build[build_id]["branch_commits"]) == {"f41", "f42"}, by_build[build_id]

    # The two hello imports ran one after the other: a linear history of two commits.
    repo = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    tip = repo.branches.local["f41"].target
    assert len(list(repo.walk(tip))) == 2
    assert str(tip) in {by_build[1]["branch_commits"]["f41"], by_build[2]["branch_commits"]["f41"]}
    for build_id in (1, 2, 3, 4):
        assert (settings.per_task_log_root / f"{build_id}.log").exists()


def start_dispatcher(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as stream:
        return subprocess.Popen(
            [sys.executable, "-m", "copr_distgit.cli", "--config", str(config), "dispatcher"],
            stdout=subprocess.DEVNULL,
            stderr=stream,
            start_new_session=True,
        )


def worker_pids(conn: redis.Redis) -> dict[str, int]:
    pids = {}
    for key in conn.keys(record_key(IMPORT_MANAGER, "*")):
        pid = conn.hget(key, "pid")
        if pid:
            pids[key.decode().rsplit(":", 1)[1]] = int(pid)
    return pids


@pytest.mark.slow
def test_dispatcher_restart_and_killed_worker(
    settings: DistGitSettings,
    frontend: Any,
    make_srpm: MakeSrpm,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """kill -9 of the dispatcher mid-import: the worker finishes and reports once, and the
    restarted dispatcher does not import again.  kill -9 of a worker: its build is
    dispatched again and finishes."""
    config = tmp_path / "dist-git.toml"
    config.write_text(
        f'frontend_url = "{frontend.url}"\n'
        'frontend_auth = "backend-password"\n'
        f'redis_url = "{redis_url}"\n'
        f'state_dir = "{settings.state_dir}"\n'
        "sleep_time = 0.2\n"
    )
    conn = redis.Redis.from_url(redis_url)
    log = tmp_path / "dispatcher.log"
    srpm = make_srpm("hello", "1.0")
    frontend.delays[srpm.name] = 2.0
    frontend.add_task(task_dict(1, frontend.srpm_url(srpm)))

    first = start_dispatcher(config, log)
    wait_until(lambda: "1" in worker_pids(conn), 20, "worker 1 to run")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    second = start_dispatcher(config, log)
    try:
        wait_until(lambda: len(frontend.completed) == 1, 30, "build 1 to be reported")
        time.sleep(1.0)  # several dispatcher rounds: build 1 must not be imported again
        assert [p["build_id"] for p in frontend.completed] == [1]
        assert set(frontend.completed[0]["branch_commits"]) == {"f41", "f42"}
        assert (settings.per_task_log_root / "1.log").read_text().count("importing build 1") == 1

        # Now a worker that dies: build 2's first worker is killed while downloading.
        srpm2 = make_srpm("other", "2")
        frontend.delays[srpm2.name] = 2.0
        frontend.add_task(task_dict(2, frontend.srpm_url(srpm2), pkg_name="other"))
        wait_until(lambda: "2" in worker_pids(conn), 20, "worker 2 to run")
        log2 = settings.per_task_log_root / "2.log"
        wait_until(
            lambda: log2.exists() and "importing build 2" in log2.read_text(), 20, "the download"
        )
        killed = worker_pids(conn)["2"]
        os.killpg(killed, signal.SIGKILL)
        wait_until(lambda: len(frontend.completed) == 2, 40, "build 2 to be reported")
        assert frontend.completed[1]["build_id"] == 2
        assert set(frontend.completed[1]["branch_commits"]) == {"f41", "f42"}
        assert "worker 2 is gone" in log.read_text()
        assert (settings.per_task_log_root / "2.log").read_text().count("importing build 2") == 2
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=15)
        for pid in worker_pids(conn).values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        conn.close()
