"""The build state machine as the backend and dist-git drive it.  Never commits.

Reports may come twice or out of order (a worker retries, a late "running" arrives
after "succeeded"), so every transition only moves a task forward: a finished task
stays finished, a running one never falls back to starting.  Going back to ``pending``
is an explicit reschedule (:func:`reschedule`), never a side effect of a report.

One exception: "succeeded" wins over "failed".  A success is only ever reported by the
worker that built, signed and published the task, so a failure before it was false (a
worker that lost track of the build reported it); the build did succeed.  A source
build failed by its import is not reopened this way: that failure is dist-git's word.

Source build (task id ``<build_id>``): pending → starting → running → on success
``importing`` (chroots ``waiting``; chroots whose arch the SRPM excludes ``skipped``) →
dist-git import → ``succeeded`` with chroots ``pending`` and their git hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import FINISHED_STATES, FailTypeEnum, StatusEnum
from copr_common.names import SRPM_BUILDS_DIR
from copr_frontend.builds import dependents, timings
from copr_frontend.builds.models import Build, BuildChroot, CancelRequest
from copr_frontend.builds.states import refresh_state, set_chroot_status
from copr_frontend.db import now
from copr_frontend.packages.models import Package
from copr_frontend.settings import FrontendSettings
from copr_frontend.validation import to_timestamp

log = logging.getLogger(__name__)

# How far along a task is; a report that would move a task backwards is ignored.
_SOURCE_RANK = {StatusEnum.pending: 0, StatusEnum.starting: 1, StatusEnum.running: 2}
_CHROOT_RANK = {
    StatusEnum.waiting: 0,
    StatusEnum.importing: 0,
    StatusEnum.pending: 1,
    StatusEnum.starting: 2,
    StatusEnum.running: 3,
}
_FINAL_RANK = 10
_RUNNING = {StatusEnum.starting, StatusEnum.running}


class UpdateError(ValueError):
    """A report that is malformed (not merely stale); the message says what is wrong."""


def _rank(status: StatusEnum, ranks: Mapping[StatusEnum, int]) -> int:
    return _FINAL_RANK if status in FINISHED_STATES else ranks.get(status, -1)


def parse_status(value: Any) -> StatusEnum:
    try:
        return StatusEnum(int(value))
    except (TypeError, ValueError):
        pass
    try:
        return StatusEnum.from_label(str(value))
    except ValueError:
        raise UpdateError(f"unknown status {value!r}") from None


def is_source_task(build: Build, data: Mapping[str, Any]) -> bool:
    if "task_id" in data and data["task_id"] is not None:
        return str(data["task_id"]) == build.task_id
    return data.get("chroot") in (None, SRPM_BUILDS_DIR)


def _assign_package(session: Session, build: Build, name: str) -> None:
    if build.package is not None:
        return
    package = session.scalar(
        select(Package).where(Package.project_id == build.project_id, Package.name == name)
    )
    if package is None:
        package = Package(
            project=build.project,
            name=name,
            source_type=build.source_type,
            source_json=dict(build.source_json),
        )
        session.add(package)
    build.package = package
    build.pkg_name = name


def _skip_reason(chroot: BuildChroot, results: Mapping[str, Any] | None) -> str | None:
    """Why the SRPM's arch tags keep ``chroot`` from being built, or None.

    The tags are evaluated per distro (``architecture_specific_tags``, as Copr's builders
    report them), since a spec may set them under ``%if 0%{?fedora}`` and the like; the
    distro-less top-level tags are the fallback for a distro the builder did not report.
    """
    if not results:
        return None
    per_distro = results.get("architecture_specific_tags")
    tags = per_distro.get(chroot.mock_chroot.distro) if isinstance(per_distro, dict) else None
    if not isinstance(tags, dict):
        tags = results
    arch = chroot.mock_chroot.arch
    exclusive = {str(a) for a in tags.get("exclusivearch") or []}
    # noarch packages may say ExclusiveArch: noarch; they still build everywhere.
    if exclusive and arch not in exclusive and "noarch" not in exclusive:
        return "This chroot was skipped because of ExclusiveArch"
    if arch in {str(a) for a in tags.get("excludearch") or []}:
        return "This chroot was skipped because of ExcludeArch"
    return None


def _record_upstream_url(build: Build, results: object) -> None:
    """Keep the spec's URL tag on the package; builds in pull-request or custom dirs try
    changes out and leave the package as the main dir has it.
    """
    if build.package is None or not build.dir.main or not isinstance(results, dict):
        return
    url = results.get("url")
    build.package.upstream_url = str(url)[:1000] if isinstance(url, str) and url else None


def update_source(session: Session, build: Build, data: Mapping[str, Any]) -> bool:
    """Apply a source-build report; returns whether anything changed."""
    status = parse_status(data["status"]) if data.get("status") is not None else None
    started_on = to_timestamp(data.get("started_on"), "started_on")
    ended_on = to_timestamp(data.get("ended_on"), "ended_on")
    size = _result_size(data)
    reported = _timings(data, _SOURCE_TASK_STAGES)
    if build.canceled:
        return False
    current = build.source_status
    if _false_failure(current, status) and build.fail_type == FailTypeEnum.srpm_build_error:
        log.warning("build %d: success reported after a failure; the build did succeed", build.id)
        _reopen_source(build)
        current = build.source_status
    if current not in _SOURCE_RANK:
        return False  # already importing or finished: a late or repeated report
    if status is None or _rank(status, _SOURCE_RANK) < _SOURCE_RANK[current]:
        return False
    if status == current:
        return False

    for attr in ("srpm_url", "pkg_version"):
        if data.get(attr):
            setattr(build, attr, str(data[attr]))
    if data.get("result_dir") is not None:
        build.result_dir = str(data["result_dir"])
    if size is not None and status in FINISHED_STATES:
        build.source_result_size = size
    results = data.get("results")
    if isinstance(results, dict):
        build.source_results = results
        if not data.get("pkg_version") and results.get("version"):
            epoch = results.get("epoch")
            evr = f"{results['version']}-{results.get('release', '')}".rstrip("-")
            build.pkg_version = f"{epoch}:{evr}" if epoch else evr
    pkg_name = data.get("pkg_name") or (results or {}).get("name")
    if pkg_name:
        _assign_package(session, build, str(pkg_name))

    if status == StatusEnum.succeeded:
        _record_upstream_url(build, results)

    if status in _RUNNING:
        build.source_status = status
        build.started_on = build.started_on or started_on or now()
    elif status == StatusEnum.succeeded:
        build.started_on = build.started_on or started_on
        for chroot in build.chroots:
            if chroot.status in FINISHED_STATES:
                continue
            skip = _skip_reason(chroot, results if isinstance(results, dict) else None)
            if skip is not None:
                chroot.status = StatusEnum.skipped
                chroot.ended_on = ended_on or now()
                log.info("build %s, %s: %s", build.id, chroot.name, skip)
            else:
                chroot.status = StatusEnum.waiting
        to_import = [c for c in build.chroots if c.status == StatusEnum.waiting]
        build.source_status = StatusEnum.importing if to_import else StatusEnum.succeeded
    elif status in FINISHED_STATES:
        build.source_status = status
        if status == StatusEnum.failed:
            build.fail_type = FailTypeEnum.srpm_build_error
        build.fail_reason = _reason(data.get("fail_reason"))
        for chroot in build.chroots:
            if chroot.status not in FINISHED_STATES:
                chroot.status = status
                chroot.ended_on = ended_on or now()
    else:
        build.source_status = status
    if ended_on and build.source_status in FINISHED_STATES:
        build.ended_on = ended_on
    if reported:
        build.timings = timings.merged(build.timings, timings.source_stages(reported))
    refresh_state(build)
    return True


def update_chroot(build: Build, data: Mapping[str, Any]) -> bool:
    """Apply one chroot task's report; returns whether anything changed."""
    name = data.get("chroot")
    chroot = build.chroot(str(name)) if name else None
    if chroot is None:
        raise UpdateError(f"build {build.id} has no chroot {name!r}")
    status = parse_status(data["status"]) if data.get("status") is not None else None
    started_on = to_timestamp(data.get("started_on"), "started_on")
    ended_on = to_timestamp(data.get("ended_on"), "ended_on")
    buildroot, not_installed = _buildroot(data)
    size = _result_size(data)
    reported = _timings(data, timings.TASK_STAGES)
    if build.canceled or status is None:
        return False
    late_success = _false_failure(chroot.status, status)
    if late_success:
        log.warning(
            "build %d chroot %s: success reported after a failure; the build did succeed",
            build.id,
            chroot.name,
        )
        chroot.fail_reason = None
        build.ended_on = None  # the build ends when this chroot really ended
    elif chroot.status in FINISHED_STATES or _rank(status, _CHROOT_RANK) <= _rank(
        chroot.status, _CHROOT_RANK
    ):
        return False
    if data.get("result_dir") is not None:
        chroot.result_dir = str(data["result_dir"])
    if status in FINISHED_STATES and isinstance(data.get("results"), dict):
        chroot.results = data["results"]
    if buildroot is not None:
        chroot.buildroot = buildroot
    if not_installed is not None:
        chroot.buildrequires_not_installed = not_installed
    if status in _RUNNING:
        chroot.started_on = chroot.started_on or started_on or now()
        build.started_on = build.started_on or chroot.started_on
    if status in FINISHED_STATES:
        chroot.started_on = chroot.started_on or started_on
        chroot.ended_on = ended_on or now()
        if size is not None:
            chroot.result_size = size
        if status != StatusEnum.succeeded:
            chroot.fail_reason = _reason(data.get("fail_reason"))
    if reported:
        chroot.timings = timings.merged(chroot.timings, reported)
    chroot.status = status
    refresh_state(build)
    return True


