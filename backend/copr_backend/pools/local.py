"""The local pool: N builder slots on this host, each a directory of its own.

A slot holds a ``rpmbuild.toml`` pointing copr-rpmbuild at the slot's ``results/``,
``workspace/`` and ``state/`` (its lock and pid file), so the slots build side by side in
their own sandboxes, each as a uid of its own (``local_uid_base`` + slot number).
Leases live in Redis, one hash per slot (``copr:backend:local-pool:<host>:slot:<n>``
with the task id and whether the build was started), so a worker that takes over a task
finds the slot its predecessor used.

A slot whose task no worker holds any more, and whose build is not running, is free to
take: a worker that died after its build ended (and whose task is finished or was given
to another slot) must not keep the slot forever.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import tomli_w
from redis import Redis

from copr_backend.pools import Builder, BuilderPool, BuildRequest, PoolError
from copr_backend.settings import BackendSettings
from copr_rpmbuild import proctree
from copr_rpmbuild.config import load_config
from copr_rpmbuild.follow import build_status

# Takes a free slot (or one already leased to this task): 1 taken, 0 busy.
_TAKE = """
local holder = redis.call('HGET', KEYS[1], 'task_id')
if holder and holder ~= ARGV[1] then return 0 end
if not holder then
  redis.call('HSET', KEYS[1], 'task_id', ARGV[1], 'started', '0', 'leased', ARGV[2])
