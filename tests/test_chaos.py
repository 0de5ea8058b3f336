"""Chaos: real builds on the real local stack while its services are killed with kill -9.

A seeded schedule (``COPR_CHAOS_SEED``) kills, in turn, a frontend (gunicorn) worker, the
build dispatcher, a build worker, the action dispatcher, the dist-git importer (its
dispatcher or an import worker), keygen and Redis — and on the PostgreSQL stack restarts
PostgreSQL — every few seconds, while 20 builds (``COPR_CHAOS_BUILDS``) of small
packages run.  Redis keeps nothing on disk, so every Redis kill is also a flush.

Every build must end exactly as it would have without the faults: succeeded, its chroot
built exactly once — the package's ``%build`` appends a line to a file in a host
directory that the builders bind into their sandbox (the ``bind_mounts`` setting of
copr-rpmbuild), so the count is the package's own — every RPM signed with the project's
key (``rpm -K`` against its ``pubkey.gpg``) and listed in its chroot's repodata with the
checksum it has on disk, and nothing left running after ``copr-local down``.  The
figures go to the terminal on one line::

    chaos: 20 builds, 61 kills, 20 succeeded, 0 failed, 0 duplicated, 0 unsigned, 0 missing
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli_w
from copr_local.state import StackLayout
from copr_local.supervisor import stack_processes

from copr_common.testing.services import PostgresServer, ServiceRun, start_postgres

ROOT = Path(__file__).resolve().parent.parent
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
UPSTREAM = ROOT / ".venv-upstream" / "bin"
SEED = int(os.environ.get("COPR_CHAOS_SEED", "1111"))
BUILDS = max(20, int(os.environ.get("COPR_CHAOS_BUILDS", "20")))
CHROOT = "fedora-42-x86_64"
PROJECT = "chaos"
# Seconds between two kills, drawn from this range by the seeded schedule.
PAUSES = (2.5, 5.0)
# However loaded the machine, the builds must be done by then.
BUILDS_DEADLINE = 900.0
ENDED = {"succeeded", "failed", "canceled", "skipped"}
INSIDE = "/copr-chaos"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SPEC = """\
Name:           {name}
Version:        1
Release:        1%{{?dist}}
Summary:        A small package that counts its own builds
License:        MIT
BuildArch:      noarch

%description
Built by the chaos test; every run of its build appends a line to {inside}/runs.

%prep

%build
echo "%{{name}} %{{?buildtag}}" >> {inside}/runs

%install
mkdir -p %{{buildroot}}/usr/share/%{{name}}
echo "%{{name}}" > %{{buildroot}}/usr/share/%{{name}}/name

