"""Task JSON: what the backend schedules on and what ``copr-rpmbuild`` builds from.

``source_json`` travels as a JSON-encoded string, as in Copr: the builder decodes it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.backend_api.queue import Page, fair_page, queue_query
from copr_frontend.builds import timings
from copr_frontend.builds.builder_tags import builder_tags, combined_tags
from copr_frontend.builds.models import QUEUED_STATES, Build, BuildChroot, sandbox_name
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.build_config import (
    additional_repos,
    chroot_build_config,
    task_config_json,
)
from copr_frontend.projects.logic import project_chroot
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.settings import FrontendSettings, ResourceTagRule

QUEUE_FETCH = 1000
"""Rows the queue reads from the database at a time: the body of ``pending-jobs`` is
written as they come, so its memory does not grow with the queue."""


def pending_jobs(
    session: Session, tag_rules: Sequence[ResourceTagRule] = (), limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """The short JSON of every runnable task, in the order the backend reads them:
    source builds first, then RPM tasks; background ones last in each.

    Two set-based queries of just the columns the JSON holds, each read
    :data:`QUEUE_FETCH` rows at a time (a server-side cursor on PostgreSQL).  With
    ``limit``, the page's tasks are picked first (:func:`queue.fair_page`) and each task
    carries the ``priority`` the backend schedules it by; a kind of task the page has
    none of is not queried.
    """
    page = fair_page(session, limit) if limit is not None else None
    if page is None or page[0]:
        yield from _source_tasks(session, page)
    if page is None or page[1]:
        yield from _rpm_tasks(session, tag_rules, page)


# The queue's statements are made once each, the page's ids a parameter: building them
# costs more Python than running them.


@functools.cache
def _source_query(paged: bool) -> Select[Any]:
    query = (
        queue_query(Build.source_type, Build.source_json["chroot"].label("custom_chroot"))
        .where(Build.source_status.in_(QUEUED_STATES))
        .order_by(Build.is_background, Build.id)
        .execution_options(yield_per=QUEUE_FETCH)
    )
    return query.where(Build.id.in_(bindparam("ids", expanding=True))) if paged else query


def _source_tasks(session: Session, page: Page | None) -> Iterator[dict[str, Any]]:
    ids = {} if page is None else {"ids": list(page[0])}
    # Each result closed as soon as it is left, also half-read (the reader went away).
    with session.execute(_source_query(page is not None), ids) as rows:
        for row in rows:
            chroot = _srpm_chroot_of(row.source_type, row.custom_chroot)
            task = _short_task(str(row.build_id), row, chroot)
            if page is not None:
                task["priority"] = page[0][row.build_id]
            yield task


@functools.cache
def _rpm_query(paged: bool) -> Select[Any]:
    query = (
        queue_query(
            MockChroot.name.label("chroot"),
            BuildChroot.id.label("chroot_row_id"),
            MockChroot.tags,
            ProjectChroot.builder_tags.label("chroot_tags"),
            Package.builder_tags.label("package_tags"),
            Build.memory_reqs,
            Build.timeout,
            chroots=True,
        )
        # The builder tags of the project's chroot and of the package (builds.builder_tags).
        .outerjoin(
            ProjectChroot,
            and_(
                ProjectChroot.project_id == Build.project_id,
                ProjectChroot.mock_chroot_id == BuildChroot.mock_chroot_id,
                ProjectChroot.deleted.is_(False),
            ),
        )
        .outerjoin(Package, Package.id == Build.package_id)
        .where(BuildChroot.status.in_(QUEUED_STATES))
        .order_by(Build.is_background, Build.id, BuildChroot.id)
        .execution_options(yield_per=QUEUE_FETCH)
    )
    return query.where(BuildChroot.id.in_(bindparam("ids", expanding=True))) if paged else query


def _rpm_tasks(
    session: Session, tag_rules: Sequence[ResourceTagRule], page: Page | None
) -> Iterator[dict[str, Any]]:
    ids = {} if page is None else {"ids": list(page[1])}
    with session.execute(_rpm_query(page is not None), ids) as rows:
        for row in rows:
            task = _short_task(f"{row.build_id}-{row.chroot}", row, row.chroot)
            task["tags"] = combined_tags(
                row.tags,
                row.chroot_tags,
                row.package_tags,
                tag_rules,
                row.memory_reqs,
                row.timeout,
            )
            if page is not None:
                task["priority"] = page[1][row.chroot_row_id]
            yield task


def _queued_sandbox(row: Row[Any]) -> str:
    submitter = row.username if row.username is not None else row.submitted_by
    return sandbox_name(row.ownername, row.dirname, submitter)


def _short_task(task_id: str, row: Row[Any], chroot: str | None) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "build_id": row.build_id,
        "project_owner": row.ownername,
        "sandbox": _queued_sandbox(row),
        "background": row.is_background,
        "chroot": chroot,
    }


def importing_builds(session: Session) -> list[Build]:
    """Builds whose SRPM dist-git is to import, with all :func:`import_task` reads."""
    query = (
        select(Build)
        .where(Build.canceled.is_(False), Build.source_status == StatusEnum.importing)
        .options(
            joinedload(Build.project),
            joinedload(Build.dir),
            joinedload(Build.package),
            joinedload(Build.user),
            selectinload(Build.chroots),
        )
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
    return _srpm_chroot_of(build.source_type, build.source_json.get("chroot"))


def _srpm_chroot_of(source_type: BuildSourceEnum, chroot: Any) -> str | None:
    # A custom-script source runs in a chroot the user chose; others in a default one.
    if source_type == BuildSourceEnum.custom:
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
            # The stages before this task (submit, source build, import): the backend
            # writes them into the task's backend.log, so one log tells the whole story.
            "build_timings": timings.ordered(build.timings, timings.BUILD_STAGES),
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
