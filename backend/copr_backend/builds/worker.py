"""One build task, start to end: the life of a build worker process.

1. ``starting_build``: the frontend says whether the task may start (it exists, is not
   canceled, not already finished — a worker that finds its build finished does nothing).
2. Fetch the full task.
3. Lease a builder and start ``copr-rpmbuild --detached`` on it — unless the builder
   already runs this task, or ran it and its report is still due (the worker before
   this one died): then re-attach.  A task another live worker runs never gets here
   (its task lock, see :class:`copr_common.worker_manager.WorkerSession`).
4. Report ``running``, stream the live log into ``builder-live.log`` in the result dir,
   and meanwhile honour cancel requests and the fail-safe deadline (timeout + grace).
5. Fetch the results, sign every RPM and SRPM, write ``pubkey.gpg``, regenerate the
   chroot's repodata, gzip the logs.
   A remote builder that dies meanwhile (:meth:`Builder.alive` turns false) is given up
   and the task rescheduled (``reschedule_build_chroot/``): another builder runs it.
6. Always send the final state; anything not succeeded is failed (or canceled), and the
   reason goes with it and into ``backend.log``.  Only a reported build frees its
   builder: a worker that cannot report (the frontend is away for longer than the
   retries last) leaves the builder kept for the task, and the next worker reports it
   without building again.  Publishing again is harmless: a package already signed in
   the results tree is not replaced, so its repodata stays true.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from copr_backend.createrepo import Createrepo, CreaterepoError
from copr_backend.dependencies import read_dependencies
from copr_backend.frontend import BackendApiClient, BackendApiError
from copr_backend.messaging import (
    BUILD_END,
    BUILD_START,
    CHROOT_START,
    MessagePublisher,
    NullPublisher,
    build_message,
)
from copr_backend.pools import Builder, BuilderPool, BuildRequest, PoolError
from copr_backend.release_package import ReleasePackageError, ReleasePackages
from copr_backend.results import ResultsTree, directory_size, gzip_logs, read_json_object
from copr_backend.sbom import PROVENANCE_FILE, BuildFacts, write_documents
from copr_backend.settings import BackendSettings
from copr_backend.signing import Signer, SignerError, is_signed
from copr_common.enums import StatusEnum
from copr_common.exit_codes import (
    EXIT_BUILD_FAILED,
    EXIT_CANCELED,
    EXIT_INFRASTRUCTURE,
    EXIT_SUCCESS,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from copr_common.names import (
    MAX_PACKAGE_NAME_LENGTH,
    RELEASE_PACKAGES_DIR,
    SRPM_BUILDS_DIR,
    InvalidNameError,
)
from copr_common.settings import EXIT_CONFIG

log = logging.getLogger(__name__)


BUILDROOT_FILE = "buildroot.json"
"""What copr-rpmbuild's RPM phase leaves: the buildroot, the BuildRequires it skipped."""
FAIL_REASON_FILE = "fail-reason.txt"
"""What copr-rpmbuild leaves in the result dir when a build fails: why, in words."""
_MAX_REASON = 4000
# What copr-rpmbuild exits with: a follower that says one of these saw the build end.
_BUILD_CODES = frozenset(
    {EXIT_SUCCESS, EXIT_BUILD_FAILED, EXIT_USAGE, EXIT_INFRASTRUCTURE, EXIT_CANCELED}
    | {EXIT_TIMEOUT, EXIT_CONFIG}
)


class BuilderLost(Exception):
    """The builder died or stopped answering mid-build; the task runs again elsewhere."""


@dataclass
class Outcome:
    """How a build ended: the state to report and, for a failure, why."""

    status: StatusEnum
    reason: str = ""
    # The builder ended the build itself (its exit code says how); its fail-reason.txt,
    # when there is one, says why better than the exit code.
    by_builder: bool = False


