"""Task JSON: what the backend schedules on and what ``copr-rpmbuild`` builds from.

``source_json`` travels as a JSON-encoded string, as in Copr: the builder decodes it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased, object_session

from copr_common.enums import FINISHED_STATES, BuildSourceEnum, StatusEnum
from copr_frontend.builds.builder_tags import builder_tags
from copr_frontend.builds.models import Batch, Build, BuildChroot
from copr_frontend.projects.build_config import (
    additional_repos,
    chroot_build_config,
    task_config_json,
)
from copr_frontend.projects.logic import project_chroot
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.settings import FrontendSettings

TODO_STATES = [StatusEnum.pending, StatusEnum.starting, StatusEnum.running]
"""Tasks the backend must (re)process: a backend restart may leave starting/running ones."""


def _not_blocked() -> Any:
    """SQL condition: the build's batch is not waiting for an unfinished batch."""
    blocker = aliased(Build)
    unfinished_blocker = exists().where(
        blocker.batch_id == Batch.blocked_by_id,
        blocker.state.not_in(list(FINISHED_STATES)),
    )
    return or_(Build.batch_id.is_(None), Batch.blocked_by_id.is_(None), ~unfinished_blocker)


def pending_srpm_builds(session: Session) -> list[Build]:
    query = (
        select(Build)
        .outerjoin(Batch, Batch.id == Build.batch_id)
        .where(Build.canceled.is_(False), Build.source_status.in_(TODO_STATES), _not_blocked())
        .order_by(Build.is_background, Build.id)
    )
    return list(session.scalars(query))


def pending_build_chroots(session: Session) -> list[BuildChroot]:
    query = (
        select(BuildChroot)
        .join(Build, Build.id == BuildChroot.build_id)
        .outerjoin(Batch, Batch.id == Build.batch_id)
        .where(
            and_(
                Build.canceled.is_(False),
                BuildChroot.status.in_(TODO_STATES),
                _not_blocked(),
            )
        )
        .order_by(Build.is_background, Build.id, BuildChroot.id)
    )
    return list(session.scalars(query))


def importing_builds(session: Session) -> list[Build]:
    query = (
        select(Build)
        .where(Build.canceled.is_(False), Build.source_status == StatusEnum.importing)
        .order_by(Build.id)
    )
    return list(session.scalars(query))


def srpm_task_short(build: Build) -> dict[str, Any]:
    return {
        "task_id": build.task_id,
        "build_id": build.id,
        "project_owner": build.project.ownername,
        "sandbox": build.sandbox,
        "background": build.is_background,
        "chroot": _srpm_chroot(build),
    }


def _srpm_chroot(build: Build) -> str | None:
    # A custom-script source runs in a chroot the user chose; others in a default one.
    if build.source_type == BuildSourceEnum.custom:
        chroot = build.source_json.get("chroot")
        return str(chroot) if chroot else None
    return None


def build_task_short(chroot: BuildChroot, settings: FrontendSettings) -> dict[str, Any]:
    build = chroot.build
    return {
        "task_id": chroot.task_id,
        "build_id": build.id,
        "project_owner": build.project.ownername,
        "sandbox": build.sandbox,
        "background": build.is_background,
        "chroot": chroot.name,
        "tags": builder_tags(chroot, settings.builder_resource_tags),
    }


def build_task(chroot: BuildChroot, settings: FrontendSettings) -> dict[str, Any] | None:
    """The full RPM task a builder runs; None if the chroot is no longer in the project."""
    build = chroot.build
    project = build.project
    copr_chroot: ProjectChroot | None = project_chroot(project, chroot.name)
    if copr_chroot is None:
        return None
    package_name = build.package_name
    config = chroot_build_config(
        object_session(build), project, copr_chroot, chroot.name, settings, build=build
    )
    task = build_task_short(chroot, settings)
    task.update(
        {
            "project_name": project.name,
            "project_dirname": build.dir.name,
            "submitter": build.submitter,
            "git_repo": (
                f"{settings.dist_git_url}/{project.ownername}/{build.dir.name}/{package_name}.git"
                if package_name
                else None
            ),
            "git_hash": chroot.git_hash,
            "package_name": package_name,
            "package_version": build.pkg_version,
            "uses_devel_repo": project.devel_mode,
            "fedora_review": project.fedora_review,
            "appstream": build.appstream,
            "repo_priority": project.repo_priority,
            "require_real_buildroot": project.require_real_buildroot,
            "rpmlint_fail_on_errors": project.rpmlint_fail_on_errors,
        }
    )
    if build.source_type == BuildSourceEnum.rpm_upload:
        # Nothing to clone: the builder downloads the uploaded RPM and checks it.
        task["git_repo"] = task["git_hash"] = None
        base = f"{settings.public_url}/tmp/{build.source_json.get('tmp')}"  # noqa: S108 - a URL
        names = build.source_json.get("files") or []
        task["prebuilt_rpm_urls"] = [f"{base}/{name}" for name in names]
    task.update(task_config_json(config))
    return task


def srpm_task(build: Build, settings: FrontendSettings) -> dict[str, Any]:
    """The full source (SRPM) task a builder runs."""
    project = build.project
    chroot = _srpm_chroot(build)
    repo_urls = build.source_json.get("repos") or []
    if isinstance(repo_urls, str):
        repo_urls = repo_urls.split()
    task = srpm_task_short(build)
    task.update(
        {
            "source_type": int(build.source_type),
            "source_json": json.dumps(build.source_json),
            "submitter": build.submitter,
            "project_name": project.name,
            "project_dirname": build.dir.name,
            "package_name": build.package_name,
            "appstream": build.appstream,
            "timeout": build.timeout,
            "enable_net": build.enable_net,
            "repos": additional_repos(
                object_session(build), list(repo_urls), chroot or "", settings
            ),
            # The distros the builder evaluates ExclusiveArch/ExcludeArch for, as Copr.
            "distributions_in_project": sorted(
                {c.mock_chroot.distro for c in project.active_chroots}
            ),
            "distributions_in_build": sorted({c.mock_chroot.distro for c in build.chroots}),
        }
    )
    return task


def import_task(build: Build) -> dict[str, Any]:
    """What dist-git needs to import a build's SRPM."""
    branches = sorted(
        {c.mock_chroot.distgit_branch for c in build.chroots if c.status == StatusEnum.waiting}
    )
    return {
        "build_id": build.id,
        "owner": build.project.ownername,
        "project": build.dir.name,
        "branches": branches,
        "pkg_name": build.package_name,
        "srpm_url": build.srpm_url,
        "sandbox": build.sandbox,
        "background": build.is_background,
    }
