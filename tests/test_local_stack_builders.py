"""End to end: ``copr-local up --builders ssh|resalloc`` builds on builder hosts.

Each stack makes its builder hosts (network namespaces with an address of their own, an
sshd and this checkout's copr-rpmbuild): ``ssh`` at start, ``resalloc`` through a
resalloc-server under the stack's supervisord.  The real copr-cli submits an SRPM; the
build's logs name the builder host it ran on, and ``copr-local down`` must leave no
namespace, sshd, relay or resalloc-server behind.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from copr_local.builders import stack_hosts
from copr_local.state import StackLayout
from copr_local.supervisor import stack_processes

from copr_common.resalloc_hosts import find_resalloc

ROOT = Path(__file__).resolve().parent.parent
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
COPR_CLI = ROOT / ".venv-upstream" / "bin" / "copr-cli"
CHROOT = "fedora-42-x86_64"
BUILD_TIMEOUT = 300
ADDRESS = re.compile(r"\b10\.233\.\d+\.2\b")
RESALLOC_DIR, NO_RESALLOC = find_resalloc()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="builder hosts are Linux namespaces"),
]


def run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def copr_local(*args: str) -> subprocess.CompletedProcess[str]:
    return run([str(COPR_LOCAL), *args])


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Builds on the hosts run as other uids that walk down to their slots.
    parent = Path(tempfile.mkdtemp(prefix="copr-local-builders-e2e-"))
    parent.chmod(0o755)
    try:
        yield parent / "stack"
    finally:
        copr_local("down", "--state-dir", str(parent / "stack"))
        shutil.rmtree(parent)


def builder_leftovers(layout: StackLayout) -> list[str]:
    """What of the stack's builder hosts is still there: namespaces (``ip netns list``)
    and processes (``ps``) of its hosts' sshds and relays, and resalloc-server."""
    prefix = layout.builder_host_prefix
    netns = run(["ip", "netns", "list"]).stdout.split("\n")
    found = [line for line in netns if line.startswith(prefix)]
    ps = run(["ps", "-eo", "pid=,args="]).stdout.splitlines()
    found += [line for line in ps if str(layout.builder_hosts_dir) in line or prefix in line]
    found += [line for line in ps if str(layout.resalloc_dir) in line]
    return found


def the_stacks_builders(layout: StackLayout, choice: str) -> set[str]:
    """The addresses of every builder host the stack made."""
    if choice == "ssh":
        return {host.address for host in stack_hosts(layout)}
    journal = (layout.builder_hosts_dir / "resources.log").read_text().splitlines()
    return {
        line.split()[0]
        for line in journal
        if line.split()[2].startswith(layout.builder_host_prefix)
    }


@pytest.mark.parametrize(
    "choice",
    [
        "ssh",
        pytest.param(
            "resalloc", marks=pytest.mark.skipif(RESALLOC_DIR is None, reason=NO_RESALLOC)
        ),
    ],
)
def test_a_build_runs_on_a_builder_host_and_down_removes_every_host(
    choice: str, state_dir: Path, srpm: Path
) -> None:
    if not shutil.which("ip") or run(["id", "-u"]).stdout.strip() != "0":
        pytest.skip("builder hosts need root and ip")
    layout = StackLayout(state_dir)
    up = copr_local("up", "--detach", "--state-dir", str(state_dir),
                    "--builders", choice, "--builder-hosts", "2")  # fmt: skip
    assert up.returncode == 0, up.stderr + up.stdout
    state = json.loads((state_dir / "state.json").read_text())
    assert (state["builders"], state["builder_hosts"]) == (choice, 2)
    env = dict(line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines())

    status = copr_local("status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    if choice == "ssh":
        hosts = stack_hosts(layout)
        assert len(hosts) == 2
        assert "Builders: ssh, 2 builder hosts; now 2:" in status.stdout
        for host in hosts:
            assert f"  {host.name} {host.address}\n" in status.stdout
    else:
        assert "Builders: resalloc (up to 2 builder hosts)" in status.stdout
        assert re.search(r"^resalloc-server +RUNNING", status.stdout, re.MULTILINE)

    cli = [str(COPR_CLI), "--config", env["COPR_CLI_CONFIG"]]
    created = run([*cli, "create", "hello", "--chroot", CHROOT])
    assert created.returncode == 0, created.stderr + created.stdout
    submitted = run([*cli, "build", "hello", str(srpm), "--nowait"])
    assert submitted.returncode == 0, submitted.stderr + submitted.stdout
    match = re.search(r"^Created builds: (\d+)$", submitted.stdout, re.MULTILINE)
    assert match, submitted.stdout
    build_id = int(match.group(1))
    watched = run([*cli, "watch-build", str(build_id)], timeout=BUILD_TIMEOUT)
    workers = layout.logs / "backend-workers"
    assert watched.returncode == 0, watched.stdout + "".join(
        path.read_text(errors="replace") for path in workers.glob("*.log")
    )
    assert f"Build {build_id}: succeeded" in watched.stdout

    # Both the source build and the RPM build ran on builder hosts of this stack.
    made = the_stacks_builders(layout, choice)
    for task in (f"{build_id}", f"{build_id}-{CHROOT}"):
        log = (workers / f"backend-build-worker-{task}.log").read_text()
        used = set(ADDRESS.findall(log))
        assert used, log
        assert used <= made, (used, made)
    build_dir = layout.results_dir / "admin" / "hello" / CHROOT / f"{build_id:08d}-hello-copr"
    backend_log = gzip.decompress((build_dir / "backend.log.gz").read_bytes()).decode()
    assert set(ADDRESS.findall(backend_log)) & made, backend_log
    assert list(build_dir.glob("hello-copr-1.0-1*.noarch.rpm"))

    # What the check after down looks for is there while the stack runs.
    assert any(line.startswith(layout.builder_host_prefix) for line in builder_leftovers(layout))
    down = copr_local("down", "--state-dir", str(state_dir))
    assert down.returncode == 0, down.stderr
    assert down.stdout == f"Stopped the stack in {state_dir}.\n"
    assert stack_processes(layout) == []
    assert builder_leftovers(layout) == []
    assert stack_hosts(layout) == []
    ports = json.loads((state_dir / "state.json").read_text())["ports"]
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex(("127.0.0.1", port)) != 0, name