class BuildWorker:
    """Runs one build task: leases a builder, follows the build, publishes and reports it."""

    def __init__(
        self,
        settings: BackendSettings,
        frontend: BackendApiClient,
        pool: BuilderPool,
        signer: Signer,
        createrepo: Createrepo,
        publisher: MessagePublisher | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher or NullPublisher()
        self.frontend = frontend
        self.pool = pool
        self.signer = signer
        self.createrepo = createrepo
        self.tree = ResultsTree(settings.results_dir)
        self.release_packages = ReleasePackages(settings.frontend_url, signer)
        self.timings: dict[str, float] = {}
        """When the current task's stages happened (see copr_frontend.builds.timings)."""

    # --- the whole life --------------------------------------------------------------------

    def run(self, queued: dict[str, Any]) -> dict[str, Any]:
        """Run the task ``queued`` (the dispatcher's record); the worker's result."""
        task_id = str(queued["task_id"])
        self.timings = {}
        self._stage("started")
        # Ask first, fetch after: the queued record has what starting_build needs, and a
        # task that may not start is not worth fetching.
        if not self.frontend.starting_build(queued):
            log.info("task %s may not start (gone, canceled or finished); nothing to do", task_id)
            return {"task_id": task_id, "outcome": "not started"}
        task = self.frontend.build_task(task_id)
        if task is None:
            log.info("task %s no longer exists; nothing to do", task_id)
            return {"task_id": task_id, "outcome": "gone"}
        is_source = "-" not in task_id
        request = BuildRequest(
            task_id=task_id,
            build_id=int(task["build_id"]),
            chroot=None if is_source else str(task["chroot"]),
            tags=tuple(str(t) for t in task.get("tags") or []),
            sandbox=str(task.get("sandbox") or ""),
        )
        try:
            destination = self._destination(task, is_source)
        except (InvalidNameError, KeyError, ValueError) as error:
            return self._finish(task, None, Outcome(StatusEnum.failed, f"bad task: {error}"))
        try:
            builder = self.pool.lease(request, self.settings.lease_timeout)
        except PoolError as error:
            # The task stays "starting" in the frontend and is offered again.
            log.error("task %s: %s", task_id, error)
            return {"task_id": task_id, "outcome": "no builder", "error": str(error)}
        self._stage("builder_leased")
        destination.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(destination / "backend.log")
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
        logging.getLogger("copr_backend").addHandler(handler)
        # The stages so far happened before there was a log to write them to.
        build_timings = task.get("build_timings")
        for stage, when in {
            **(build_timings if isinstance(build_timings, dict) else {}),
            **self.timings,
        }.items():
            _log_stage(stage, when)
        try:
            outcome = self._build(task, request, builder, destination)
        except BuilderLost as error:
            log.error("task %s: %s; rescheduling it", task_id, error)
            return self._reschedule(request, builder, str(error))
        finally:
            # The task's work ends here: what follows is compressing its logs and reporting.
            self._stage("ended", logged=True)
            logging.getLogger("copr_backend").removeHandler(handler)
            handler.close()
            gzip_logs(destination)
        try:
            result = self._finish(task, destination, outcome)
        except BackendApiError:
            # Only a reported build frees its builder: the worker that takes the task
            # over finds the ended build there and reports it, without building again.
            self.pool.forget(builder)
            raise
        self.pool.release(builder)
        return result

    def _reschedule(self, request: BuildRequest, builder: Builder, why: str) -> dict[str, Any]:
        try:
            self.pool.discard(builder)
        except PoolError as error:
            # Left to the pool's periodic check (the task is not pending on it any more).
            log.warning("task %s: cannot give up %s: %s", request.task_id, builder.name, error)
        answer = self.frontend.reschedule(
            request.build_id, request.task_id, request.chroot or SRPM_BUILDS_DIR
        )
        log.info("task %s: %s", request.task_id, answer.get("msg") or answer.get("result"))
        return {"task_id": request.task_id, "outcome": "rescheduled", "reason": why}

    def _check_alive(self, builder: Builder, what: str) -> None:
        if not builder.alive():
            raise BuilderLost(f"{builder.name} is gone ({what})")

    def _destination(self, task: dict[str, Any], is_source: bool) -> Path:
        owner, dirname = str(task["project_owner"]), str(task["project_dirname"])
        build_id = int(task["build_id"])
        if is_source:
            return self.tree.srpm_dir(owner, dirname, build_id)
        package = task.get("package_name")
        if not package:
            raise ValueError("the RPM task has no package_name")
        return self.tree.build_dir(owner, dirname, str(task["chroot"]), build_id, str(package))

    def _build(
        self, task: dict[str, Any], request: BuildRequest, builder: Builder, destination: Path
    ) -> Outcome:
        task_id = request.task_id
        try:
            if builder.attached:
                log.info("task %s: re-attaching to its build on %s", task_id, builder.name)
            else:
                log.info("task %s: starting on %s", task_id, builder.name)
                builder.start(request)
        except PoolError as error:
            self._check_alive(builder, f"the build did not start: {error}")
            return Outcome(StatusEnum.failed, f"the build did not start: {error}")
        self._report(
            task,
            {
                "status": int(StatusEnum.running),
                "started_on": int(time.time()),
                "timings": dict(self.timings),
            },
        )
        chroot = self._entry(task)["chroot"]
        for topic in (BUILD_START, CHROOT_START):
            self.publisher.publish(topic, build_message(task, StatusEnum.running, chroot))
        outcome = self._follow(task, builder, destination)
        try:
            # What an earlier worker of this task signed (and indexed) stays as it is.
            builder.fetch_results(destination, keep=is_signed)
        except (OSError, PoolError) as error:
            self._check_alive(builder, f"cannot fetch the results: {error}")
            return Outcome(StatusEnum.failed, f"cannot fetch the results: {error}")
        self._stage("build_ended", logged=True)
        if outcome.status != StatusEnum.succeeded:
            said = _builder_fail_reason(destination)
            if outcome.by_builder:
                outcome.reason = said or outcome.reason
            elif said:
                # Stopped by this worker (a cancel request, the deadline): what the builder
                # was doing then.
                outcome.reason = f"{outcome.reason} ({said})"
            return outcome
        if request.is_source:
            name = str((_read_results(destination) or {}).get("name") or "")
            if len(name) > MAX_PACKAGE_NAME_LENGTH:
                reason = f"Too long package name: {name}"
                log.error("%s (at most %d characters)", reason, MAX_PACKAGE_NAME_LENGTH)
                return Outcome(StatusEnum.failed, reason)
        try:
            self._publish(task, request, destination)
        except (SignerError, CreaterepoError, OSError) as error:
            return Outcome(StatusEnum.failed, str(error))
        return outcome

    def _follow(self, task: dict[str, Any], builder: Builder, destination: Path) -> Outcome:
        task_id = str(task["task_id"])
        timeout = int(task.get("timeout") or self.settings.default_build_timeout)
        deadline = time.monotonic() + timeout + self.settings.build_grace
        next_check = 0.0
        next_alive_check = time.monotonic() + self.settings.builder_check_interval
        stopped: Outcome | None = None
        with (destination / "builder-live.log").open("wb") as live_log:
            follower = builder.follow_log(live_log)
            while follower.poll() is None:
                now = time.monotonic()
                if now >= next_alive_check:
                    next_alive_check = now + self.settings.builder_check_interval
                    if not builder.alive():
                        # The follower goes with the builder's connection (discard).
                        raise BuilderLost(f"{builder.name} stopped answering mid-build")
                if stopped is None and now >= next_check:
                    next_check = now + self.settings.cancel_check_interval
                    if task_id in self._cancel_requests():
                        log.info("task %s: cancel requested, stopping the build", task_id)
                        builder.cancel()
                        stopped = Outcome(StatusEnum.canceled, "Canceled by request")
                        self._ack_cancel(task_id)
                if stopped is None and now > deadline:
                    log.error("task %s: past its deadline (%d s + grace)", task_id, timeout)
                    builder.cancel()
                    stopped = Outcome(
                        StatusEnum.failed,
                        f"the build ran past its timeout of {timeout} s and was stopped",
                    )
                # Woken by the log's end at once, not at the next look.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    follower.wait(0.2)
            code = follower.poll()
            if code is None:  # a follower says its code once it has ended
                code = EXIT_INFRASTRUCTURE
        if stopped is not None:
            return stopped
        if code == EXIT_SUCCESS:
            return Outcome(StatusEnum.succeeded)
        # A follower that lost its builder ends with a failure of its own.
        self._check_alive(builder, f"the log follower exited {code}")
        if code not in _BUILD_CODES and self._still_running(builder):
            # The follower died, not the build (its code is none of copr-rpmbuild's):
            # the build is stopped, or the builder would go to the next task busy.
            log.error("task %s: the log follower exited %s mid-build; stopping it", task_id, code)
            builder.cancel()
            return Outcome(
                StatusEnum.failed,
                f"the log follower exited {code} while the build ran; the build was stopped",
            )
        if code == EXIT_CANCELED:
            return Outcome(StatusEnum.canceled, "the build was canceled on the builder", True)
        reasons = {
            EXIT_BUILD_FAILED: "the build failed (see builder-live.log)",
            EXIT_INFRASTRUCTURE: "infrastructure failure on the builder (see builder-live.log)",
            EXIT_TIMEOUT: f"the build ran longer than its timeout of {timeout} s",
            EXIT_CONFIG: "copr-rpmbuild's settings on the builder are invalid (see the log)",
        }
        reason = reasons.get(code, f"copr-rpmbuild exited {code}")
        return Outcome(StatusEnum.failed, reason, True)

    def _still_running(self, builder: Builder) -> bool:
        try:
            return builder.is_running()
        except PoolError as error:
            log.warning("cannot tell whether the build on %s runs: %s", builder.name, error)
            return False

    def _cancel_requests(self) -> list[str]:
        try:
            return self.frontend.cancel_requests()
        except BackendApiError as error:
            # The client logs the outage once; the build goes on meanwhile.
            log.debug("cannot read cancel requests: %s", error)
            return []

    def _ack_cancel(self, task_id: str) -> None:
        try:
            self.frontend.task_canceled(task_id, True)
        except BackendApiError as error:
            log.warning("cannot acknowledge the cancel of %s: %s", task_id, error)

    def _publish(self, task: dict[str, Any], request: BuildRequest, destination: Path) -> None:
        owner, project = str(task["project_owner"]), str(task["project_name"])
        dirname = str(task["project_dirname"])
        packages = sorted(destination.glob("*.rpm"))
        if not packages:
            raise OSError("the build succeeded but left no packages")
        pubkeys = {self.tree.project_dir(owner, d) / "pubkey.gpg" for d in (dirname, project)}
        if all(path.is_file() for path in pubkeys):
            # An earlier task made the key and published it: keygen is not asked again.
            self.signer.key_published(owner, project)
        else:
            self.signer.ensure_key(owner, project)
            for path in sorted(pubkeys):
                self.signer.write_pubkey(owner, project, path)
        # What the repodata does not wait for runs beside the way to it: the release
        # package (it needs only the key) while the packages are signed, the SBOMs and
        # the provenance while createrepo runs.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="publish") as beside:
            release: Future[bool | None] | None = None
            if not request.is_source and not task.get("uses_devel_repo"):
                release = beside.submit(
                    self._release_package, owner, project, dirname, destination.parent
                )
            try:
                self._sign_and_index(task, request, destination, packages, beside, release)
            except BaseException:
                if (
                    release is not None
                    and release.exception() is None
                    and release.result() is not None
                ):
                    self.release_packages.forget(destination.parent)
                raise

    def _sign_and_index(
        self,
        task: dict[str, Any],
        request: BuildRequest,
        destination: Path,
        packages: list[Path],
        beside: ThreadPoolExecutor,
        release: Future[bool | None] | None,
    ) -> None:
        owner, project = str(task["project_owner"]), str(task["project_name"])
        self.signer.sign(owner, project, packages)
        log.info("signed %s", ", ".join(p.name for p in packages))
        self._stage("signed", logged=True)
        if request.is_source:
            return
        described = beside.submit(self._describe, task, destination) if self.settings.sbom else None
        if task.get("uses_devel_repo"):
            # The project publishes by hand: its builds go into the devel repo only.
            chroot_url = self.tree.url_of(destination.parent, self.settings.results_url)
            self.createrepo.update(
                destination.parent, [destination.name], devel_baseurl=chroot_url + "/"
            )
            log.info("devel repodata of %s regenerated", destination.parent)
        else:
            add = [destination.name]
            replaced = release.result() if release is not None else None
            if replaced is not None:
                add.append(RELEASE_PACKAGES_DIR)
            # An older release package went: only a full run drops its entry.
            self.createrepo.update(
                destination.parent,
                add,
                full=bool(replaced),
                appstream=bool(task.get("appstream")),
            )
            log.info("repodata of %s regenerated", destination.parent)
        self._stage("published", logged=True)
        if described is not None:
            described.result()

    def _describe(self, task: dict[str, Any], destination: Path) -> None:
        """The SBOMs and the signed provenance of the chroot's packages (sbom.py)."""
        owner, project = str(task["project_owner"]), str(task["project_name"])
        results = urlsplit(self.settings.results_url)
        facts = BuildFacts(
            build_id=int(task["build_id"]),
            task_id=str(task["task_id"]),
            owner=owner,
            project=project,
            chroot=str(task["chroot"]),
            package=_package_of(task, destination),
            results_url=self.tree.url_of(destination, self.settings.results_url) + "/",
            builder_id=f"{results.scheme}://{results.netloc}/copr-backend/"
            f"{self.settings.builder_pool}",
            started_on=int(self.timings["started"]) if "started" in self.timings else None,
            ended_on=int(time.time()),
            git_repo=task.get("git_repo"),
            git_hash=task.get("git_hash"),
            buildroot=read_json_object(destination / BUILDROOT_FILE),
        )
        written = write_documents(facts, destination)
        provenance = destination / PROVENANCE_FILE
        signature = self.signer.sign_file(owner, project, provenance)
        log.info(
            "described the packages: %s",
            ", ".join([p.name for p in written] + ([signature.name] if signature else [])),
        )

    def _release_package(
        self, owner: str, project: str, dirname: str, chroot_dir: Path
    ) -> bool | None:
        """Refresh the chroot's release package (a project's main dir only): None when
        nothing changed, else whether an older package was replaced.  A failure is
        logged: the build is published without it.
        """
        if not self.settings.release_packages or dirname != project:
            return None
        pubkey = self.tree.project_dir(owner, project) / "pubkey.gpg"
        if not pubkey.is_file():
            return None  # signing is off: there is no key to ship
        try:
            made = self.release_packages.refresh(chroot_dir, owner, project, pubkey)
        except (ReleasePackageError, SignerError) as error:
            log.warning("no release package for %s/%s: %s", owner, project, error)
            return None
        return None if made is None else made[1]

    # --- reporting ---------------------------------------------------------------------------

    def _stage(self, stage: str, *, logged: bool = False) -> None:
        """Note that ``stage`` happened now; the frontend gets it with the next report.

        ``logged`` writes its line at once (the task's ``backend.log`` is open by then).
        """
        self.timings[stage] = round(time.time(), 3)
        if logged:
            _log_stage(stage, self.timings[stage])

    def _entry(self, task: dict[str, Any]) -> dict[str, Any]:
        is_source = "-" not in str(task["task_id"])
        return {
            "id": int(task["build_id"]),
            "task_id": str(task["task_id"]),
            "chroot": SRPM_BUILDS_DIR if is_source else str(task["chroot"]),
        }

    def _report(self, task: dict[str, Any], data: dict[str, Any]) -> None:
        try:
            self.frontend.update_builds([{**self._entry(task), **data}])
        except BackendApiError as error:
            log.warning("task %s: cannot report %s: %s", task["task_id"], data, error)

    def _finish(
        self, task: dict[str, Any], destination: Path | None, outcome: Outcome
    ) -> dict[str, Any]:
        task_id = str(task["task_id"])
        data: dict[str, Any] = {"status": int(outcome.status), "ended_on": int(time.time())}
        if outcome.reason:
            data["fail_reason"] = outcome.reason
        if destination is not None:
            data["result_dir"] = destination.name
            # Counted against the owner's storage quota by the frontend.
            data["result_size"] = directory_size(destination)
            results = _read_results(destination)
            # A failed source build names no package (its name may be the reason).
            if results is not None and ("-" in task_id or outcome.status == StatusEnum.succeeded):
                data["results"] = results
                attestations = _attestations(destination)
                if attestations:
                    results["attestations"] = attestations
            data.update(_read_buildroot(destination))
            if "-" in task_id and outcome.status == StatusEnum.succeeded:
                # What the frontend's rebuilds of dependents match (copr_backend.dependencies).
                data.update(read_dependencies(destination))
            if "-" not in task_id and outcome.status == StatusEnum.succeeded:
                srpms = sorted(destination.glob("*.src.rpm"))
                if srpms:
                    data["srpm_url"] = self.tree.url_of(srpms[0], self.settings.results_url)
                if results and results.get("name"):
                    data["pkg_name"] = results["name"]
        log.info("task %s ended %s %s", task_id, outcome.status.name, outcome.reason)
        if "ended" not in self.timings:  # a task that never got a builder
            self._stage("ended")
        data["timings"] = dict(self.timings)
        try:
            self.frontend.update_builds([{**self._entry(task), **data}])
        except BackendApiError as error:
            # The task stays running in the frontend: the next worker re-attaches and
            # reports again.
            log.error("task %s: cannot send the final state: %s", task_id, error)
            raise
        chroot = self._entry(task)["chroot"]
        self.publisher.publish(BUILD_END, build_message(task, outcome.status, chroot))
        return {"task_id": task_id, "outcome": outcome.status.name, "reason": outcome.reason}


STAGE_LINE = "stage {stage} at {when:.3f}"
"""The ``backend.log`` line of one stage: its name and Unix time, as the API shows them."""


def _log_stage(stage: str, when: Any) -> None:
    if isinstance(when, int | float) and not isinstance(when, bool):
        log.info(STAGE_LINE.format(stage=stage, when=when))


def _builder_fail_reason(destination: Path) -> str | None:
    try:
        with (destination / FAIL_REASON_FILE).open("rb") as file:
            text = file.read(_MAX_REASON).decode(errors="replace").strip()
    except OSError:
        return None
    return text or None


def _attestations(destination: Path) -> dict[str, str]:
    """The SBOMs and provenance files the build chroot has (sbom.py), by kind."""
    found: dict[str, str] = {}
    for kind, pattern in (
        ("spdx", "*.spdx.json"),
        ("cyclonedx", "*.cdx.json"),
        ("provenance", PROVENANCE_FILE),
        ("provenance_signature", f"{PROVENANCE_FILE}.asc"),
    ):
        matches = sorted(destination.glob(pattern))
        if matches:
            found[kind] = matches[0].name
    return found


def _package_of(task: dict[str, Any], destination: Path) -> str:
    """The build's package name: the task's, else the build dir's (``<id>-<package>``)."""
    name = task.get("package_name")
    return str(name) if name else destination.name.partition("-")[2] or "build"


def _read_buildroot(destination: Path) -> dict[str, Any]:
    """What copr-rpmbuild's ``buildroot.json`` says built the packages (RPM tasks only)."""
    data = read_json_object(destination / BUILDROOT_FILE)
    found: dict[str, Any] = {}
    if isinstance(data.get("buildroot"), str):
        found["buildroot"] = data["buildroot"]
    missing = data.get("buildrequires_not_installed")
    if isinstance(missing, list):
        found["buildrequires_not_installed"] = [str(item) for item in missing]
    return found


def _read_results(destination: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((destination / "results.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
