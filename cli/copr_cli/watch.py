"""Watching builds until they finish, with every change of a chroot's state shown live."""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable

from copr.v3 import CoprNoResultException
from copr_cli.context import Context
from copr_cli.errors import CoprBuildException, CoprUnknownResponseException
from copr_cli.output import colorize

FINISHED = frozenset({"succeeded", "skipped", "failed", "canceled", "forked"})
DEFAULT_INTERVAL = 30.0


def watch_builds(
    ctx: Context,
    build_ids: list[int],
    interval: float = DEFAULT_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print each build's state, and each of its chroots', whenever one changes.

    Returns when every build has finished; raises :class:`CoprBuildException` (exit 4)
    naming the builds that failed or were canceled.  Ctrl+C stops watching quietly.
    """
    print("Watching build(s): (this may be safely interrupted)")
    build_states: dict[int, str] = {}
    chroot_states: dict[tuple[int, str], str] = {}
    failed: list[int] = []
    canceled: list[int] = []
    pending = list(build_ids)
    try:
        while pending:
            for build_id in list(pending):
                build = ctx.client.build_proxy.get(build_id)
                state = str(build.state)
                now = datetime.datetime.now().strftime("%H:%M:%S")
                if build_states.get(build_id) != state:
                    build_states[build_id] = state
                    print(f"  {now} Build {build_id}: {colorize(state, ctx.color)}")
                _print_chroot_changes(ctx, build_id, now, chroot_states)
                sys.stdout.flush()
                if state == "unknown":
                    raise CoprUnknownResponseException("Unknown status.")
                if state in FINISHED:
                    pending.remove(build_id)
                    if state == "failed":
                        failed.append(build_id)
                    elif state == "canceled":
                        canceled.append(build_id)
            if pending:
                sleep(interval)
    except KeyboardInterrupt:
        return
    messages = []
    if failed:
        messages.append(f"Build(s) {', '.join(map(str, failed))} failed.")
    if canceled:
        messages.append(f"Build(s) {', '.join(map(str, canceled))} canceled.")
    if messages:
        raise CoprBuildException(" ".join(messages))


def _print_chroot_changes(
    ctx: Context, build_id: int, now: str, seen: dict[tuple[int, str], str]
) -> None:
    try:
        chroots = ctx.client.build_chroot_proxy.get_list(build_id)
    except CoprNoResultException:
        return
    for chroot in sorted(chroots, key=lambda item: str(item.name)):
        key = (build_id, str(chroot.name))
        state = str(chroot.state)
        if seen.get(key) != state:
            seen[key] = state
            print(f"    {now}   {chroot.name}: {colorize(state, ctx.color)}")
