"""Finding and signalling a whole process tree, including processes that left the group.

Sandboxed processes start their own session (``bwrap --new-session``) and packages may
daemonise, so a process-group kill is not enough: the tree is found through each process'
parent pid in ``/proc``. copr-rpmbuild makes itself a child subreaper, so orphans of a
build re-parent to it and stay in the tree.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned descendants re-parent to this process instead of to init."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        return


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (not ``root`` itself), parents before children."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :].split()[0] != "Z"


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            continue


def terminate_tree(
    root: int,
    *,
    grace: float,
    include_root: bool = True,
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
    on_signal: Callable[[int, list[int]], None] | None = None,
) -> None:
    """INT, then TERM, each followed by up to ``grace`` seconds, then KILL what is left.

    ``on_signal(signum, pids)`` is told each signal before it is sent (for the log).
    """

    def targets() -> list[int]:
        pids = descendants(root)
        if include_root and is_alive(root):
            pids.insert(0, root)
        return [pid for pid in pids if is_alive(pid)]

    for signum in signals:
        pids = targets()
        if not pids:
            return
        if on_signal is not None:
            on_signal(signum, pids)
        _signal_all(pids, signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not targets():
                return
            time.sleep(0.05)
    for attempt in range(20):
        pids = targets()
        if not pids:
            return
        if on_signal is not None and attempt == 0:
            on_signal(signal.SIGKILL, pids)
        _signal_all(pids, signal.SIGKILL)
        time.sleep(0.05)
