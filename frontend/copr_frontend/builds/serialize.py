"""The JSON of builds and build chroots as API v3 answers it, and where their results are.

Every route that answers with a build (the build, package and upload routes) and the
pages that link to results use these, so a field means the same wherever it appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from copr_common.enums import StatusEnum
from copr_frontend.builds import timings
from copr_frontend.builds.models import Build, BuildChroot, RebuildWave
from copr_frontend.context import settings
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.users.models import User


def repo_url(project: Project, dirname: str) -> str:
    return _repo_url(project.ownername, dirname)


def _repo_url(ownername: str, dirname: str) -> str:
    return f"{settings().results_url}/{ownername}/{dirname}"


BUILD_JSON_LOADS: tuple[LoaderOption, ...] = (
    joinedload(Build.project),
    joinedload(Build.dir),
    joinedload(Build.package),
    joinedload(Build.user),
    selectinload(Build.chroots),
    selectinload(Build.triggered_by).options(joinedload(Build.project), joinedload(Build.package)),
)
"""Loader options for a query of builds to serialize: what :func:`build_to_json` reads,
in one more query (the chroots) rather than several per build."""


def build_to_json(build: Build) -> dict[str, Any]:
    trigger = build.triggered_by
    fields = _BuildFields(
        id=build.id,
        state=build.state,
        ownername=build.project.ownername,
        projectname=build.project.name,
        dirname=build.dir.name,
        package_name=build.package_name,
        pkg_version=build.pkg_version,
        srpm_url=build.srpm_url,
        submitted_on=build.submitted_on,
        started_on=build.started_on,
        ended_on=build.ended_on,
        submitter=build.submitter,
        is_background=build.is_background,
        fail_reason=build.fail_reason,
        timings=build.timings,
        rebuild_wave_id=build.rebuild_wave_id,
        trigger_id=trigger.id if trigger else None,
        trigger_package=trigger.package_name if trigger else None,
        trigger_owner=trigger.project.ownername if trigger else None,
        trigger_projectname=trigger.project.name if trigger else None,
    )
    return _build_json(fields, [(c.name, c.started_on) for c in build.chroots])


class _BuildFields(NamedTuple):
    """What the JSON of a build is made of: read from a loaded :class:`Build`, or as
    the row of :data:`_PAGE_COLUMNS` (the same names).
    """

    id: int
    state: StatusEnum
    ownername: str
    projectname: str
    dirname: str
    package_name: str | None
    pkg_version: str | None
    srpm_url: str | None
    submitted_on: int
    started_on: int | None
    ended_on: int | None
    submitter: str | None
    is_background: bool
    fail_reason: str | None
    timings: dict[str, float]
    rebuild_wave_id: int | None
    trigger_id: int | None
    trigger_package: str | None
    trigger_owner: str | None
    trigger_projectname: str | None


def _build_json(build: Any, chroots: list[tuple[str, int | None]]) -> dict[str, Any]:
    """The JSON of ``build`` (with :class:`_BuildFields`' attributes) and its chroots,
    each as ``(name, started_on)`` in the build's order.
    """
    started = [started_on for _, started_on in chroots if started_on is not None]
    if build.started_on is not None:
        started.append(build.started_on)
    return {
        "id": build.id,
        "state": build.state.label,
        "ownername": build.ownername,
        "projectname": build.projectname,
        "project_dirname": build.dirname,
        "repo_url": _repo_url(build.ownername, build.dirname),
        "source_package": {
            "name": build.package_name,
            "version": build.pkg_version,
            "url": build.srpm_url,
        },
        "submitted_on": build.submitted_on,
        "started_on": min(started) if started else None,
        "ended_on": build.ended_on,
        "submitter": build.submitter,
        "chroots": [name for name, _ in chroots],
        "is_background": build.is_background,
        # Ours, not Copr's: why the source build or the import failed (real clients ignore it).
        "fail_reason": build.fail_reason,
        # Ours as well: when each stage of the build happened (builds.timings).
        "timings": timings.ordered(build.timings, timings.BUILD_STAGES),
        # Ours: the build whose changed Provides queued this one (builds.dependents).
        "triggered_by": _triggered_by(build),
    }


def _triggered_by(build: Any) -> dict[str, Any] | None:
    if build.trigger_id is None or build.rebuild_wave_id is None:
        return None
    return {
        "build_id": build.trigger_id,
        "package_name": build.trigger_package,
        "project": f"{build.trigger_owner}/{build.trigger_projectname}",
        "wave_id": build.rebuild_wave_id,
    }


def wave_to_json(wave: RebuildWave, builds: Sequence[Build]) -> dict[str, Any]:
    """A rebuild wave (:mod:`.dependents`) with its ``builds``: the build that started it
    (in ``project``), the ids of the builds it queued, and the dependency cycles it broke,
    each as ``owner/project/package`` names from the package it was broken at (each
    BuildRequires the next, the last the first).
    """
    return {
        "id": wave.id,
        "project": wave.project.full_name,
        "trigger_build_id": wave.trigger_build_id,
        "created_on": wave.created_on,
        "builds": [b.id for b in builds],
        "cycles": [list(cycle) for cycle in wave.cycles],
    }


_TRIGGER = aliased(Build)
_TRIGGER_PROJECT = aliased(Project)
_TRIGGER_PACKAGE = aliased(Package)


_PAGE_COLUMNS = (
    Build.id,
    Build.state,
    Project.ownername,
    Project.name.label("projectname"),
    ProjectDir.name.label("dirname"),
    func.coalesce(Package.name, Build.pkg_name).label("package_name"),
    Build.pkg_version,
    Build.srpm_url,
    Build.submitted_on,
    Build.started_on,
    Build.ended_on,
    func.coalesce(User.name, Build.submitted_by).label("submitter"),
    Build.is_background,
    Build.fail_reason,
    Build.timings,
    Build.rebuild_wave_id,
    _TRIGGER.id.label("trigger_id"),
    func.coalesce(_TRIGGER_PACKAGE.name, _TRIGGER.pkg_name).label("trigger_package"),
    _TRIGGER_PROJECT.ownername.label("trigger_owner"),
    _TRIGGER_PROJECT.name.label("trigger_projectname"),
)


def builds_to_json(session: Session, build_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The JSON of the builds ``build_ids``, in that order, as :func:`build_to_json`
    writes each: two queries (the builds with their names, then their chroots), whatever
    their number, and only the columns the JSON holds.
    """
    if not build_ids:
        return []
    rows = session.execute(
        select(*_PAGE_COLUMNS)
        .join(Project, Project.id == Build.project_id)
        .join(ProjectDir, ProjectDir.id == Build.dir_id)
        .outerjoin(Package, Package.id == Build.package_id)
        .outerjoin(User, User.id == Build.user_id)
        .outerjoin(_TRIGGER, _TRIGGER.id == Build.triggered_by_id)
        .outerjoin(_TRIGGER_PROJECT, _TRIGGER_PROJECT.id == _TRIGGER.project_id)
        .outerjoin(_TRIGGER_PACKAGE, _TRIGGER_PACKAGE.id == _TRIGGER.package_id)
        .where(Build.id.in_(build_ids))
    ).all()
    chroots: dict[int, list[tuple[str, int | None]]] = {}
    for build_id, name, started_on in session.execute(
        select(BuildChroot.build_id, MockChroot.name, BuildChroot.started_on)
        .join(MockChroot, MockChroot.id == BuildChroot.mock_chroot_id)
        .where(BuildChroot.build_id.in_(build_ids))
        .order_by(BuildChroot.id)
    ):
        chroots.setdefault(build_id, []).append((name, started_on))
    by_id = {row.id: _build_json(row, chroots.get(row.id, [])) for row in rows}
    return [by_id[build_id] for build_id in build_ids if build_id in by_id]


def chroot_result_url(chroot: BuildChroot) -> str | None:
    build = chroot.build
    return task_result_url(
        repo_url(build.project, build.dir.name), chroot.name, build.id, build.package_name,
        chroot.result_dir,
    )  # fmt: skip


def task_result_url(
    repo: str, chroot: str, build_id: int, package_name: str | None, result_dir: str
) -> str | None:
    """Where a task's results are: ``<repo>/<chroot>/<result dir>/`` (the result dir
    defaults to ``<build id, 8 digits>-<package>``), None while neither is known.
    """
    result_dir = result_dir or (f"{build_id:08d}-{package_name}" if package_name else "")
    if not result_dir:
        return None
    return f"{repo}/{chroot}/{result_dir}/"


def build_chroot_to_json(chroot: BuildChroot) -> dict[str, Any]:
    return {
        "name": chroot.name,
        "started_on": chroot.started_on,
        "ended_on": chroot.ended_on,
        "result_url": chroot_result_url(chroot),
        "state": chroot.status.label,
        "fail_reason": chroot.fail_reason,
        # Ours, not Copr's (real clients ignore them): what built it — "mock" or "host" —
        # and the BuildRequires that buildroot did not install.
        "buildroot": chroot.buildroot,
        "buildrequires_not_installed": chroot.buildrequires_not_installed,
        "timings": timings.ordered(chroot.timings, timings.TASK_STAGES),
        # Ours as well: what rpmlint found in the packages (None before it ran).
        "rpmlint": rpmlint_to_json(chroot),
        # And the SBOMs and signed provenance the backend wrote beside the packages.
        "attestations": attestations_to_json(chroot),
    }


ATTESTATION_KINDS = ("spdx", "cyclonedx", "provenance", "provenance_signature")


def attestations_to_json(chroot: BuildChroot) -> dict[str, str] | None:
    """URLs of the build chroot's SBOMs and provenance, from what the backend reported."""
    found = (chroot.results or {}).get("attestations")
    result_url = chroot_result_url(chroot)
    if not isinstance(found, dict) or not result_url:
        return None
    urls = {
        kind: f"{result_url}{name}"
        for kind in ATTESTATION_KINDS
        if isinstance(name := found.get(kind), str)
        and name
        and "/" not in name
        and not name.startswith(".")
    }
    return urls or None


_FINDING_FIELDS = ("package", "level", "check", "detail")


def rpmlint_to_json(chroot: BuildChroot) -> dict[str, Any] | None:
    """The rpmlint entry of the builder's results.json, checked, with its report's URL.

    The builder wrote it: anything not of the expected shape is left out, not passed on.
    """
    lint = (chroot.results or {}).get("rpmlint")
    if not isinstance(lint, dict) or not isinstance(lint.get("ran"), bool):
        return None
    if not lint["ran"]:
        return {"ran": False, "reason": str(lint.get("reason") or "")}
    findings = [
        {key: str(finding[key]) for key in _FINDING_FIELDS}
        for finding in lint.get("findings") or []
        if isinstance(finding, dict)
        and all(isinstance(finding.get(key), str) for key in _FINDING_FIELDS)
        and finding["level"] in ("E", "W")
    ]
    result_url = chroot_result_url(chroot)
    return {
        "ran": True,
        "errors": _count(lint.get("errors")),
        "warnings": _count(lint.get("warnings")),
        "findings": findings,
        "report_url": f"{result_url}rpmlint.txt" if result_url else None,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


_NEVRA = ("name", "epoch", "version", "release", "arch")


def built_packages(chroot: BuildChroot) -> dict[str, Any]:
    """The packages the backend reported, each as its NEVRA fields (and only those)."""
    packages = (chroot.results or {}).get("packages") or []
    return {
        "packages": [
            {key: package[key] for key in _NEVRA if key in package}
            for package in packages
            if isinstance(package, dict) and isinstance(package.get("name"), str)
        ]
    }
