"""A builder pool without a sandbox, for tests of the build worker's own logic.

:class:`ScriptPool` implements :class:`~copr_backend.pools.BuilderPool` with builders that
are directories on this host.  Their "build" is a small Python script standing in for
``copr-rpmbuild --detached``: it writes a live log, produces the result files it was given
and exits with the code it was given, as copr-rpmbuild does; its follower streams the log
and exits with the build's code, as ``copr-rpmbuild-log`` does.  No mock, no bwrap, no
rpmbuild: a build takes a fraction of a second, so every way a build can end is a test of
seconds.  A :class:`ScriptedBuild` says how a task's build goes, including the ways a
builder fails (it does not start, its log follower dies, its results vanish).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from copr_backend.pools import Builder, BuilderPool, BuildRequest, PoolError
from copr_common.exit_codes import EXIT_CANCELED, EXIT_INFRASTRUCTURE, EXIT_SUCCESS

# The build: announces itself (``started``), logs, waits, leaves its results, writes its
# exit code to ``status`` (as copr-rpmbuild's state dir has it) and exits with it.  SIGTERM
# (a cancel) ends it at once with copr-rpmbuild's "canceled" code.
_BUILD = r"""
import json, os, pathlib, shutil, signal, sys, time
spec = json.loads(sys.argv[1])
work = pathlib.Path(spec["workdir"])
log = (work / "builder-live.log").open("a")

def end(code):
    (work / "status.partial").write_text(str(code))
    os.replace(work / "status.partial", work / "status")
    sys.exit(code)

def canceled(*_):
    log.write("canceled by signal\n")
    log.flush()
    end(spec["canceled_code"])

if spec["refuse_start"]:
    sys.exit(spec["infrastructure_code"])
signal.signal(signal.SIGTERM, canceled)
(work / "started").write_text(str(os.getpid()))
log.write(spec["log"])
log.flush()
deadline = time.monotonic() + spec["seconds"]
while time.monotonic() < deadline:
    time.sleep(0.02)
for name, text in spec["files"].items():
    (work / "results" / name).write_text(text)
if spec["lose_results"]:
    shutil.rmtree(work / "results")
log.write("done\n")
log.flush()
end(spec["exit_code"])
"""

# The follower: copies the live log as it grows and exits with the build's code once the
# build wrote it; ``die_after`` seconds in, it kills itself (a follower that dies).
_FOLLOW = r"""
import os, pathlib, signal, sys, time
work = pathlib.Path(sys.argv[1])
die_after = float(sys.argv[2])
started = time.monotonic()
offset = 0
out = sys.stdout.buffer

def copy():
    global offset
    try:
        with (work / "builder-live.log").open("rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:
        return
    offset += len(data)
    out.write(data)
    out.flush()

while True:
    status = work / "status"
    if status.exists():
        copy()
        sys.exit(int(status.read_text()))
    copy()
    if die_after >= 0 and time.monotonic() - started > die_after:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.02)
"""


@dataclass(frozen=True)
class ScriptedBuild:
    """How one task's build goes on a :class:`ScriptPool` builder."""

    exit_code: int = EXIT_SUCCESS
    """What the build exits with (copr-rpmbuild's codes, :mod:`copr_common.exit_codes`)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Result files the build leaves (name → text), e.g. ``results.json``."""
    log: str = "building\n"
    seconds: float = 0.0
    """How long the build runs before it ends (a cancel ends it sooner)."""
    refuse_start: bool = False
    """The build exits at once, as copr-rpmbuild does when it cannot start."""
    follower_dies_after: float | None = None
    """The log follower is killed (SIGKILL) this many seconds after it started."""
    lose_results: bool = False
    """The build's result directory is gone by the time the results are fetched."""


