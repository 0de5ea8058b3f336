"""``--detached`` builds, the live log follower and cancel; workspaces gone afterwards."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from copr_common.settings import EXIT_CONFIG
from copr_rpmbuild.errors import EXIT_CANCELED, EXIT_INFRASTRUCTURE, EXIT_SUCCESS
from copr_rpmbuild.testing import (
    BIN,
    Builder,
    HttpServer,
    hostile_spec,
    publish_distgit,
    rpm_task,
    srpm_task,
    write_config,
)

CHROOT = "fedora-41-x86_64"


def _task_file(http: HttpServer, tmp_path: Path, name: str, build: str) -> Path:
    url, commit = publish_distgit(http, tmp_path, name, hostile_spec(name, build))
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rpm_task(71, CHROOT, url, commit, package_name=name)))
    return path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :].split()[0] != "Z"


def _tool(name: str, builder: Builder, *args: str) -> list[str]:
    return [str(BIN / name), "-c", str(builder.config), *args]


def test_detached_build_outlives_its_caller_and_the_log_follows_it(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    task = _task_file(
        http_server,
        tmp_path,
        "ticker",
        "for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 0.4; done",
    )
    started = subprocess.run(
        _tool("copr-rpmbuild", builder, "--detached", "--task-file", str(task)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.strip())
    assert pid != os.getpid()
    assert _alive(pid)  # the caller is gone; the build is not
    assert (builder.state / "pid").read_text().strip() == str(pid)

    seen_live = False
    lines = []
    with subprocess.Popen(
        _tool("copr-rpmbuild-log", builder), stdout=subprocess.PIPE, text=True
    ) as follower:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.append(line)
            if "tick-2" in line and _alive(pid):
                seen_live = True
        assert follower.wait(timeout=60) == EXIT_SUCCESS
    output = "".join(lines)
    assert seen_live, output
    assert "tick-8" in output
    assert "Build succeeded" in output
    assert not _alive(pid)
    assert "success" in builder.files()
    assert (builder.state / "exit-status").read_text().strip() == "0"


def _marked(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_cancel_stops_the_build_and_all_its_children(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    seconds = str(800000 + os.getpid() % 1000)
    build = f"""
        bash -c "trap '' INT TERM HUP; sleep {seconds}; sleep {seconds}" &
        setsid sleep {seconds} &
        echo ALL-STARTED
        sleep {seconds}
    """
    task = _task_file(http_server, tmp_path, "endless", build)
    started = subprocess.run(
        _tool("copr-rpmbuild", builder, "--detached", "--task-file", str(task)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout)
    deadline = time.monotonic() + 30
    while "ALL-STARTED" not in builder.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_marked(seconds)) >= 3

    # One build at a time: a second one is refused while this one holds the lock.
    second = builder.run("--task-file", str(task))
    assert second.returncode == EXIT_INFRASTRUCTURE
    assert "another copr-rpmbuild is running" in second.stderr

    begun = time.monotonic()
    cancel = subprocess.run(
        _tool("copr-rpmbuild-cancel", builder), capture_output=True, text=True, timeout=60
    )
    assert cancel.returncode == 0, cancel.stderr
    assert time.monotonic() - begun < 10
    assert not _alive(pid)
    assert _marked(seconds) == []
    assert (builder.state / "exit-status").read_text().strip() == str(EXIT_CANCELED)
    reason = "RPM build canceled during %build: stopped while running rpmbuild -ba"
    assert reason in builder.log()
    assert (builder.resultdir / "fail-reason.txt").read_text() == reason + "\n"
    assert "success" not in builder.files()
    follower = subprocess.run(
        _tool("copr-rpmbuild-log", builder), capture_output=True, text=True, timeout=30
    )
    assert follower.returncode == EXIT_CANCELED
    assert "ALL-STARTED" in follower.stdout

    again = subprocess.run(
        _tool("copr-rpmbuild-cancel", builder), capture_output=True, text=True, timeout=30
    )
    assert again.returncode == 0
    assert "no copr-rpmbuild is running" in again.stdout


def test_log_follower_without_a_build(builder: Builder) -> None:
    result = subprocess.run(
        _tool("copr-rpmbuild-log", builder, "--wait", "0.5"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == EXIT_INFRASTRUCTURE
    assert "no build has started" in result.stderr


def test_the_state_dir_says_which_task_runs_from_the_moment_the_build_starts(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    from copr_rpmbuild.config import load_config
    from copr_rpmbuild.follow import current_task

    url, commit = publish_distgit(
        http_server, tmp_path, "marked", hostile_spec("marked", "sleep 2")
    )
    task = rpm_task(72, CHROOT, url, commit, package_name="marked")
    http_server.put_task(f"backend/get-build-task/72-{CHROOT}", task)
    settings = load_config(builder.config)
    assert current_task(settings) == (None, False)
    started = subprocess.run(
        _tool("copr-rpmbuild", builder, "--detached", "--build-id", "72", "--chroot", CHROOT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    # Known before the detached build reports back: a backend that lost track of its
    # builds (Redis restarted empty) finds this one by its state dir.
    assert current_task(settings) == (f"72-{CHROOT}", True)
    # The same through copr-rpmbuild-status, all a remote backend can see.
    running = _status(builder)
    assert running["task_id"] == f"72-{CHROOT}"
    assert (running["build_id"], running["chroot"]) == (72, CHROOT)
    assert (running["busy"], running["running"]) == (True, True)
    assert running["pid"] == int(started.stdout)
    assert running["pids"][0] == running["pid"]  # type: ignore[index]
    assert running["exit_code"] is None
    assert running["resultdir"] == str(builder.resultdir)
    follower = subprocess.run(
        _tool("copr-rpmbuild-log", builder), capture_output=True, text=True, timeout=120
    )
    assert follower.returncode == EXIT_SUCCESS, follower.stdout[-2000:]
    assert current_task(settings) == (f"72-{CHROOT}", False)
    assert (builder.state / "exit-status").read_text().strip() == "0"
    ended = _status(builder)
    assert (ended["task_id"], ended["busy"], ended["running"]) == (f"72-{CHROOT}", False, False)
    assert (ended["pids"], ended["exit_code"]) == ([], EXIT_SUCCESS)
    assert "success" in ended["result_files"]  # type: ignore[operator]


def _status(builder: Builder) -> dict[str, object]:
    result = subprocess.run(
        _tool("copr-rpmbuild-status", builder), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_status_and_version_of_an_idle_builder(builder: Builder, tmp_path: Path) -> None:
    idle = _status(builder)
    assert (idle["task_id"], idle["busy"], idle["running"], idle["pids"]) == (
        None,
        False,
        False,
        [],
    )
    version = subprocess.run(
        [str(BIN / "copr-rpmbuild"), "--version"], capture_output=True, text=True, timeout=30
    )
    assert version.returncode == 0
    assert version.stdout == f"copr-rpmbuild {idle['version']}\n"
    bad = tmp_path / "bad.toml"
    bad.write_text("max_log_size = 'lots'\n")
    broken = subprocess.run(
        [str(BIN / "copr-rpmbuild-status"), "-c", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert broken.returncode == EXIT_CONFIG
    assert "max_log_size" in broken.stderr
    assert broken.stdout == ""


# --- workspaces: gone once the build is over, however it ended -----------------------------


def _start_detached(builder: Builder, task: Path, *args: str) -> int:
    started = subprocess.run(
        _tool("copr-rpmbuild", builder, "--detached", *args, "--task-file", str(task)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    return int(started.stdout)


def _wait_for_log(builder: Builder, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (builder.resultdir / "builder-live.log").exists() and text in builder.log():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log:\n{builder.log()}")


def test_cancel_during_a_hung_spec_query_leaves_no_workspace(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    # The spec hangs while it is parsed (``%(...)`` runs at parse time) and the build's
    # own stop takes longer than copr-rpmbuild-cancel waits: the build is killed.
    write_config(builder.config, builder.config.parent, http_server, kill_grace=10.0)
    seconds = str(500000 + os.getpid() % 1000)
    task = _task_file(http_server, tmp_path, "hung", f"%(sleep {seconds})true")
    pid = _start_detached(builder, task)
    _wait_for_log(builder, "Buildroot: the host system")
    deadline = time.monotonic() + 30
    while not _marked(seconds) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _marked(seconds), builder.log()
    assert list(builder.workspace.iterdir()) != []

    cancel = subprocess.run(
        _tool("copr-rpmbuild-cancel", builder, "--grace", "1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cancel.returncode == 0, cancel.stderr
    assert not _alive(pid)
    assert _marked(seconds) == []
    assert list(builder.workspace.iterdir()) == []
    # The build saw the cancel itself, and says so.
    assert (builder.state / "exit-status").read_text().strip() == str(EXIT_CANCELED)
    assert "RPM build canceled" in builder.log()


class StalledServer:
    """An HTTP server that starts sending a large file and then sends nothing more."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000)
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


