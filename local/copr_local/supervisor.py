"""Running the stack under supervisord: start, wait until it serves, inspect, stop.

supervisord does the process management (start order, logs, restarts, stopping process
groups); this module only starts it, asks it, and afterwards makes sure nothing the stack
started is left (detached build workers leave supervisord's process groups).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import requests

from copr_local.services import MARKER_ENV, Program, venv_command
from copr_local.state import StackError, StackLayout

START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0


def supervisord_command(layout: StackLayout, foreground: bool) -> list[str]:
    command = [venv_command("supervisord"), "-c", str(layout.supervisord_conf)]
    return [*command, "--nodaemon"] if foreground else command


def supervisorctl(layout: StackLayout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_command("supervisorctl"), "-c", str(layout.supervisord_conf), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def clean_environment() -> dict[str, str]:
    """The environment programs start with: ours, minus stray service settings (each
    service reads its own settings file; a leftover ``COPR_FRONTEND_*`` would win).
    """
    return {key: value for key, value in os.environ.items() if not key.startswith("COPR_")}


def running_pid(layout: StackLayout) -> int | None:
    """The pid of this state dir's supervisord, when it runs."""
    try:
        pid = int(layout.supervisord_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    conf = str(layout.supervisord_conf).encode()
    if any(b"supervisord" in part for part in cmdline) and conf in cmdline:
        return pid
    return None


def program_states(layout: StackLayout) -> dict[str, str]:
    """``{program: STATE}`` as supervisord reports it (empty when it does not answer)."""
    result = supervisorctl(layout, "status")
    states = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isupper():
            states[parts[0]] = parts[1]
    return states


def _answers(url: str) -> bool:
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return False
    return response.status_code < 500


def _serves(program: Program) -> bool:
    if program.ready_check is not None:
        return program.ready_check()
    return program.ready_url is None or _answers(program.ready_url)


def log_tail(layout: StackLayout, program: str, lines: int = 20) -> str:
    try:
        text = (layout.logs / f"{program}.log").read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(
    layout: StackLayout,
    programs: Iterable[Program],
    alive: subprocess.Popen[bytes] | None = None,
    timeout: float = START_TIMEOUT,
) -> None:
    """Wait until every program runs and every server answers HTTP.

    Raises StackError naming the program that failed, with the end of its log.
    """
    waiting = {program.name: program for program in programs}
    deadline = time.monotonic() + timeout
    while waiting:
        if alive is not None and alive.poll() is not None:
            raise StackError(
                f"supervisord exited with {alive.returncode}:\n{log_tail(layout, 'supervisord')}"
            )
        states = program_states(layout)
        for name, program in list(waiting.items()):
            state = states.get(name)
            if state in {"FATAL", "EXITED", "BACKOFF"}:
                raise StackError(f"{name} did not start ({state}):\n{log_tail(layout, name)}")
            if state == "RUNNING" and _serves(program):
                del waiting[name]
        if not waiting:
            return
        if time.monotonic() > deadline:
            name = sorted(waiting)[0]
            raise StackError(
                f"{', '.join(sorted(waiting))} not ready after {timeout:.0f} s; "
                f"the end of {name}'s log:\n{log_tail(layout, name)}"
            )
        time.sleep(0.3)


def start_detached(layout: StackLayout) -> None:
    result = subprocess.run(
        supervisord_command(layout, foreground=False),
        capture_output=True, text=True, env=clean_environment(), timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise StackError(f"supervisord did not start: {(result.stderr or result.stdout).strip()}")


def start_foreground(layout: StackLayout) -> subprocess.Popen[bytes]:
    return subprocess.Popen(supervisord_command(layout, foreground=True), env=clean_environment())


def stack_processes(layout: StackLayout) -> list[int]:
    """Every process of this stack: those that carry its marker in their environment,
    and redis-server (it reuses its environment's memory for its process title).
    """
    marker = f"{MARKER_ENV}={layout.root}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    redis = _redis_pid(layout)
    if redis is not None and redis not in found:
        found.append(redis)
    return found


def _redis_pid(layout: StackLayout) -> int | None:
    """The stack's redis-server by its pid file, if that process is still it."""
    try:
        pid = int(layout.redis_pid.read_text().strip())
        exe = Path(f"/proc/{pid}/exe").readlink()
        cwd = Path(f"/proc/{pid}/cwd").readlink()
    except (OSError, ValueError):
        return None
    # Debian's redis-server is a link to redis-check-rdb: compare the resolved binaries.
    binary = Path(shutil.which("redis-server") or "/usr/bin/redis-server").resolve()
    if exe == binary and cwd == layout.redis_dir:
        return pid
    return None


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not check():
            return True
        time.sleep(0.2)
    return not check()


def _terminate(pids: list[int]) -> None:
    """TERM, then KILL what is still there after 10 s; returns once they are gone."""
    _signal_all(pids, signal.SIGTERM)
    if not _wait_gone(lambda: any(_alive(pid) for pid in pids), 10.0):
        _signal_all(pids, signal.SIGKILL)
        _wait_gone(lambda: any(_alive(pid) for pid in pids), 10.0)


def stop(layout: StackLayout) -> bool:
    """Stop supervisord (it stops its programs), then whatever the stack left behind.

    Returns whether supervisord was running.
    """
    pid = running_pid(layout)
    if pid is not None:
        _signal_all([pid], signal.SIGTERM)
        if not _wait_gone(lambda: running_pid(layout) is not None, STOP_TIMEOUT):
            _signal_all([pid], signal.SIGKILL)
    # A few rounds: a dispatcher that was killed may have started a worker meanwhile.
    for _ in range(3):
        leftovers = stack_processes(layout)
        if not leftovers:
            break
        _terminate(leftovers)
    layout.supervisord_pid.unlink(missing_ok=True)
    return pid is not None
