"""``--builders`` and ``--builder-hosts``: what is refused, what is remembered, and the
settings and programs each choice gives the stack.  Whole stacks that build on builder
hosts are in the top-level ``tests/test_local_stack_builders.py``.
"""

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
from click.testing import CliRunner
from copr_local import builders
from copr_local.cli import main
from copr_local.services import programs, write_settings
from copr_local.state import (
    FALLBACK_POOL_ROOT,
    HOST,
    StackError,
    StackLayout,
    StackState,
    assign_ports,
)
from copr_local.supervisor import stack_processes

from copr_backend.settings import ENV_PREFIX, BackendSettings
from copr_common.builder_hosts import namespaces
from copr_common.resalloc_hosts import find_resalloc
from copr_common.settings import load_settings

COPR_LOCAL = str(Path(sys.executable).parent / "copr-local")
NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="builder hosts need root")


def backend_settings(layout: StackLayout) -> BackendSettings:
    return load_settings(
        BackendSettings, ENV_PREFIX, file=layout.config_file("backend"), environ={}
    )


@pytest.fixture
def public_dir() -> Iterator[Path]:
    # Builds and the unprivileged user below walk in: not pytest's private tmp dirs.
    parent = Path(tempfile.mkdtemp(prefix="copr-local-builders-"))
    parent.chmod(0o755)
    yield parent
    subprocess.run([COPR_LOCAL, "down", "--state-dir", str(parent / "stack")],
                   capture_output=True, timeout=180, check=False)  # fmt: skip
    shutil.rmtree(parent)


@pytest.fixture
def stack(public_dir: Path) -> Iterator[tuple[StackLayout, StackState]]:
    layout = StackLayout(public_dir / "stack")
    layout.make_dirs()
    state = StackState()
    yield layout, state
    for path in (layout.pool_dir, layout.builder_hosts_dir):
        if path.parent == FALLBACK_POOL_ROOT:
            shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--builders", "cloud"], "Invalid value for '--builders'"),
        (["--builders", ""], "Invalid value for '--builders'"),
        (["--builder-hosts", "0"], "Invalid value for '--builder-hosts'"),
        (["--builder-hosts", "33"], "Invalid value for '--builder-hosts'"),
        (["--builder-hosts", "two"], "Invalid value for '--builder-hosts'"),
    ],
)
def test_bad_builder_options_are_refused_and_nothing_made(
    tmp_path: Path, option: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["up", "--detach", "--state-dir", str(tmp_path / "s"), *option]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "s").exists()


@needs_root
@pytest.mark.parametrize("choice", ["ssh", "resalloc"])
def test_builder_hosts_without_root_are_refused_and_nothing_made(
    public_dir: Path, choice: str
) -> None:
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    readable = subprocess.run([*as_nobody, "test", "-r", COPR_LOCAL], check=False, timeout=30)
    if readable.returncode != 0:
        pytest.skip(f"nobody cannot read {COPR_LOCAL} (the checkout is in a private dir)")
    home = public_dir / "nobody"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    result = subprocess.run(
        [*as_nobody, COPR_LOCAL, "up", "--detach", "--state-dir", str(home / "s"),
         "--builders", choice],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"copr-local: --builders {choice} needs root: its builder hosts are network "
        "namespaces (run copr-local as root, or use --builders local)\n"
    )
    assert not (home / "s").exists()