def test_canceled_build_stuck_in_a_download_leaves_no_workspace(
    builder: Builder, tmp_path: Path
) -> None:
    # copr-rpmbuild itself is stuck (in a read from a stalled server): the cancel kills it,
    # and then its workspace goes too.
    server = StalledServer()
    try:
        task = tmp_path / "stalled.json"
        url = f"http://127.0.0.1:{server.port}/big-1.0-1.src.rpm"
        task.write_text(json.dumps(srpm_task(72, "link", {"url": url})))
        pid = _start_detached(builder, task, "--srpm")
        _wait_for_log(builder, "Downloading")
        deadline = time.monotonic() + 30
        while not list(builder.workspace.rglob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(builder.workspace.rglob("*.part")), builder.log()
        cancel = subprocess.run(
            _tool("copr-rpmbuild-cancel", builder, "--grace", "1"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cancel.returncode == 0, cancel.stderr
        assert not _alive(pid)
        assert list(builder.workspace.iterdir()) == []
    finally:
        server.close()


def test_killed_build_fails_and_its_workspace_goes_when_it_is_over(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    seconds = str(400000 + os.getpid() % 1000)
    task = _task_file(http_server, tmp_path, "killed", f"echo STARTED; sleep {seconds}")
    pid = _start_detached(builder, task)
    _wait_for_log(builder, "STARTED")
    assert list(builder.workspace.iterdir()) != []
    # Killed the way the OOM killer or a lost machine kills: no chance to clean up.
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (_alive(pid) or _marked(seconds)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _marked(seconds) == []

    follower = subprocess.run(
        _tool("copr-rpmbuild-log", builder), capture_output=True, text=True, timeout=60
    )
    assert follower.returncode == EXIT_INFRASTRUCTURE
    assert "STARTED" in follower.stdout
    assert list(builder.workspace.iterdir()) == []


def test_a_build_removes_left_workspaces_but_not_one_a_running_build_holds(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    builder.workspace.mkdir(parents=True)
    stale = builder.workspace / "build-stale0"
    (stale / "box" / "ro").mkdir(parents=True)
    (stale / "box" / "ro" / "file").write_text("left\n")
    (stale / "box" / "ro").chmod(0o555)
    held = builder.workspace / "build-held00"
    held.mkdir()
    with (builder.workspace / "build-held00.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        task = _task_file(http_server, tmp_path, "quick", "true")
        assert builder.run("--task-file", str(task)).returncode == EXIT_SUCCESS, builder.log()
    assert not stale.exists()
    assert held.is_dir()
    assert "Removed the workspace build-stale0" in builder.log()
    assert sorted(p.name for p in builder.workspace.iterdir()) == [
        "build-held00",
        "build-held00.lock",
    ]