class ScriptBuilder(Builder):
    """One builder of a :class:`ScriptPool`: a directory and the script run in it."""

    def __init__(self, pool: ScriptPool, request: BuildRequest, workdir: Path) -> None:
        self.pool = pool
        self.request = request
        self.workdir = workdir
        self.name = f"script-{workdir.name}"
        self.attached = False
        self.process: subprocess.Popen[bytes] | None = None
        # Whether the worker stopped the build while it held the builder (release stops
        # whatever is left too, but a real pool would hand that builder on busy).
        self.canceled_while_leased = False

    def start(self, request: BuildRequest) -> None:
        build = self.pool.build_for(request.task_id)
        (self.workdir / "results").mkdir(parents=True, exist_ok=True)
        spec = {
            "workdir": str(self.workdir),
            "exit_code": build.exit_code,
            "files": dict(build.files),
            "log": build.log,
            "seconds": build.seconds,
            "refuse_start": build.refuse_start,
            "lose_results": build.lose_results,
            "canceled_code": EXIT_CANCELED,
            "infrastructure_code": EXIT_INFRASTRUCTURE,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BUILD, json.dumps(spec)], start_new_session=True
        )
        # As copr-rpmbuild --detached: return once the build runs, fail if it never does.
        deadline = time.monotonic() + 30
        while not (self.workdir / "started").exists():
            code = self.process.poll()
            if code is not None:
                raise PoolError(f"the build on {self.name} exited {code} before it started")
            if time.monotonic() > deadline:
                raise PoolError(f"the build on {self.name} did not start within 30 s")
            time.sleep(0.02)

    def follow_log(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        dies = self.pool.build_for(self.request.task_id).follower_dies_after
        return subprocess.Popen(
            [sys.executable, "-c", _FOLLOW, str(self.workdir), str(-1 if dies is None else dies)],
            stdout=output,
        )

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def build_pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None and self.is_running() else []

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            if self.request.task_id in self.pool.leased:
                self.canceled_while_leased = True
            os.killpg(self.process.pid, signal.SIGTERM)

    def fetch_results(
        self, destination: Path, keep: Callable[[Path], bool] | None = None
    ) -> list[Path]:
        copied = []
        destination.mkdir(parents=True, exist_ok=True)
        for source in sorted((self.workdir / "results").iterdir()):
            target = destination / source.name
            if target.exists() and keep is not None and keep(target):
                continue
            shutil.copyfile(source, target)
            copied.append(target)
        return copied


class ScriptPool(BuilderPool):
    """``slots`` builders under ``root``; ``builds`` says how each task's build goes
    (``default`` for the others).  ``released`` and ``forgotten`` list the builders given
    back and those kept for a task whose report is still due, in order.
    """

    def __init__(
        self,
        root: Path,
        builds: Mapping[str, ScriptedBuild] | None = None,
        *,
        default: ScriptedBuild | None = None,
        slots: int = 1,
    ) -> None:
        self.root = root
        self.builds = dict(builds or {})
        self.default = default or ScriptedBuild()
        self.slots = slots
        self.leased: dict[str, ScriptBuilder] = {}
        self.kept: dict[str, ScriptBuilder] = {}
        self.released: list[ScriptBuilder] = []
        self.forgotten: list[ScriptBuilder] = []
        self._made = 0

    def build_for(self, task_id: str) -> ScriptedBuild:
        """How the build of ``task_id`` goes."""
        return self.builds.get(task_id, self.default)

    def lease(self, request: BuildRequest, timeout: float) -> Builder:
        kept = self.kept.pop(request.task_id, None)
        if kept is not None:
            kept.attached = True
            self.leased[request.task_id] = kept
            return kept
        deadline = time.monotonic() + timeout
        while len(self.leased) + len(self.kept) >= self.slots:
            if time.monotonic() >= deadline:
                raise PoolError(f"no builder was free within {timeout:g} s")
            time.sleep(0.02)
        self._made += 1
        builder = ScriptBuilder(self, request, self.root / f"builder-{self._made}")
        builder.workdir.mkdir(parents=True)
        self.leased[request.task_id] = builder
        return builder

    def release(self, builder: Builder) -> None:
        assert isinstance(builder, ScriptBuilder)
        self.leased.pop(builder.request.task_id, None)
        self.released.append(builder)
        # A builder given back is clean for its next lease: nothing of this task runs on.
        builder.cancel()
        if builder.process is not None:
            builder.process.wait(timeout=30)

    def forget(self, builder: Builder) -> None:
        assert isinstance(builder, ScriptBuilder)
        self.leased.pop(builder.request.task_id, None)
        self.kept[builder.request.task_id] = builder
        self.forgotten.append(builder)