def test_missing_resalloc_names_the_package_and_the_tarball(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir, why = find_resalloc()
    if bindir is not None and bindir.parent.name != ".venv-resalloc":
        pytest.skip(f"resalloc-server is installed system-wide in {bindir}")
    # PATH without resalloc-server, a checkout without .venv-resalloc.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    found, why = find_resalloc(tmp_path)
    assert found is None
    assert "resalloc-server package" in why
    assert "RESALLOC_TARBALL=" in why
    assert str(tmp_path / ".venv-resalloc") in why


def test_the_choice_is_remembered_and_a_bad_state_file_refused(
    stack: tuple[StackLayout, StackState],
) -> None:
    layout, state = stack
    state.builders, state.builder_hosts = "resalloc", 3
    state.save(layout)
    loaded = StackState.load(layout)
    assert (loaded.builders, loaded.builder_hosts) == ("resalloc", 3)
    data = json.loads(layout.state_file.read_text())
    layout.state_file.write_text(json.dumps({**data, "builders": "cloud"}))
    with pytest.raises(StackError, match="unknown builders 'cloud'"):
        StackState.load(layout)
    # A state file of an older copr-local has no builders: local, two hosts.
    del data["builders"], data["builder_hosts"]
    layout.state_file.write_text(json.dumps(data))
    loaded = StackState.load(layout)
    assert (loaded.builders, loaded.builder_hosts) == ("local", 2)


def test_local_builders_get_no_builder_program_and_no_resalloc_port(
    stack: tuple[StackLayout, StackState],
) -> None:
    layout, state = stack
    assign_ports(state, None)
    write_settings(layout, state)
    backend = backend_settings(layout)
    assert backend.builder_pool == "local"
    assert "resalloc" not in state.ports
    assert "resalloc-server" not in [program.name for program in programs(layout, state)]
    assert not layout.resalloc_dir.exists()
    assert builders.describe(layout, state) == "Builders: local (sandboxed slots on this host)\n"


def test_resalloc_builders_get_a_server_a_pool_of_builder_hosts_and_a_backend_on_it(
    stack: tuple[StackLayout, StackState],
) -> None:
    layout, state = stack
    if find_resalloc()[0] is None:
        pytest.skip(find_resalloc()[1])
    state.builders, state.builder_hosts = "resalloc", 3
    assign_ports(state, None)
    # A database of an earlier run would name hosts that are gone.
    layout.resalloc_dir.mkdir()
    (layout.resalloc_dir / "db.sqlite").write_text("stale")
    write_settings(layout, state)
    assert not (layout.resalloc_dir / "db.sqlite").exists()

    server = json.loads((layout.resalloc_dir / "server.yaml").read_text())
    assert (server["hostname"], server["port"]) == (HOST, state.ports["resalloc"])
    assert server["db_url"] == f"sqlite:///{layout.resalloc_dir / 'db.sqlite'}"
    ((name, pool),) = json.loads((layout.resalloc_dir / "pools.yaml").read_text()).items()
    arch = builders.builder_arch()
    assert name == f"copr_local_{arch}"
    assert (pool["max"], pool["tags"]) == (3, ["copr_builder", f"arch_{arch}"])
    assert "-m copr_common.resalloc_hosts new" in pool["cmd_new"]
    assert f"--prefix {layout.builder_host_prefix}r" in pool["cmd_new"]
    for port in (state.ports["frontend"], state.ports["dist_git"], state.ports["results"]):
        assert f"--forward {port}" in pool["cmd_new"]
    assert "-m copr_common.resalloc_hosts delete" in pool["cmd_delete"]
    settings = json.loads((layout.builder_hosts_dir / "rpmbuild-settings.json").read_text())
    assert settings["frontend_url"] == state.url("frontend")
    # The backend's key: private, its public half given to every host.
    assert layout.builder_key.stat().st_mode & 0o077 == 0
    assert layout.builder_key.with_suffix(".pub").exists()

    backend = backend_settings(layout)
    assert backend.builder_pool == "resalloc"
    assert backend.resalloc_url == f"http://{HOST}:{state.ports['resalloc']}/RPC2"
    assert backend.resalloc_max_builds == 3
    assert backend.resalloc_ssh_key_file == layout.builder_key
    assert backend.ssh_known_hosts == layout.builder_known_hosts
    (program,) = [p for p in programs(layout, state) if p.name == "resalloc-server"]
    assert program.command[0].endswith("/resalloc-server")
    assert program.environment == {"CONFIG_DIR": str(layout.resalloc_dir)}
    names = [p.name for p in programs(layout, state)]
    assert names.index("resalloc-server") < names.index("backend-build-dispatcher")
    # Nothing listens yet.
    assert program.ready_check is not None
    assert not program.ready_check()


def test_ssh_builders_need_their_hosts(stack: tuple[StackLayout, StackState]) -> None:
    layout, state = stack
    state.builders = "ssh"
    assign_ports(state, None)
    with pytest.raises(StackError, match=f"builder host {layout.builder_host_prefix}ssh0 is "):
        write_settings(layout, state)


@needs_root
@pytest.mark.slow
def test_ssh_hosts_go_when_the_stack_does_not_start(public_dir: Path) -> None:
    """A stack that fails after its builder hosts were made removes them, and keeps no
    state (the choice of builders is not remembered either)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        closed_port = probe.getsockname()[1]
    state_dir = public_dir / "stack"
    result = subprocess.run(
        [COPR_LOCAL, "up", "--detach", "--state-dir", str(state_dir), "--builders", "ssh",
         "--builder-hosts", "1", "--database-url", f"postgresql://copr@{HOST}:{closed_port}/c"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    layout = StackLayout(state_dir)
    assert f"Builder host {layout.builder_host_prefix}ssh0 at 10.233." in result.stdout
    assert "copr-local: migrating the database failed:" in result.stderr
    assert [name for name in namespaces() if name.startswith(layout.builder_host_prefix)] == []
    assert builders.stack_hosts(layout) == []
    assert not list(layout.builder_hosts_dir.glob(f"{layout.builder_host_prefix}*"))
    assert not (state_dir / "state.json").exists()


def _sshd_runs(pid: int, host_dir: Path) -> str:
    """What the process is, if it is still the sshd of the host at ``host_dir`` (pids are
    reused; a daemon's zombie waits for init and counts as gone); else empty."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
    if stat.rsplit(")", 1)[1].split()[0] == "Z" or str(host_dir) not in cmdline:
        return ""
    return f"{stat.strip()} | {cmdline}"


def _sshd_pid(layout: StackLayout, index: int) -> int:
    path = layout.builder_hosts_dir / f"{layout.builder_host_prefix}ssh{index}" / "sshd.pid"
    return int(path.read_text())


@needs_root
@pytest.mark.slow
def test_up_over_a_killed_stack_starts_over_and_ctrl_c_removes_the_hosts(
    public_dir: Path,
) -> None:
    """A stack whose supervisord was killed leaves its hosts; the next ``up`` (in the
    foreground, the builders remembered) replaces them, and Ctrl-C removes them."""
    state_dir = public_dir / "stack"
    layout = StackLayout(state_dir)
    first = subprocess.run(
        [COPR_LOCAL, "up", "--detach", "--state-dir", str(state_dir), "--builders", "ssh",
         "--builder-hosts", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    old_sshd = _sshd_pid(layout, 0)
    os.kill(int((state_dir / "supervisord.pid").read_text()), signal.SIGKILL)
    assert [host.name for host in builders.stack_hosts(layout)] == [
        f"{layout.builder_host_prefix}ssh0"
    ]

    # As in a terminal: the process group gets SIGINT (copr-local and supervisord).
    process = subprocess.Popen(
        [COPR_LOCAL, "up", "--state-dir", str(state_dir)],
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
    (host,) = builders.stack_hosts(layout)
    assert f"Builder host {host.name} at {host.address}\n" in lines
    new_sshd = _sshd_pid(layout, 0)
    assert new_sshd != old_sshd
    assert _sshd_runs(new_sshd, host.path)
    assert _sshd_runs(old_sshd, host.path) == ""
    assert builders.describe(layout, StackState.load(layout)) == (
        f"Builders: ssh, 1 builder host; now 1:\n  {host.name} {host.address}\n"
    )

    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    assert "Stopped.\n" in rest
    assert "Traceback" not in rest
    assert builders.stack_hosts(layout) == []
    assert [name for name in namespaces() if name.startswith(layout.builder_host_prefix)] == []
    assert stack_processes(layout) == []
    assert _sshd_runs(new_sshd, host.path) == ""
    assert not host.path.exists()
