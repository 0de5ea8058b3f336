"""ansible/unit-runner, which ansible/serve-check starts the deployed units with: what it
reads from a unit, what it refuses, and a real service started and stopped with it."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import socket
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_runner() -> ModuleType:
    path = ROOT / "ansible" / "unit-runner"
    loader = importlib.machinery.SourceFileLoader("copr_check_unit_runner", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


runner = load_runner()


@pytest.fixture
def units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "units"
    directory.mkdir()
    monkeypatch.setattr(runner, "UNIT_DIRS", [directory])
    monkeypatch.setattr(runner, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(runner, "LOG_DIR", tmp_path / "log")
    return directory


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_drop_ins_specifiers_and_resets(units: Path) -> None:
    write(units, "cluster@.service", "[Unit]\nDescription=%i\n[Service]\n"
          "ExecStart=/bin/echo %i %I %p\nEnvironment=A=1\nEnvironment=\n")  # fmt: skip
    (units / "cluster@15-main.service.d").mkdir()
    write(units / "cluster@15-main.service.d", "x.conf", "[Service]\nEnvironment=B=2 \\\n  C=3\n")
    unit = runner.find_unit("cluster@15-main.service")
    assert unit.service_list("Environment") == ["B=2  C=3"]
    (start,) = runner.commands(unit, "ExecStart", {})
    assert start.argv == ["/bin/echo", "15-main", "15/main", "cluster"]


def test_command_prefixes_and_variables(units: Path) -> None:
    write(units, "a.service", '[Service]\nExecStart=-+/bin/echo ${WORD} $SPLIT "x y"\n')
    unit = runner.find_unit("a")
    (start,) = runner.commands(unit, "ExecStart", {"WORD": "one", "SPLIT": "two three"})
    assert start.argv == ["/bin/echo", "one", "two", "three", "x y"]
    assert start.ignore_failure
    assert start.privileged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Service]\nExecStart=/bin/true\nFrobnicate=yes\n", "[Service] Frobnicate= is not"),
        ("[Unit]\nFoo=bar\n[Service]\nExecStart=/bin/true\n", "[Unit] Foo= is not supported"),
        ("[Service]\nType=dbus\nExecStart=/bin/true\n", "Type=dbus is not supported"),
        ("[Service]\nExecStart=/bin/true\nStandardOutput=socket\n", "StandardOutput=socket"),
        ("[Service]\nExecStart=true\n", "'true' is not an absolute path"),
        ("[Service]\nExecStart=/bin/echo %Z\n", "specifier %Z is not supported"),
        ("[Service]\nExecStart=/bin/true\nnot a directive\n", "cannot read the line"),
    ],
)
def test_what_it_cannot_run_is_an_error(units: Path, text: str, message: str) -> None:
    write(units, "bad.service", text)

    def read() -> None:
        runner.commands(runner.find_unit("bad"), "ExecStart", {})

    with pytest.raises(runner.UnitError, match=re.escape(message)):
        read()


def test_a_missing_unit_is_an_error(units: Path) -> None:
    with pytest.raises(runner.UnitError, match="nothere.service: no such unit"):
        runner.find_unit("nothere")


# The runner leaves the services it starts running on purpose (it is a command that
# exits): their Popen objects go while the processes live.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.skipif(os.geteuid() != 0, reason="creates /var/lib directories and runs setpriv")
def test_a_service_starts_waits_and_stops_with_its_daemon(units: Path, tmp_path: Path) -> None:
    """Type=notify with READY=1, the environment, a state directory; on stop, a daemon the
    service spawned out of its session goes too (its INVOCATION_ID)."""
    state = f"unit-runner-test-{os.getpid()}"
    out = tmp_path / "out"
    script = tmp_path / "service.py"
    script.write_text(
        "import os, socket, subprocess, time\n"
        "env = os.environ\n"
        f"open({str(out)!r}, 'w').write(env['GREETING'] + ' ' + env['STATE_DIRECTORY'])\n"
        "subprocess.Popen(['setsid', 'sleep', '300'])\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\n"
        "time.sleep(300)\n"
    )  # fmt: skip
    write(units, "hello.service", f"[Service]\nType=notify\nEnvironment=\"GREETING=hi there\"\n"
          f"StateDirectory={state}\nExecStart={sys.executable} {script}\n")  # fmt: skip
    try:
        runner.start("hello.service")
        assert out.read_text() == f"hi there /var/lib/{state}"
        assert runner.started_units() == ["hello.service"]
        assert runner.status() == 0
        record = runner.json.loads(runner.state_file("hello.service").read_text())
        members = runner.unit_members(record["sid"], record["invocation"])
        assert len(members) >= 2, members  # the service and its setsid'd sleep
        runner.stop("hello.service")
        time.sleep(0.2)
        assert not [pid for pid in members if runner.alive(pid)]
        assert runner.started_units() == []
    finally:
        Path(f"/var/lib/{state}").rmdir()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.skipif(os.geteuid() != 0, reason="runs setpriv")
def test_a_socket_unit_hands_its_socket_to_the_service(units: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "echo.py"
    script.write_text(
        "import os, socket\n"
        "assert os.environ['LISTEN_PID'] == str(os.getpid())\n"
        "server = socket.socket(fileno=3)\n"
        "conn, _ = server.accept()\n"
        "conn.sendall(os.environ['LISTEN_FDS'].encode())\n"
        "import time; time.sleep(300)\n"
    )  # fmt: skip
    write(units, "echo.socket", f"[Socket]\nListenStream=127.0.0.1:{port}\n")
    write(units, "echo.service", f"[Service]\nExecStart={sys.executable} {script}\n")
    runner.start("echo.socket")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            assert client.recv(10) == b"1"
    finally:
        runner.stop("echo.socket")
    assert runner.started_units() == []
