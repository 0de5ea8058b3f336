"""Repodata for a chroot directory, with requests batched per directory.

Many builds finish into one chroot dir at about the same time; each asks for its repodata
to be regenerated.  Requests are files in a queue directory per chroot dir (under the
backend's state dir, outside the published tree).  Whoever holds the directory's lock (an
``flock``, let go by the kernel if its holder dies) runs ``createrepo_c`` once for every
request queued so far and stores each request's outcome; the others wait for theirs (or
for the lock, if its holder died, and then run their own).  So requests that arrive while
a run is in progress are merged into the next single run.  Nothing of this lives in
Redis: a Redis restart cannot lose a request or fail a build.

Runs are incremental: a batch that only adds builds runs ``createrepo_c --update
--recycle-pkglist --pkglist <new packages>``, which takes the package list of the old
repodata and reads only the new RPMs.  A batch with a removal (or a directory without
repodata) runs ``createrepo_c --update`` over the whole directory, which still reuses the
metadata of every unchanged RPM.

A project that does not publish its builds automatically (Copr's ``devel_mode``,
copr-cli's ``--disable_createrepo``) gets its builds into a second repo, ``<chroot>/devel``:
the same packages, metadata written to ``devel/repodata`` with ``--baseurl`` pointing at
the chroot directory.  The chroot's own repodata then changes only when its owner
regenerates it.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from copr_backend.appstream import AppstreamError, add_appstream, has_appstream
from copr_common.chroots import ChrootNameError, parse_chroot
from copr_common.files import write_atomically

log = logging.getLogger(__name__)

# Outcomes nobody came for (their waiter died) are dropped after this long.
_STALE_RESULT_SECONDS = 24 * 3600


class CreaterepoError(RuntimeError):
    """createrepo_c failed for a directory; the message has its output."""


@dataclass(frozen=True)
class CreaterepoRequest:
    """One caller's request to regenerate a chroot directory's repodata, as queued in Redis."""

    request_id: str
    # Build directories (relative to the chroot dir) whose packages are new.
    add: tuple[str, ...] = ()
    # Something was removed (or the caller wants a full rescan).
    full: bool = False
    # The project wants AppStream metadata (a repo that has it keeps it anyway).
    appstream: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.request_id, "add": list(self.add), "full": self.full,
             "appstream": self.appstream}
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: bytes | str) -> CreaterepoRequest:
        data = json.loads(raw)
        return cls(
            str(data["id"]), tuple(data.get("add") or ()), bool(data.get("full")),
            bool(data.get("appstream")),
        )  # fmt: skip


@contextlib.contextmanager
def _try_lock(path: Path) -> Iterator[int | None]:
    """The lock's descriptor while we hold it, None when another process does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


