"""``copr-rpmbuild-cancel``: stop the running build and every process it started.

Sends SIGINT to the build (it stops its sandbox with INT, TERM, KILL and exits with the
cancel code); if it is still there after ``--grace`` seconds, the whole tree — the build
and all its descendants, also those in other sessions — gets INT, TERM and then KILL.
Workspaces (and network guard tables) a killed build could not remove go too.  Exits 0
when the build is stopped or none was running.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from copr_common.settings import SettingsError, exit_on_settings_error
from copr_rpmbuild import proctree
from copr_rpmbuild.config import load_config
from copr_rpmbuild.errors import EXIT_INFRASTRUCTURE
from copr_rpmbuild.follow import _read_int, build_status
from copr_rpmbuild.outbound import remove_stale_guards
from copr_rpmbuild.workspace import sweep


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copr-rpmbuild-cancel", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, help="copr-rpmbuild settings file")
    parser.add_argument(
        "--grace", type=float, default=20.0, help="seconds the build gets to stop by itself"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.config)
    except SettingsError as error:
        exit_on_settings_error("copr-rpmbuild-cancel", error)
    pid = _read_int(settings.pidfile)
    running, _ = build_status(settings)
    if pid is None or not running:
        sweep(settings.workspace_dir)
        print("no copr-rpmbuild is running")
        return 0
    tree = [pid, *proctree.descendants(pid)]
    try:
        signal_build(pid)
    except PermissionError:
        print(f"copr-rpmbuild-cancel: not allowed to signal pid {pid}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    deadline = time.monotonic() + args.grace
    while time.monotonic() < deadline and proctree.is_alive(pid):
        time.sleep(0.1)
    if proctree.is_alive(pid):
        proctree.terminate_tree(pid, grace=min(args.grace, 5.0))
    # Whatever the build started and left (it is gone now) goes too.
    for leftover in tree[1:]:
        if proctree.is_alive(leftover):
            proctree.terminate_tree(leftover, grace=1.0)
    # A build killed above had no chance to remove its workspace and firewall table.
    sweep(settings.workspace_dir)
    remove_stale_guards(settings.nft_command, settings.sandbox_uid)
    print(f"canceled copr-rpmbuild (pid {pid})")
    return 0


def signal_build(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return


if __name__ == "__main__":
    sys.exit(main())
