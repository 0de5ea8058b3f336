"""``copr-local`` through its real entry point: a whole stack up, inspected, and down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from copr_local.cli import main
from copr_local.services import MARKER_ENV
from copr_local.state import HOST, StackLayout
from copr_local.supervisor import stack_processes

ROOT = Path(__file__).resolve().parents[2]
COPR_LOCAL = str(Path(sys.executable).parent / "copr-local")
UPSTREAM_CLI = ROOT / ".venv-upstream" / "bin" / "copr-cli"


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COPR_LOCAL, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((HOST, port)) == 0


def assert_nothing_left(state_dir: Path) -> None:
    """No process carries the stack's marker and no port of the stack answers."""
    assert stack_processes(StackLayout(state_dir)) == []
    ports = json.loads((state_dir / "state.json").read_text())["ports"]
    assert [name for name, port in ports.items() if port_answers(port)] == []
    assert not (state_dir / "supervisord.pid").exists()


def assert_redis_locked(state_dir: Path) -> None:
    """The running stack's Redis refuses clients without its password, and the password
    is in no log, no command line and no file others may read."""
    import redis

    state = json.loads((state_dir / "state.json").read_text())
    password, port = state["redis_password"], state["ports"]["redis"]
    anonymous = redis.Redis(host=HOST, port=port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.keys("*")
    anonymous.close()
    with redis.Redis(host=HOST, port=port, password=password, db=1, socket_timeout=5) as client:
        assert client.ping()
    for log in (state_dir / "logs").rglob("*"):
        if log.is_file():
            assert password not in log.read_text(errors="replace"), log
    assert password not in (state_dir / "etc" / "supervisord.conf").read_text()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            assert password.encode() not in cmdline
    for path in [state_dir / "state.json", *(state_dir / "etc").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: its parents are private, and builds run as other uids.
    parent = Path(tempfile.mkdtemp(prefix="copr-local-test-"))
    parent.chmod(0o755)
    path = parent / "stack"
    yield path
    # Whatever a failing test left running goes too.
    run("down", "--state-dir", str(path))
    shutil.rmtree(parent)


def test_down_and_status_without_a_stack(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["down", "--state-dir", str(tmp_path / "none")])
    assert result.exit_code == 0
    assert result.output == f"No stack runs in {tmp_path / 'none'}.\n"
    assert not (tmp_path / "none").exists()
    result = runner.invoke(main, ["status", "--state-dir", str(tmp_path / "none")])
    assert result.exit_code == 3
    assert "No stack runs" in result.output


def test_port_in_use_is_refused_and_nothing_made(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["up", "--detach", "--state-dir", str(tmp_path / "s"), "--port", str(port)]
        )
    assert result.exit_code == 1
    assert f"copr-local: port {port} (--port) is in use" in result.output
    assert not (tmp_path / "s").exists()


def test_unusable_database_is_refused_and_not_kept(state_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        closed_port = probe.getsockname()[1]
    url = f"postgresql://copr@{HOST}:{closed_port}/copr"
    result = CliRunner().invoke(
        main, ["up", "--detach", "--state-dir", str(state_dir), "--database-url", url]
    )
    assert result.exit_code == 1
    assert "copr-local: migrating the database failed:" in result.output
    assert not (state_dir / "state.json").exists()
    assert not (state_dir / "supervisord.pid").exists()


@pytest.mark.slow
def test_up_detach_status_up_again_down(state_dir: Path) -> None:
    result = run("up", "--detach", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr + result.stdout
    env = read_env(state_dir / "stack.env")
    assert set(env) == {
        "COPR_URL", "COPR_RESULTS_URL", "COPR_CLI_CONFIG", "COPR_WEB_USER", "COPR_WEB_PASSWORD",
    }  # fmt: skip
    for key, value in env.items():
        assert f"{key}={value}\n" in result.stdout
    assert env["COPR_CLI_CONFIG"] == str(state_dir / "copr-cli.conf")
    assert "encrypted = False" in Path(env["COPR_CLI_CONFIG"]).read_text()

    # The real copr-cli works with the written config.
    whoami = subprocess.run(
        [str(UPSTREAM_CLI), "--config", env["COPR_CLI_CONFIG"], "whoami"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (whoami.returncode, whoami.stdout) == (0, "admin\n"), whoami.stderr
    # The web login of the same admin works.
    web = requests.Session()
    login = web.get(env["COPR_URL"] + "/login/", timeout=10).text
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    page = web.post(
        env["COPR_URL"] + "/login/", timeout=10,
        data={"csrf_token": token, "username": env["COPR_WEB_USER"],
              "password": env["COPR_WEB_PASSWORD"]},
    )  # fmt: skip
    assert page.status_code == 200
    assert f'data-testid="logged-in-user">{env["COPR_WEB_USER"]}<' in page.text
    chroots = requests.get(env["COPR_URL"] + "/api_3/mock-chroots/list", timeout=10).json()
    assert "fedora-rawhide-x86_64" in chroots
    assert requests.get(env["COPR_RESULTS_URL"] + "/", timeout=10).status_code == 200

    status = run("status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout
    programs = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()
                if "RUNNING" in line or "STOPPED" in line or "FATAL" in line}  # fmt: skip
    assert set(programs.values()) == {"RUNNING"}
    assert {"frontend", "keygen", "redis", "results", "dist-git-http"} <= set(programs)

    assert_redis_locked(state_dir)

    again = run("up", "--detach", "--state-dir", str(state_dir))
    assert again.returncode == 0
    assert again.stdout.startswith(f"The stack in {state_dir} already runs:\n")
    assert read_env(state_dir / "stack.env") == env

    down = run("down", "--state-dir", str(state_dir))
    assert (down.returncode, down.stdout) == (0, f"Stopped the stack in {state_dir}.\n")
    assert_nothing_left(state_dir)
    assert run("status", "--state-dir", str(state_dir)).returncode == 3

    # A second start keeps the URLs and the account (the ports were free again).
    result = run("up", "--detach", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert "database ready" not in result.stdout
    assert read_env(state_dir / "stack.env") == env
    assert run("down", "--state-dir", str(state_dir)).returncode == 0
    assert_nothing_left(state_dir)


@pytest.mark.slow
def test_make_run_stops_on_ctrl_c(state_dir: Path) -> None:
    """``make run``: setup, then the stack in the foreground until Ctrl-C."""
    # As in a terminal: the process group gets SIGINT (make, copr-local and supervisord).
    process = subprocess.Popen(
        ["make", "-s", "run", f"RUN_ARGS=--state-dir {state_dir}"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        lines.append(line)
        if "press Ctrl-C" in line or time.monotonic() > deadline:
            break
    assert "The stack runs; press Ctrl-C to stop it.\n" in lines, "".join(lines)
    printed = dict(line.rstrip("\n").split("=", 1) for line in lines if line.startswith("COPR_"))
    assert printed["COPR_URL"].startswith("http://127.0.0.1:")
    assert printed["COPR_WEB_USER"]
    assert printed["COPR_WEB_PASSWORD"]
    assert stack_processes(StackLayout(state_dir))
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=90)
    assert "Stopped.\n" in rest
    assert "Traceback" not in rest
    assert_nothing_left(state_dir)
    assert MARKER_ENV not in os.environ
