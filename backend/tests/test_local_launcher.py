"""The local pool's worker runs copr-rpmbuild in a fork of its own (ForkedRpmbuild): it
answers as the program would, and leaves no process behind whether it is used or not."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from copr_backend.pools.local import ForkedRpmbuild, runs_in_worker

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
    while not (_gone(orphan_pid) or _zombie(orphan_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(orphan_pid) or _zombie(orphan_pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_copr_rpmbuild_in_the_launcher_has_nothing_of_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copr_rpmbuild.cli

    # What the worker has open, its log handler and signal handler: none reach the build.
    held = os.open(tmp_path / "worker-file", os.O_WRONLY | os.O_CREAT, 0o600)
    handler = logging.FileHandler(tmp_path / "worker.log")
    logging.getLogger().addHandler(handler)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    record = tmp_path / "seen.json"

    def main(argv: list[str]) -> int:
        try:
            os.fstat(held)
            still_open = True
        except OSError:
            still_open = False
        seen = {
            "argv": argv,
            "sys.argv": sys.argv,
            "cmdline": Path("/proc/self/cmdline").read_bytes().decode(),
            "held": still_open,
            "handlers": len(logging.getLogger().handlers),
            "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            "stdin": str(Path("/proc/self/fd/0").readlink()),
        }
        record.write_text(json.dumps(seen))
        print("to stdout")
        print("to stderr", file=sys.stderr)
        return 3

    monkeypatch.setattr(copr_rpmbuild.cli, "main", main)
    try:
        launcher = ForkedRpmbuild()
        try:
            ran = launcher.run([str(PROGRAM), "--build-id", "7", "--srpm"], timeout=60)
        finally:
            launcher.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
        logging.getLogger().removeHandler(handler)
        handler.close()
        os.close(held)
    assert ran is not None
    code, output = ran
    assert code == 3
    assert sorted(output.split("\n")) == ["", "to stderr", "to stdout"]
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["--build-id", "7", "--srpm"]
    assert seen["sys.argv"] == [str(PROGRAM), "--build-id", "7", "--srpm"]
    # ps shows the program, as if it had been run.
    shown = [sys.executable, str(PROGRAM), "--build-id", "7", "--srpm"]
    assert seen["cmdline"].split("\0")[:5] == shown
    assert not seen["held"]
    assert seen["handlers"] == 0
    assert seen["sigterm_default"]
    assert seen["stdin"] == "/dev/null"
    assert (tmp_path / "worker.log").read_text() == ""