end
return 1
"""

# Takes a slot over from a holder that is gone: only while the holder is unchanged.
_STEAL = """
if redis.call('HGET', KEYS[1], 'task_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'task_id', ARGV[2], 'started', '0', 'leased', ARGV[3])
return 1
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'task_id') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class LocalBuilder(Builder):
    def __init__(self, pool: LocalPool, slot: int, task_id: str, attached: bool) -> None:
        self.pool = pool
        self.task_id = task_id
        self.slot = slot
        self.attached = attached
        self.dir = pool.slot_dir(slot)
        self.config = self.dir / "rpmbuild.toml"
        self.name = f"local-{slot}"

    @property
    def resultdir(self) -> Path:
        return self.dir / "results"

    def start(self, request: BuildRequest) -> None:
        settings = self.pool.settings
        command = [settings.rpmbuild_command, "--detached", "--drop-resultdir", "-c"]
        command += [str(self.config), "--build-id", str(request.build_id)]
        command += ["--srpm"] if request.is_source else ["--chroot", str(request.chroot)]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PoolError(f"{self.name}: cannot run {command[0]}: {error}") from None
        if result.returncode != 0:
            raise PoolError(
                f"{self.name}: copr-rpmbuild did not start (exit {result.returncode}): "
                f"{result.stderr.strip()}"
            )
        self.pool.mark_started(self.slot, request.task_id)

    def follow_log(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        command = [self.pool.settings.rpmbuild_log_command, "-c", str(self.config)]
        return subprocess.Popen(
            [*command, "--wait", "60"], stdout=output, stderr=subprocess.DEVNULL
        )

    def _rpmbuild_settings(self) -> Any:
        return load_config(self.config)

    def is_running(self) -> bool:
        running, _ = build_status(self._rpmbuild_settings())
        return running

    def build_pids(self) -> list[int]:
        settings = self._rpmbuild_settings()
        try:
            pid = int(settings.pidfile.read_text().strip())
        except (OSError, ValueError):
            return []
        if not proctree.is_alive(pid):
            return []
        return [pid, *proctree.descendants(pid)]

    def cancel(self) -> None:
        settings = self.pool.settings
        command = [settings.rpmbuild_cancel_command, "-c", str(self.config)]
        command += ["--grace", str(settings.cancel_grace)]
        try:
            subprocess.run(
                command,
                capture_output=True,
                timeout=settings.cancel_grace + 30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PoolError(f"{self.name}: copr-rpmbuild-cancel failed: {error}") from None

    def fetch_results(self, destination: Path) -> list[Path]:
        destination.mkdir(parents=True, exist_ok=True)
        copied: list[Path] = []
        if not self.resultdir.is_dir():
            return copied
        for path in sorted(self.resultdir.iterdir()):
            # Only plain files: the sandbox checked the tree, but a link is never followed.
            if path.is_symlink() or not path.is_file():
                continue
            target = destination / path.name
            shutil.copyfile(path, target)
            copied.append(target)
        return copied


class LocalPool(BuilderPool):
    def __init__(
        self, settings: BackendSettings, redis: Redis, is_task_held: Callable[[str], bool]
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.is_task_held = is_task_held
        self.host = socket.gethostname()
        self._take = redis.register_script(_TAKE)
        self._steal = redis.register_script(_STEAL)
        self._release = redis.register_script(_RELEASE)

    def slot_key(self, slot: int) -> str:
        return f"copr:backend:local-pool:{self.host}:slot:{slot}"

    def slot_dir(self, slot: int) -> Path:
        return self.settings.local_pool_dir / f"slot-{slot}"

    def slot_uid(self, slot: int) -> int:
        return self.settings.local_uid_base + slot

    def slot_holder(self, slot: int) -> str | None:
        value = self.redis.hget(self.slot_key(slot), "task_id")
        return value.decode() if isinstance(value, bytes) else value

    def mark_started(self, slot: int, task_id: str) -> None:
        if self.slot_holder(slot) == task_id:
            self.redis.hset(self.slot_key(slot), "started", "1")

    def _prepare(self, slot: int) -> None:
        base = self.slot_dir(slot)
        values: dict[str, Any] = dict(self.settings.rpmbuild_settings)
        values.update(
            {
                "frontend_url": self.settings.frontend_url,
                "resultdir": base / "results",
                "workspace_dir": base / "workspace",
                "state_dir": base / "state",
                "sandbox_uid": self.slot_uid(slot),
            }
        )
        base.mkdir(parents=True, exist_ok=True)
        # The slot's uid walks into the workspace: every parent must be searchable.
        for path in (self.settings.local_pool_dir, base):
            path.chmod(0o755)
        try:
            # TOML has neither null nor a path type.
            plain = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
            text = tomli_w.dumps({k: v for k, v in plain.items() if v is not None})
        except TypeError as error:
            raise PoolError(f"bad rpmbuild_settings: {error}") from None
        # Written whole and renamed, so a worker looking at the slot never reads half a file.
        partial = base / ".rpmbuild.toml.partial"
        partial.write_text(text)
        partial.replace(base / "rpmbuild.toml")

    def _slot_build_running(self, slot: int) -> bool:
        config = self.slot_dir(slot) / "rpmbuild.toml"
        if not config.exists():
            return False
        running, _ = build_status(load_config(config))
        return running

    def _try_lease(self, request: BuildRequest) -> LocalBuilder | None:
        slots = range(self.settings.local_slots)
        for slot in slots:
            if self.slot_holder(slot) == request.task_id:
                started = self.redis.hget(self.slot_key(slot), "started") in (b"1", "1")
                self._prepare(slot)
                return LocalBuilder(self, slot, request.task_id, attached=started)
        for slot in slots:
            if self._take(keys=[self.slot_key(slot)], args=[request.task_id, repr(time.time())]):
                self._prepare(slot)
                return LocalBuilder(self, slot, request.task_id, attached=False)
        for slot in slots:
            holder = self.slot_holder(slot)
            if holder is None or self.is_task_held(holder) or self._slot_build_running(slot):
                continue
            args = [holder, request.task_id, repr(time.time())]
            if self._steal(keys=[self.slot_key(slot)], args=args):
                self._prepare(slot)
                return LocalBuilder(self, slot, request.task_id, attached=False)
        return None

    def lease(self, request: BuildRequest, timeout: float) -> Builder:
        deadline = time.monotonic() + timeout
        while True:
            builder = self._try_lease(request)
            if builder is not None:
                return builder
            if time.monotonic() > deadline:
                raise PoolError(f"no free local builder slot within {timeout:g} s")
            time.sleep(0.5)

    def release(self, builder: Builder) -> None:
        if not isinstance(builder, LocalBuilder):
            raise PoolError(f"{builder!r} is not a builder of this pool")
        self._release(keys=[self.slot_key(builder.slot)], args=[builder.task_id])