class Createrepo:
    """Batched ``createrepo_c`` runs, coordinated through files across processes."""

    def __init__(
        self,
        state_dir: Path,
        *,
        command: str = "createrepo_c",
        timeout: float = 3600.0,
        poll_interval: float = 0.1,
        appstream_command: str = "appstream-generator",
    ) -> None:
        self.state_dir = Path(state_dir)
        self.command = command
        self.appstream_command = appstream_command
        self.timeout = timeout
        self.poll_interval = poll_interval

    def _dir(self, directory: Path) -> Path:
        digest = hashlib.sha256(str(directory).encode()).hexdigest()[:32]
        base = self.state_dir / digest
        for sub in ("queue", "results"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        return base

    def runs(self, directory: Path) -> int:
        """How many createrepo_c runs this directory has had (for checks and monitoring)."""
        try:
            return int((self._dir(directory.resolve()) / "runs").read_text())
        except (OSError, ValueError):
            return 0

    def update(
        self,
        directory: Path,
        add: list[str] | None = None,
        *,
        full: bool = False,
        devel_baseurl: str | None = None,
        appstream: bool = False,
    ) -> None:
        """Regenerate ``directory``'s repodata with the builds in ``add`` (or everything).

        With ``devel_baseurl`` (the URL of ``directory``), the metadata goes to
        ``directory/devel`` instead.  With ``appstream``, the repodata gets an AppStream
        catalog too (see :mod:`copr_backend.appstream`).  Returns once a run that includes
        this request has finished; raises :class:`CreaterepoError` when that run failed.
        """
        directory = directory.resolve()
        request = CreaterepoRequest(uuid.uuid4().hex, tuple(add or ()), full or not add, appstream)
        # Requests are batched per output dir: the devel repo's runs are its own.
        target = RepoTarget(directory, devel_baseurl)
        base = self._dir(target.output)
        write_atomically(base / "queue" / f"{request.request_id}.json", request.to_json())
        result = base / "results" / f"{request.request_id}.json"
        deadline = time.monotonic() + self.timeout * 2 + 60
        while True:
            with _try_lock(base / "lock") as lock:
                if lock is not None and not result.exists():
                    self._run_batch(target, base, request, lock)
            try:
                outcome = result.read_text()
            except FileNotFoundError:
                outcome = None
            if outcome is not None:
                result.unlink(missing_ok=True)
                error = json.loads(outcome).get("error")
                if error:
                    raise CreaterepoError(error)
                return
            if time.monotonic() > deadline:
                raise CreaterepoError(f"{directory}: no createrepo run finished in time")
            time.sleep(self.poll_interval)

    def _take_queue(self, base: Path) -> list[CreaterepoRequest]:
        batch = []
        for path in sorted((base / "queue").glob("*.json")):
            try:
                batch.append(CreaterepoRequest.from_json(path.read_text()))
            except (OSError, ValueError, KeyError):
                log.warning("dropping an unreadable createrepo request %s", path)
            path.unlink(missing_ok=True)
        return batch

    def _run_batch(self, target: RepoTarget, base: Path, own: CreaterepoRequest, lock: int) -> None:
        batch = self._take_queue(base)
        # The holder's own request is always in its run, even if a holder that died
        # took it from the queue earlier.
        if own.request_id not in {r.request_id for r in batch}:
            batch.append(own)
        error = None
        try:
            if self._createrepo(target, batch, lock):
                write_atomically(base / "runs", str(self.runs(target.output) + 1))
        except CreaterepoError as failure:
            error = str(failure)
            log.error("%s", failure)
        for request in batch:
            write_atomically(
                base / "results" / f"{request.request_id}.json", json.dumps({"error": error})
            )
        now = time.time()
        for path in (base / "results").glob("*.json"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > _STALE_RESULT_SECONDS:
                    path.unlink()

    def _createrepo(self, target: RepoTarget, batch: list[CreaterepoRequest], lock: int) -> bool:
        """One run for the whole batch; False when there was nothing to do.

        createrepo_c inherits the lock, so a run whose caller died still keeps every other
        run of the directory out until it ends; a ``.repodata`` left behind is then from
        a run that was killed, and is removed (createrepo_c refuses to start beside one).
        """
        directory = target.directory
        directory.mkdir(parents=True, exist_ok=True)
        # A createrepo_c run drops the AppStream catalog: it is made again afterwards.
        appstream = target.devel_baseurl is None and (
            any(r.appstream for r in batch) or has_appstream(directory)
        )
        leftover = target.output / ".repodata"
        if leftover.is_dir() and not leftover.is_symlink():
            log.warning("%s: removing .repodata that a killed createrepo_c left", target.output)
            shutil.rmtree(leftover)
        listed = listed_packages(target.output)
        full = listed is None or any(r.full for r in batch)
        base = [self.command, "--update", "--no-database", "--general-compress-type=gz"]
        base.append("--quiet")
        if target.devel_baseurl is not None:
            # createrepo_c does not make its --outputdir itself.
            target.output.mkdir(exist_ok=True)
            base += ["--outputdir", str(target.output), "--baseurl", target.devel_baseurl]
        with tempfile.NamedTemporaryFile("w", suffix=".pkglist") as pkglist:
            if full:
                command = [*base, str(directory)]
                log.info("createrepo_c (full) for %s: %d requests", directory, len(batch))
            else:
                # A package an earlier run already listed (a full run finds everything on
                # disk) must not be listed twice.
                packages = sorted(
                    {
                        str(path.relative_to(directory))
                        for request in batch
                        for build_dir in request.add
                        for path in (directory / build_dir).glob("*.rpm")
                        if path.is_file()
                    }
                    - (listed or set())
                )
                if not packages:
                    log.info("%s: every package is listed already", directory)
                    return False
                pkglist.write("".join(f"{name}\n" for name in packages))
                pkglist.flush()
                command = [*base, "--skip-stat", "--recycle-pkglist", "--pkglist", pkglist.name]
                command.append(str(directory))
                log.info(
                    "createrepo_c (+%d packages) for %s: %d requests",
                    len(packages),
                    directory,
                    len(batch),
                )
            try:
                result = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                    pass_fds=(lock,),
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise CreaterepoError(f"{directory}: createrepo_c did not run: {error}") from None
        if result.returncode != 0:
            raise CreaterepoError(
                f"{directory}: createrepo_c failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
            )
        if appstream:
            self._appstream(directory)
        return True

    def _appstream(self, directory: Path) -> None:
        # <results>/<owner>/<dirname>/<chroot>: Copr's origin is <owner>/<project>.
        owner, dirname, chroot = directory.parts[-3:]
        project = dirname.split(":", 1)[0]
        try:
            arch = parse_chroot(chroot).arch
        except ChrootNameError as error:
            raise CreaterepoError(f"{directory}: no AppStream metadata: {error}") from None
        try:
            add_appstream(
                directory, f"{owner}/{project}", arch, generator=self.appstream_command,
                timeout=self.timeout,
            )  # fmt: skip
        except AppstreamError as error:
            raise CreaterepoError(f"{directory}: AppStream metadata: {error}") from None


@dataclass(frozen=True)
class RepoTarget:
    """Where the packages are, and where their repodata goes (``devel/`` for a devel repo)."""

    directory: Path
    devel_baseurl: str | None = None

    @property
    def output(self) -> Path:
        return self.directory / "devel" if self.devel_baseurl is not None else self.directory


_LOCATION = re.compile(rb'<location [^>]*?href="([^"]+)"')
_PRIMARY = re.compile(rb'<data type="primary">.*?<location href="([^"]+)"', re.DOTALL)


def listed_packages(directory: Path) -> set[str] | None:
    """The package paths the directory's repodata lists; None without (readable) repodata."""
    try:
        repomd = (directory / "repodata" / "repomd.xml").read_bytes()
        match = _PRIMARY.search(repomd)
        if match is None:
            return None
        primary = (directory / match.group(1).decode()).read_bytes()
        if primary.startswith(b"\x1f\x8b"):
            primary = gzip.decompress(primary)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return {href.decode() for href in _LOCATION.findall(primary)}
