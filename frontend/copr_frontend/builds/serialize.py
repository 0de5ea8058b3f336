"""The JSON of builds and build chroots as API v3 answers it, and where their results are.

Every route that answers with a build (the build, package and upload routes) and the
pages that link to results use these, so a field means the same wherever it appears.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from copr_frontend.builds import timings
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.context import settings
from copr_frontend.projects.models import Project


def repo_url(project: Project, dirname: str) -> str:
    return f"{settings().results_url}/{project.ownername}/{dirname}"


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
    started = [c.started_on for c in build.chroots if c.started_on is not None]
    if build.started_on is not None:
        started.append(build.started_on)
    return {
        "id": build.id,
        "state": build.state.label,
        "ownername": build.project.ownername,
        "projectname": build.project.name,
        "project_dirname": build.dir.name,
        "repo_url": repo_url(build.project, build.dir.name),
        "source_package": {
            "name": build.package_name,
            "version": build.pkg_version,
            "url": build.srpm_url,
        },
        "submitted_on": build.submitted_on,
        "started_on": min(started) if started else None,
        "ended_on": build.ended_on,
        "submitter": build.submitter,
        "chroots": [c.name for c in build.chroots],
        "is_background": build.is_background,
        # Ours, not Copr's: why the source build or the import failed (real clients ignore it).
        "fail_reason": build.fail_reason,
        # Ours as well: when each stage of the build happened (builds.timings).
        "timings": timings.ordered(build.timings, timings.BUILD_STAGES),
        # Ours: the build whose changed Provides queued this one (builds.dependents).
        "triggered_by": triggered_by(build),
    }


def triggered_by(build: Build) -> dict[str, Any] | None:
    trigger = build.triggered_by
    if trigger is None or build.rebuild_wave_id is None:
        return None
    return {
        "build_id": trigger.id,
        "package_name": trigger.package_name,
        "project": trigger.project.full_name,
        "wave_id": build.rebuild_wave_id,
    }


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
