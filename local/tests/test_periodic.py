"""The local stack's timers: the schedule, and real copr-frontend runs on a fresh SQLite
database (pruning included), failures logged and retried at the next time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from copr_local import periodic
from copr_local.periodic import DAY, HOUR, JOBS, Job, Schedule, run


def test_every_job_is_due_at_start_and_then_on_its_interval() -> None:
    schedule = Schedule(JOBS, 1000.0)
    assert schedule.due(1000.0) == list(JOBS)
    hourly = next(j for j in JOBS if j.every == HOUR)
    for job in JOBS:
        schedule.done(job, 1000.0)
    assert schedule.due(1000.0 + HOUR - 1) == []
    assert schedule.due(1000.0 + HOUR) == [hourly]
    assert schedule.wait(1000.0) == HOUR
    assert {job.args[0] for job in JOBS} == {
        "prune-builds", "remove-expired-projects", "remove-stale-pr-dirs", "prune-deliveries",
    }  # fmt: skip
    assert all(job.every in (HOUR, DAY) for job in JOBS)


def test_jobs_run_on_schedule_and_a_failure_waits_for_its_next_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real command (a shell) with a clock the test moves: the failing job is logged,
    both run again only when due."""
    marker = tmp_path / "runs"
    script = tmp_path / "fake-frontend"
    script.write_text(f'#!/bin/sh\necho "$@" >> {marker}\n[ "$1" != fail ]\n')
    script.chmod(0o755)
    jobs = (Job(("ok",), 10), Job(("fail",), 30))
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        if len(sleeps) == 4:
            raise StopIteration

    with pytest.raises(StopIteration):
        run([str(script)], jobs, clock=lambda: now[0], sleep=sleep)
    assert marker.read_text().split() == ["ok", "fail", "ok", "ok", "ok", "fail"]
    assert sleeps == [10, 10, 10, 10]
    assert "fail failed (exit 1); it runs again in 30 s" in caplog.text
    assert run([str(script)], jobs, once=True) is False


def test_once_against_a_real_frontend_database(tmp_path: Path) -> None:
    config = tmp_path / "frontend.toml"
    config.write_text(tomli_w.dumps({
        "database_url": f"sqlite:///{tmp_path / 'copr.sqlite'}",
        "secret_key": "0123456789abcdefgh",
        "backend_password": "backend-pass",
    }))  # fmt: skip
    frontend = str(Path(sys.executable).parent / "copr-frontend")
    subprocess.run([frontend, "--config", str(config), "upgrade-db"], check=True,
                   capture_output=True)  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "copr_local.periodic", "--frontend-command", frontend,
         "--config", str(config), "--once"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "prune-builds: 0 builds pruned" in result.stderr
    assert "remove-expired-projects: 0 expired projects removed" in result.stderr
    forgotten = "prune-deliveries: 0 deliveries and 0 e-mails older than 30 days forgotten"
    assert forgotten in result.stderr
    assert periodic.main(["--config", str(tmp_path / "missing.toml"), "--once",
                          "--frontend-command", frontend]) == 1  # fmt: skip
