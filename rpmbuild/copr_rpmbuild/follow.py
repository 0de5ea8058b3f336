"""``copr-rpmbuild-log``: print the live log of the (detached) build until it ends.

Waits up to ``--wait`` seconds for a build to appear, prints its ``builder-live.log`` from
the start and keeps printing as it grows; when the build has ended it prints the rest and
exits with the build's exit code (see ``copr-rpmbuild --help``), or 3 when no build ran.
A build that was killed leaves its workspace; the follower removes it once the build is
over.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from copr_common.settings import SettingsError, exit_on_settings_error
from copr_rpmbuild import proctree
from copr_rpmbuild.config import RpmbuildSettings, load_config
from copr_rpmbuild.errors import EXIT_INFRASTRUCTURE
from copr_rpmbuild.workspace import sweep


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


_EXIT_WAIT = 10.0


def build_status(settings: RpmbuildSettings) -> tuple[bool, int | None]:
    """(running, exit status): a build runs until its process is gone.

    The build writes its exit status just before it exits; the status is read again after
    the process is seen gone, so a build that ends between the two reads is not
    mistaken for one that crashed.
    """
    pid = _read_int(settings.pidfile)
    status = _read_int(settings.statusfile)
    if pid is None:
        return False, status
    if status is not None:
        # Finished: give the process a moment to exit before calling the build over.
        deadline = time.monotonic() + _EXIT_WAIT
        while proctree.is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return False, status
    if proctree.is_alive(pid):
        return True, None
    return False, _read_int(settings.statusfile)


def lock_held(settings: RpmbuildSettings) -> bool:
    """Whether a copr-rpmbuild holds this builder's lock (it runs, from start to exit)."""
    try:
        fd = os.open(settings.lockfile, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def current_task(settings: RpmbuildSettings) -> tuple[str | None, bool]:
    """(task id, running) of the build that runs here, or that ran here last.

    The id is None while a starting build has not written it yet (and when none ever
    ran); ``running`` is whether a copr-rpmbuild holds the lock.
    """
    running = lock_held(settings)
    try:
        task_id = settings.taskfile.read_text().strip() or None
    except OSError:
        task_id = None
    return task_id, running


def follow(settings: RpmbuildSettings, wait: float, out: int = 1) -> int:
    deadline = time.monotonic() + wait
    while not settings.live_log.exists() or _read_int(settings.pidfile) is None:
        if time.monotonic() > deadline:
            print("copr-rpmbuild-log: no build has started", file=sys.stderr)
            return EXIT_INFRASTRUCTURE
        time.sleep(0.2)
    with settings.live_log.open("rb") as stream:
        while True:
            running, status = build_status(settings)
            chunk = stream.read(65536)
            while chunk:
                os.write(out, chunk)
                chunk = stream.read(65536)
            if not running:
                # One more read: the build may have written its last lines as it ended.
                rest = stream.read()
                if rest:
                    os.write(out, rest)
                sweep(settings.workspace_dir)
                return status if status is not None else EXIT_INFRASTRUCTURE
            time.sleep(0.2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copr-rpmbuild-log", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, help="copr-rpmbuild settings file")
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for a build to appear"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.config)
    except SettingsError as error:
        exit_on_settings_error("copr-rpmbuild-log", error)
    try:
        return follow(settings, args.wait)
    except KeyboardInterrupt:
        return EXIT_INFRASTRUCTURE


if __name__ == "__main__":
    sys.exit(main())