_SOURCE_TASK_STAGES = tuple(stage for stage in timings.TASK_STAGES if stage != "published")


def _timings(data: Mapping[str, Any], stages: tuple[str, ...]) -> dict[str, float]:
    """A report's ``timings``, checked (a malformed one is an :class:`UpdateError`)."""
    try:
        return timings.parse(data.get("timings"), stages)
    except timings.TimingsError as error:
        raise UpdateError(str(error)) from None


def _false_failure(current: StatusEnum, reported: StatusEnum | None) -> bool:
    """A success reported for a task that is marked failed (see the module docstring)."""
    return current == StatusEnum.failed and reported == StatusEnum.succeeded


def _reopen_source(build: Build) -> None:
    """Undo a source build's false failure: it and the chroots it failed run again."""
    build.source_status = StatusEnum.running
    build.fail_type = FailTypeEnum.unset
    build.fail_reason = None
    build.ended_on = None
    for chroot in build.chroots:
        if chroot.status == StatusEnum.failed:
            chroot.status = StatusEnum.waiting
            chroot.ended_on = None


BUILDROOTS = ("mock", "host")
_MAX_REQUIRES = 1000


def _buildroot(data: Mapping[str, Any]) -> tuple[str | None, list[str] | None]:
    """The ``buildroot`` and ``buildrequires_not_installed`` of a chroot report, checked."""
    buildroot = data.get("buildroot")
    if buildroot is not None and buildroot not in BUILDROOTS:
        raise UpdateError(f"'buildroot' must be one of {', '.join(BUILDROOTS)}, got {buildroot!r}")
    missing = data.get("buildrequires_not_installed")
    if missing is not None and (
        not isinstance(missing, list)
        or len(missing) > _MAX_REQUIRES
        or not all(isinstance(item, str) and 0 < len(item) <= 500 for item in missing)
    ):
        raise UpdateError(
            f"'buildrequires_not_installed' must be a list of at most {_MAX_REQUIRES} "
            "BuildRequires"
        )
    return buildroot, missing