%files
/usr/share/%{{name}}/name
"""


# --- the stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    state_dir: Path
    url: str
    cli_config: Path
    postgres: PostgresServer | None = None

    @property
    def layout(self) -> StackLayout:
        return StackLayout(self.state_dir)

    @property
    def results(self) -> Path:
        return self.state_dir / "public_html" / "results" / "admin" / PROJECT


def copr_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COPR_LOCAL), *args], capture_output=True, text=True, timeout=300, check=False
    )


@contextlib.contextmanager
def chaos_stack(postgres: PostgresServer | None) -> Iterator[Stack]:
    """A stack whose builders bind the run counter in; stopped (and checked) by the test."""
    parent = Path(tempfile.mkdtemp(prefix="copr-chaos-"))
    parent.chmod(0o755)  # the sandbox user walks down to the builder slots
    state_dir = parent / "stack"
    options = []
    if postgres is not None:
        name = f"copr_chaos_{uuid.uuid4().hex[:8]}"
        postgres.create_database(name)
        options = ["--database-url", postgres.url(name)]
    try:
        result = copr_local("up", "--detach", "--state-dir", str(state_dir), *options)
        assert result.returncode == 0, result.stderr + result.stdout
        env = dict(
            line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines()
        )
        stack = Stack(state_dir, env["COPR_URL"], Path(env["COPR_CLI_CONFIG"]), postgres)
        runs = parent / "runs"
        runs.mkdir()
        # Appended to by the sandbox user of whichever slot builds, and every slot has a
        # uid of its own: the file is made here, writable by all, so no slot owns it.
        (runs / "runs").touch()
        (runs / "runs").chmod(0o666)
        # Workers read the settings file afresh, and write each slot's copr-rpmbuild
        # settings from it when they lease the slot: the builds to come see the mount.
        backend_toml = stack.layout.config_file("backend")
        settings = tomllib.loads(backend_toml.read_text())
        settings["rpmbuild_settings"]["bind_mounts"] = {str(runs): INSIDE}
        backend_toml.write_text(tomli_w.dumps(settings))
        yield stack
    finally:
        copr_local("down", "--state-dir", str(state_dir))
        shutil.rmtree(parent, ignore_errors=True)


def copr_cli(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [str(UPSTREAM / "copr-cli"), "--config", str(stack.cli_config), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def submit(stack: Stack, srpms: list[Path]) -> list[int]:
    """Every SRPM submitted by the real python-copr, in one process (quicker than copr-cli);
    the build ids."""
    result = subprocess.run(
        [str(UPSTREAM / "python"), str(ROOT / "tests" / "upstream_client.py"), "submit",
         str(stack.cli_config), f"admin/{PROJECT}", *map(str, srpms)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ids: list[int] = json.loads(result.stdout)
    return ids


def make_srpms(workdir: Path, count: int) -> list[Path]:
    srpms = []
    for number in range(count):
        name = f"chaos-{number:02d}"
        spec = workdir / f"{name}.spec"
        spec.write_text(SPEC.format(name=name, inside=INSIDE))
        subprocess.run(
            ["rpmbuild", "-bs", "--define", f"_topdir {workdir / 'top'}", str(spec)],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        (srpm,) = (workdir / "top" / "SRPMS").glob(f"{name}-1-1*.src.rpm")
        srpms.append(srpm)
    return srpms


def build_states(stack: Stack) -> dict[int, dict[str, Any]] | None:
    """The project's builds by id; None when the frontend does not answer right now."""
    try:
        response = requests.get(
            f"{stack.url}/api_3/build/list",
            params={"ownername": "admin", "projectname": PROJECT, "limit": 1000},
            timeout=10,
        )
        if response.status_code != 200:
            return None
        return {int(item["id"]): item for item in response.json()["items"]}
    except (requests.RequestException, ValueError):
        return None


# --- the victims ----------------------------------------------------------------------------


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _has(command: list[str], *words: str) -> bool:
    text = " ".join(command)
    return all(word in text for word in words)


def _victims(stack: Stack) -> dict[str, list[int]]:
    """The stack's processes by the kind the schedule kills."""
    found: dict[str, list[int]] = {}
    for pid in stack_processes(stack.layout):
        command = _cmdline(pid)
        parent = _cmdline(_parent(pid))
        kind = None
        if _has(command, "gunicorn", "copr_frontend.app") and _has(parent, "gunicorn"):
            kind = "frontend worker"
        elif _has(command, "copr-backend-build-dispatcher"):
            kind = "build dispatcher"
        elif _has(command, "copr_backend.cli", "build-worker"):
            kind = "build worker"
        elif _has(command, "copr-backend-action-dispatcher"):
            kind = "action dispatcher"
        elif _has(command, "copr-distgit-dispatcher") or _has(
            command, "copr_distgit.cli", " worker"
        ):
            kind = "dist-git importer"
        elif _has(command, "copr-keygen", "serve") and not _has(parent, "copr-keygen"):
            kind = "keygen"
        elif _has(command, "redis-server"):
            kind = "redis"
        if kind is not None:
            found.setdefault(kind, []).append(pid)
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_group(pid: int) -> None:
    # A build worker, keygen's master: the process and what it runs in its group die.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)


KILLERS: dict[str, Callable[[int], None]] = {
    "frontend worker": _kill,
    "build dispatcher": _kill,
    "build worker": _kill_group,
    "action dispatcher": _kill,
    "dist-git importer": _kill,
    "keygen": _kill_group,
    "redis": _kill,
}


