"""The local pool's worker runs copr-rpmbuild in a fork of its own (ForkedRpmbuild): it
answers as the program would, and leaves no process behind whether it is used or not."""

from __future__ import annotations

import http.server
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from copr_backend.pools.local import ForkedRpmbuild, runs_in_worker
from copr_common.worker_manager import process_start_time

PROGRAM = Path(sys.executable).parent / "copr-rpmbuild"


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_only_the_copr_rpmbuild_beside_this_python_runs_in_the_worker(tmp_path: Path) -> None:
    assert runs_in_worker(str(PROGRAM))
    # Another copr-rpmbuild (an admin's wrapper) is run as a program.
    wrapper = tmp_path / "copr-rpmbuild"
    wrapper.write_text('#!/bin/sh\nexec sudo copr-rpmbuild "$@"\n')
    wrapper.chmod(0o755)
    assert not runs_in_worker(str(wrapper))
    assert not runs_in_worker(str(tmp_path / "missing" / "copr-rpmbuild"))
    assert not runs_in_worker(sys.executable)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--build-id", "7"],  # needs --chroot or --srpm
        ["--srpm", "--chroot", "fedora-42-x86_64", "--build-id", "7"],
        ["--no-such-option"],
        ["-c", "/nonexistent/rpmbuild.toml", "--build-id", "7", "--srpm"],
    ],
)
def test_the_launcher_answers_as_the_program_does(arguments: list[str], tmp_path: Path) -> None:
    program = subprocess.run(
        [str(PROGRAM), *arguments], capture_output=True, text=True, timeout=60, check=False
    )
    launcher = ForkedRpmbuild()
    pid = launcher.pid
    try:
        ran = launcher.run([str(PROGRAM), *arguments], timeout=60)
    finally:
        launcher.close()
    assert ran is not None
    code, output = ran
    assert program.returncode != 0
    assert (code, output.strip()) == (program.returncode, program.stderr.strip())
    assert _gone(pid)


def test_a_launcher_runs_one_command_then_the_program_is_used(tmp_path: Path) -> None:
    launcher = ForkedRpmbuild()
    try:
        assert launcher.run([str(PROGRAM), "--no-such-option"], timeout=60) is not None
        assert launcher.run([str(PROGRAM), "--no-such-option"], timeout=60) is None
        # Files the worker opens since (on the numbers the launcher's pipes had) stay open.
        opened = [
            os.open(tmp_path / f"file-{n}", os.O_WRONLY | os.O_CREAT, 0o600) for n in range(4)
        ]
    finally:
        launcher.close()
    for fd in opened:
        os.fstat(fd)
        os.close(fd)


def test_an_unused_launcher_ends_when_the_worker_is_done() -> None:
    launcher = ForkedRpmbuild()
    pid = launcher.pid
    assert not _gone(pid)
    launcher.close()
    assert _gone(pid)
    # A worker that dies without closing it: the launcher sees the pipe close and ends.
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reader)
        orphan = ForkedRpmbuild()
        os.write(writer, f"{orphan.pid}\n".encode())
        os._exit(0)
    os.close(writer)
    orphan_pid = int(os.read(reader, 64))
    os.close(reader)
    os.waitpid(child, 0)
    deadline = time.monotonic() + 10
    # Ended: gone, or a zombie until init reaps it.
    while process_start_time(orphan_pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_start_time(orphan_pid) is None


class _HeldTask(http.server.BaseHTTPRequestHandler):
    """A frontend whose task request waits until the test has looked at copr-rpmbuild."""

    asked = threading.Event()
    answer = threading.Event()

    def do_GET(self) -> None:
        type(self).asked.set()
        type(self).answer.wait(60)
        self.send_error(404, "no such task")

    def log_message(self, *_args: object) -> None:
        pass


def _caught_signals(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("SigCgt:")]
    return int(line.split()[1], 16)


def test_copr_rpmbuild_in_the_launcher_has_nothing_of_the_workers(tmp_path: Path) -> None:
    # What the worker has open, its log handler and a signal handler: none reach the build.
    held = os.open(tmp_path / "worker-file", os.O_WRONLY | os.O_CREAT, 0o600)
    handler = logging.FileHandler(tmp_path / "worker.log")
    logging.getLogger().addHandler(handler)
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HeldTask)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = tmp_path / "slot"
    config = base / "rpmbuild.toml"
    base.mkdir()
    config.write_text(
        f'resultdir = "{base / "results"}"\n'
        f'workspace_dir = "{base / "workspace"}"\n'
        f'state_dir = "{base / "state"}"\n'
        "task_fetch_retry_for = 0\n"
    )
    task_url = f"http://127.0.0.1:{server.server_port}/backend/get-build-task/7-fedora-42-x86_64/"
    command = [str(PROGRAM), "-c", str(config), "--task-url", task_url]
    _HeldTask.asked.clear()
    _HeldTask.answer.clear()
    try:
        launcher = ForkedRpmbuild()
        pid = launcher.pid
        ran: list[tuple[int, str] | None] = []
        running = threading.Thread(target=lambda: ran.append(launcher.run(command, timeout=60)))
        running.start()
        try:
            # copr-rpmbuild is asking for its task: look at it as it runs.
            assert _HeldTask.asked.wait(60)
            open_files = [
                str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir() if fd.is_symlink()
            ]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0")
            stdin = str(Path(f"/proc/{pid}/fd/0").readlink())
            caught = _caught_signals(pid)
        finally:
            _HeldTask.answer.set()
            running.join(60)
            launcher.close()
    finally:
        server.shutdown()
        server.server_close()
        signal.signal(signal.SIGUSR1, previous)
        logging.getLogger().removeHandler(handler)
        handler.close()
        os.close(held)
    assert str(tmp_path / "worker-file") not in open_files
    assert str(tmp_path / "worker.log") not in open_files
    # ps shows the program, as if it had been run: as much of its command line as the
    # argument area holds (pytest's is shorter than a fork server's worker's).
    shown = "\0".join([sys.executable, *command])
    assert cmdline.startswith(f"{sys.executable}\0{PROGRAM}\0-c\0")
    assert shown.startswith(cmdline)
    assert stdin == "/dev/null"
    assert not caught & (1 << (signal.SIGUSR1 - 1))
    # The task was not there: copr-rpmbuild says so, as the program would, and it logged
    # to its own live log only.
    assert ran
    assert ran[0] is not None
    code, output = ran[0]
    assert code != 0
    assert "404" in output or "no such task" in output, output
    assert (tmp_path / "worker.log").read_text() == ""
    assert "copr-rpmbuild started" in (base / "results" / "builder-live.log").read_text()