MAX_RESULT_SIZE = 2**62


def _result_size(data: Mapping[str, Any]) -> int | None:
    """The ``result_size`` of a final report (bytes of the task's result dir), checked."""
    size = data.get("result_size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_RESULT_SIZE:
        raise UpdateError(f"'result_size' must be a number of bytes (0 to 2**62), got {size!r}")
    return size


def apply_update(
    session: Session, build: Build, data: Mapping[str, Any], settings: FrontendSettings
) -> bool:
    """Apply one report; a chroot's ``provides``/``requires`` are kept, and a build it
    finishes whose provides changed queues its dependents (:mod:`.dependents`).
    """
    if is_source_task(build, data):
        return update_source(session, build, data)
    try:
        deps = dependents.reported(data)
    except dependents.DependencyReportError as error:
        raise UpdateError(str(error)) from None
    was_finished = build.state in FINISHED_STATES
    changed = update_chroot(build, data)
    chroot = build.chroot(str(data.get("chroot")))
    if (
        changed
        and deps is not None
        and chroot is not None
        and chroot.status == StatusEnum.succeeded
    ):
        dependents.record(session, build, chroot, *deps)
    if changed and not was_finished and build.state in FINISHED_STATES:
        dependents.build_finished(session, build, settings)
    return changed


def _reason(value: Any) -> str | None:
    """A failure reason as reported, bounded so a runaway message cannot fill the database."""
    if value is None or value == "":
        return None
    return str(value)[:_MAX_REASON]


_MAX_REASON = 4000


def import_completed(
    build: Build,
    branch_commits: Mapping[str, str],
    pkg_version: str | None = None,
    error: str | None = None,
    import_timings: Mapping[str, float] | None = None,
) -> bool:
    """dist-git imported the SRPM into ``branch_commits`` (branch → commit).

    Chroots whose branch got a commit become ``pending`` with that git hash; the other
    waiting chroots failed to import.  Returns False for a build that is not importing
    (a repeated or late report).  ``import_timings`` are checked ones
    (:func:`copr_frontend.builds.timings.parse` of the import stages).
    """
    if build.source_status != StatusEnum.importing or build.canceled:
        return False
    if import_timings:
        build.timings = timings.merged(build.timings, import_timings)
    if pkg_version and not build.pkg_version:
        build.pkg_version = pkg_version
    imported = 0
    for chroot in build.chroots:
        if chroot.status != StatusEnum.waiting:
            continue
        git_hash = branch_commits.get(chroot.mock_chroot.distgit_branch)
        if git_hash:
            chroot.git_hash = str(git_hash)
            chroot.status = StatusEnum.pending
            imported += 1
            if build.package is not None and build.dir.main:
                build.package.spec_commit = str(git_hash)
        else:
            chroot.status = StatusEnum.failed
            chroot.ended_on = now()
    if imported:
        build.source_status = StatusEnum.succeeded
    else:
        build.source_status = StatusEnum.failed
        build.fail_type = FailTypeEnum.srpm_import_failed
        build.fail_reason = _reason(error) or "dist-git imported the SRPM into none of its branches"
    refresh_state(build)
    return True


def _request_cancel(session: Session, task_id: str) -> None:
    if session.scalar(select(CancelRequest).where(CancelRequest.what == task_id)) is None:
        session.add(CancelRequest(what=task_id))


def cancel_build(session: Session, build: Build) -> bool:
    """Cancel every unfinished task of ``build``; running ones get a cancel request.

    Returns False when the build has already finished (nothing to cancel).
    """
    if build.canceled or build.state in FINISHED_STATES:
        return False
    build.canceled = True
    if build.source_status in _RUNNING:
        _request_cancel(session, build.task_id)
    if build.source_status not in FINISHED_STATES:
        build.source_status = StatusEnum.canceled
    for chroot in build.chroots:
        if chroot.status in _RUNNING:
            _request_cancel(session, chroot.task_id)
        if chroot.status not in FINISHED_STATES:
            chroot.status = StatusEnum.canceled
            chroot.ended_on = now()
    refresh_state(build)
    return True


def find_task(
    session: Session, task_id: str, *, lock: bool = False
) -> tuple[Build, BuildChroot | None] | None:
    """The build (and chroot) of ``<build_id>`` or ``<build_id>-<chroot>``; None if gone.

    ``lock`` takes the build's row lock, for a caller about to change its state.
    """
    build_part, _, chroot_name = task_id.partition("-")
    if not build_part.isdigit():
        raise UpdateError(f"invalid task id {task_id!r}: expected <build_id>[-<chroot>]")
    query = select(Build).where(Build.id == int(build_part))
    build = session.scalar(query.with_for_update() if lock else query)
    if build is None:
        return None
    if not chroot_name:
        return build, None
    chroot = build.chroot(chroot_name)
    if chroot is None:
        return None
    return build, chroot


def task_canceled(session: Session, task_id: str, was_running: bool) -> None:
    """The backend stopped (or never had) ``task_id``: drop its cancel request.

    A task the backend was not running is marked canceled here, since no final report
    will come for it.
    """
    request = session.scalar(select(CancelRequest).where(CancelRequest.what == task_id))
    if request is not None:
        session.delete(request)
    if was_running:
        return
    found = find_task(session, task_id, lock=True)
    if found is None:
        return
    build, chroot = found
    if chroot is None:
        if build.source_status not in FINISHED_STATES:
            build.source_status = StatusEnum.canceled
            refresh_state(build)
    elif chroot.status not in FINISHED_STATES:
        set_chroot_status(chroot, StatusEnum.canceled)


def reschedule(build: Build, task_id: str, chroot_name: str | None) -> tuple[str, str]:
    """Put a starting/running task back to pending (its builder died); (result, message)."""
    if build.canceled:
        return "noop", "build was canceled, ignoring"
    if task_id == build.task_id or chroot_name in (None, SRPM_BUILDS_DIR):
        if build.source_status in _RUNNING:
            build.source_status = StatusEnum.pending
            refresh_state(build)
            return "done", f"source build {build.id} rescheduled"
        return "noop", "source build is not starting or running, ignoring"
    chroot = build.chroot(chroot_name or "")
    if chroot is not None and chroot.status in _RUNNING:
        set_chroot_status(chroot, StatusEnum.pending)
        return "done", f"build {build.id} chroot {chroot.name} rescheduled"
    return "noop", "build chroot is not starting or running, ignoring"


def starting(build: Build, data: Mapping[str, Any]) -> bool:
    """A worker is about to start a task of ``build``: may it?  Marks it starting."""
    if build.canceled:
        return False
    if is_source_task(build, {k: v for k, v in data.items() if k != "status"}):
        if build.source_status not in (StatusEnum.pending, *_RUNNING):
            return False
        if build.source_status == StatusEnum.pending:
            build.source_status = StatusEnum.starting
            build.started_on = build.started_on or now()
            refresh_state(build)
        return True
    chroot = build.chroot(str(data.get("chroot")))
    if chroot is None or chroot.status not in (StatusEnum.pending, *_RUNNING):
        return False
    if chroot.status == StatusEnum.pending:
        set_chroot_status(chroot, StatusEnum.starting)
        build.started_on = build.started_on or chroot.started_on
    return True