@dataclass
class Chaos:
    """The seeded kill schedule, run in a thread until stopped."""

    stack: Stack
    rng: random.Random
    kinds: list[str]
    kills: list[tuple[float, str, int]] = field(default_factory=list)
    absent: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        turn = 0
        started = time.monotonic()
        while not self._stop.wait(self.rng.uniform(*PAUSES)):
            kind = self.kinds[turn % len(self.kinds)]
            turn += 1
            if kind == "postgresql":
                assert self.stack.postgres is not None
                self.stack.postgres.restart()
                self.kills.append((time.monotonic() - started, kind, 0))
                continue
            pids = sorted(_victims(self.stack).get(kind, []))
            if not pids:
                self.absent[kind] += 1  # e.g. no build worker runs at this moment
                continue
            pid = self.rng.choice(pids)
            KILLERS[kind](pid)
            self.kills.append((time.monotonic() - started, kind, pid))

    def stop(self) -> None:
        self._stop.set()


# --- the checks ---------------------------------------------------------------------------


def repodata(chroot_dir: Path) -> dict[str, str]:
    """``{location: sha256}`` of every package the chroot's repodata lists."""
    repomd = (chroot_dir / "repodata" / "repomd.xml").read_text()
    match = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.DOTALL)
    assert match, repomd
    primary = gzip.decompress((chroot_dir / match.group(1)).read_bytes()).decode()
    listed = {}
    for package in re.findall(r"<package .*?</package>", primary, re.DOTALL):
        checksum = re.search(r'<checksum type="sha256"[^>]*>([0-9a-f]+)</checksum>', package)
        location = re.search(r'<location href="([^"]+)"', package)
        if checksum and location:
            listed[location.group(1)] = checksum.group(1)
    return listed


