"""``python -m copr_local.periodic``: the local stack's timers.

A production frontend runs its periodic commands from systemd timers
(``frontend/systemd/*.timer``); the local stack has no systemd units, so supervisord runs
this program, which runs the same ``copr-frontend`` commands: each once at start (a stack
that was down catches up, as the timers' ``Persistent=true`` does) and then every
interval.  A command that fails is logged and runs again at its next time: each run
decides afresh what to do, so nothing is lost by waiting.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("copr_local.periodic")

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Job:
    """A ``copr-frontend`` subcommand (with its arguments) and how often it runs."""

    args: tuple[str, ...]
    every: int


JOBS = (
    Job(("prune-builds",), DAY),
    Job(("remove-expired-projects",), HOUR),
    Job(("remove-stale-pr-dirs",), DAY),
    Job(("prune-deliveries", "--days", "30"), DAY),
)
"""The frontend's timers, with their systemd intervals."""


class Schedule:
    """When each job runs next; every job is due at the start."""

    def __init__(self, jobs: Sequence[Job], start: float) -> None:
        self.next_run = {job: start for job in jobs}

    def due(self, moment: float) -> list[Job]:
        return [job for job, when in self.next_run.items() if when <= moment]

    def done(self, job: Job, moment: float) -> None:
        self.next_run[job] = moment + job.every

    def wait(self, moment: float) -> float:
        """Seconds until the next job is due."""
        return max(0.0, min(self.next_run.values()) - moment)


def run_job(command: Sequence[str], job: Job) -> bool:
    """Run one job; whether it succeeded.  Its output goes to this program's log."""
    result = subprocess.run(
        [*command, *job.args], capture_output=True, text=True, check=False, timeout=job.every
    )
    for line in (result.stdout + result.stderr).splitlines():
        log.info("%s: %s", job.args[0], line)
    if result.returncode != 0:
        log.error("%s failed (exit %d); it runs again in %d s", job.args[0],
                  result.returncode, job.every)  # fmt: skip
    return result.returncode == 0


def run(
    command: Sequence[str],
    jobs: Sequence[Job] = JOBS,
    *,
    once: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Run ``jobs`` on schedule forever (or each once with ``once``); with ``once``,
    whether all succeeded.
    """
    schedule = Schedule(jobs, clock())
    while True:
        ok = True
        for job in schedule.due(clock()):
            try:
                ok = run_job(command, job) and ok
            except subprocess.TimeoutExpired:
                log.error("%s ran longer than %d s and was stopped", job.args[0], job.every)
                ok = False
            schedule.done(job, clock())
        if once:
            return ok
        sleep(schedule.wait(clock()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copr_local.periodic", description=__doc__)
    parser.add_argument("--frontend-command", default="copr-frontend",
                        help="The copr-frontend executable.")  # fmt: skip
    parser.add_argument("--config", type=Path, required=True,
                        help="The frontend's settings file.")  # fmt: skip
    parser.add_argument("--once", action="store_true",
                        help="Run every job once, then exit (1 if one failed).")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    command = [args.frontend_command, "--config", str(args.config)]
    return 0 if run(command, once=args.once) else 1


if __name__ == "__main__":
    sys.exit(main())
