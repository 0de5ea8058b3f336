"""``copr-rpmbuild-status``: what this builder runs, as one JSON object on stdout.

The backend knows a builder only through copr-rpmbuild's commands (the builder may be
another host), so this is how it learns which task runs (or ran last) here::

    {"task_id": "12-fedora-42-x86_64", "build_id": 12, "chroot": "fedora-42-x86_64",
     "busy": true, "running": true, "pid": 4242, "pids": [4242, 4250, ...],
     "exit_code": null, "resultdir": "/var/lib/copr-rpmbuild/results",
     "live_log": ".../builder-live.log", "result_files": ["builder-live.log", ...],
     "version": "0.1.0"}

``busy`` is whether a copr-rpmbuild holds this builder's lock (from its start to its
exit: the builder is taken); ``running`` whether the build's process lives; ``pids`` the
build and all its descendants (on this host, as it numbers them); ``exit_code`` the
build's exit code once it ended (see ``copr-rpmbuild --help``); ``result_files`` the
names in the result dir (empty once whoever drives the builder took the results and
cleaned it); ``chroot`` is null for a source build.  ``--wait-task`` waits up to that
many seconds for a starting build to say which task it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from copr_common.settings import SettingsError
from copr_rpmbuild import proctree
from copr_rpmbuild.config import RpmbuildSettings, load_config
from copr_rpmbuild.errors import EXIT_USAGE
from copr_rpmbuild.follow import _read_int, build_status, current_task


def version() -> str:
    """The installed copr-rpmbuild's version (the backend checks it is compatible)."""
    try:
        return metadata.version("copr-rpmbuild")
    except metadata.PackageNotFoundError:
        return "0"


def status(settings: RpmbuildSettings, wait_task: float = 0.0) -> dict[str, Any]:
    """The state of the build that runs here, or that ran here last."""
    deadline = time.monotonic() + wait_task
    task_id, busy = current_task(settings)
    # A starting build writes its task id right after taking the lock.
    while task_id is None and busy and time.monotonic() < deadline:
        time.sleep(0.1)
        task_id, busy = current_task(settings)
    running, exit_code = build_status(settings)
    pid = _read_int(settings.pidfile)
    pids: list[int] = []
    if running and pid is not None and proctree.is_alive(pid):
        pids = [pid, *proctree.descendants(pid)]
    build_id: int | None = None
    chroot: str | None = None
    if task_id is not None:
        head, _, tail = task_id.partition("-")
        build_id = int(head) if head.isdigit() else None
        chroot = tail or None
    return {
        "task_id": task_id,
        "build_id": build_id,
        "chroot": chroot,
        "busy": busy,
        "running": running,
        "pid": pid,
        "pids": pids,
        "exit_code": None if running else exit_code,
        "resultdir": str(settings.resultdir),
        "live_log": str(settings.live_log),
        "result_files": _result_files(settings.resultdir),
        "version": version(),
    }


def _result_files(resultdir: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in resultdir.iterdir())
    except OSError:
        return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="copr-rpmbuild-status",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-c", "--config", type=Path, help="copr-rpmbuild settings file")
    parser.add_argument(
        "--wait-task", type=float, default=0.0, help="seconds to wait for a starting build's id"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.config)
    except SettingsError as error:
        print(f"copr-rpmbuild-status: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(status(settings, args.wait_task)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