def signed_by(package: Path, pubkey: Path, dbpath: Path) -> bool:
    """``rpm -K`` of ``package`` against an rpmdb holding only the project's key."""
    if not dbpath.exists():
        dbpath.mkdir(parents=True)
        subprocess.run(["rpm", "--dbpath", str(dbpath), "--import", str(pubkey)],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
    result = subprocess.run(["rpm", "--dbpath", str(dbpath), "-K", str(package)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    return result.returncode == 0 and "signatures OK" in result.stdout


@dataclass
class Figures:
    builds: int = 0
    kills: int = 0
    succeeded: int = 0
    failed: int = 0
    duplicated: int = 0
    unsigned: int = 0
    missing: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"chaos: {self.builds} builds, {self.kills} kills, {self.succeeded} succeeded, "
            f"{self.failed} failed, {self.duplicated} duplicated, {self.unsigned} unsigned, "
            f"{self.missing} missing"
        )


def chroot_reason(stack: Stack, build_id: int) -> str:
    """Why the build's chroot ended as it did, as the frontend says."""
    try:
        response = requests.get(f"{stack.url}/api_3/build-chroot/{build_id}/{CHROOT}", timeout=10)
        chroot = response.json()
    except (requests.RequestException, ValueError) as error:
        return f"(chroot not readable: {error})"
    return f"chroot {chroot.get('state')}: {chroot.get('fail_reason')}"


def check_builds(
    stack: Stack, build_ids: list[int], states: dict[int, dict[str, Any]], work: Path
) -> Figures:
    figures = Figures(builds=len(build_ids))
    runs_file = stack.state_dir.parent / "runs" / "runs"
    runs = Counter(
        int(match.group(1))
        for match in re.finditer(
            r"\.copr(\d+)$", runs_file.read_text() if runs_file.exists() else "", re.MULTILINE
        )
    )
    chroot_dir = stack.results / CHROOT
    listed = repodata(chroot_dir)
    pubkey = stack.results / "pubkey.gpg"
    for build_id in build_ids:
        state = states[build_id]["state"]
        if state == "succeeded":
            figures.succeeded += 1
        else:
            figures.failed += 1
            figures.problems.append(
                f"build {build_id} {state}: {states[build_id]}; {chroot_reason(stack, build_id)}"
            )
        if runs[build_id] > 1:
            figures.duplicated += 1
            figures.problems.append(f"build {build_id}: built {runs[build_id]} times")
        packages = sorted(chroot_dir.glob(f"{build_id:08d}-*/*.rpm"))
        if runs[build_id] == 0 or not any(p.name.endswith(".noarch.rpm") for p in packages):
            figures.missing += 1
            figures.problems.append(f"build {build_id}: not built (runs {runs[build_id]})")
        for package in packages:
            if not signed_by(package, pubkey, work / "rpmdb"):
                figures.unsigned += 1
                figures.problems.append(f"{package.name}: not signed by the project key")
            location = str(package.relative_to(chroot_dir))
            digest = hashlib.sha256(package.read_bytes()).hexdigest()
            if listed.get(location) != digest:
                figures.missing += 1
                figures.problems.append(
                    f"{location}: repodata says {listed.get(location)}, the file is {digest}"
                )
    return figures


def stack_leftovers(stack: Stack) -> tuple[list[int], list[int]]:
    import socket

    processes = stack_processes(stack.layout)
    ports = json.loads((stack.state_dir / "state.json").read_text())["ports"].values()
    answering = []
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                answering.append(port)
    return processes, answering


# --- the test -------------------------------------------------------------------------------


def run_chaos(
    stack: Stack, kinds: list[str], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copr_cli(stack, "create", PROJECT, "--chroot", CHROOT)
    srpms = make_srpms(work, BUILDS)
    build_ids = submit(stack, srpms)
    assert len(build_ids) == BUILDS

    chaos = Chaos(stack, random.Random(SEED), kinds)
    thread = threading.Thread(target=chaos.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + BUILDS_DEADLINE
    states: dict[int, dict[str, Any]] = {}
    try:
        while time.monotonic() < deadline:
            polled = build_states(stack)
            if polled is not None:
                states = polled
                if all(states.get(b, {}).get("state") in ENDED for b in build_ids):
                    break
            time.sleep(2)
    finally:
        chaos.stop()
        thread.join(timeout=120)
    # Let whatever the last kill interrupted settle, then read the final states.
    final = None
    for _ in range(60):
        final = build_states(stack)
        if final is not None:
            break
        time.sleep(1)
    assert final is not None, "the frontend does not answer after the chaos"
    unfinished = {b: final[b]["state"] for b in build_ids if final[b]["state"] not in ENDED}
    assert not unfinished, f"builds not done after {BUILDS_DEADLINE:.0f} s: {unfinished}"

    # Nothing was built that was not asked for (a resubmission that had been stored).
    assert sorted(final) == sorted(build_ids), sorted(final)
    figures = check_builds(stack, build_ids, final, work)
    figures.kills = len(chaos.kills)
    with capsys.disabled():
        print(f"\n{figures.line()}")
        print(f"chaos: seed {SEED}")

    result = copr_local("down", "--state-dir", str(stack.state_dir))
    assert result.returncode == 0, result.stderr
    assert stack_leftovers(stack) == ([], [])

    killed = Counter(kind for _, kind, _ in chaos.kills)
    schedule = ", ".join(f"{t:.0f}s {kind} {pid}" for t, kind, pid in chaos.kills)
    assert not figures.problems, "\n".join([figures.line(), *figures.problems, schedule])
    assert figures.succeeded == BUILDS
    # Every kind of process was really killed at least once, in turn.
    assert set(killed) == set(kinds), (killed, dict(chaos.absent), schedule)


SQLITE_KINDS = [
    "frontend worker",
    "build dispatcher",
    "build worker",
    "action dispatcher",
    "dist-git importer",
    "keygen",
    "redis",
]


def test_chaos_on_the_sqlite_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with chaos_stack(None) as stack:
        run_chaos(stack, SQLITE_KINDS, tmp_path, capsys)


def test_chaos_on_the_postgresql_stack(
    service_run: ServiceRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A PostgreSQL of this test alone: it is restarted under the stack's feet.
    postgres = start_postgres(service_run, name=f"postgres-chaos-{uuid.uuid4().hex[:8]}")
    try:
        with chaos_stack(postgres) as stack:
            run_chaos(stack, [*SQLITE_KINDS, "postgresql"], tmp_path, capsys)
    finally:
        service_run.stop(postgres.process, signal.SIGINT)
