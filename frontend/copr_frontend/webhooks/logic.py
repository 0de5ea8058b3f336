"""The one place webhook events become builds, and pull-request dirs go away.  Never
commits.

Builds reuse the package's SCM source with the event's commit (or tag) as committish;
pull requests build the request's own repository at its head commit into
``<project>:pr:<number>``.  Chroots, timeout and denylist are the package's, as for a
package rebuild; webhook builds run in the background, as in Copr.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copr_common.enums import ActionTypeEnum, BuildSourceEnum
from copr_common.names import ProjectDirName
from copr_frontend.actions.logic import queue_action
from copr_frontend.api.errors import ApiError
from copr_frontend.builds.models import Build
from copr_frontend.builds.options import parse_build_request
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.db import now
from copr_frontend.packages.models import Package
from copr_frontend.projects.logic import get_or_create_dir, get_project_dir
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.settings import FrontendSettings
from copr_frontend.webhooks.events import (
    Event,
    Ignored,
    PullRequest,
    PullRequestAction,
    Push,
    Tag,
)
from copr_frontend.webhooks.matching import (
    Match,
    match_pull_request,
    match_push,
    match_tag,
    repository_packages,
)
from copr_frontend.webhooks.models import ForgeSecret

HOOK_PAYLOAD = "hook_payload"
"""The file a custom script finds the custom webhook's payload in (Copr's name)."""


@dataclass
class Outcome:
    """What a webhook did: the builds it queued and a line the forge shows."""

    builds: list[Build] = field(default_factory=list)
    message: str = ""


def submitter(forge: str, sender: str | None) -> str:
    """Who a webhook build shows as submitted by: ``<forge>:<sender>``."""
    return f"{forge}:{sender}"[:200] if sender else f"{forge} webhook"


def queue_package_build(
    session: Session,
    settings: FrontendSettings,
    package: Package,
    *,
    submitted_by: str,
    project_dir: ProjectDir | None = None,
    source_changes: dict[str, Any] | None = None,
) -> Build:
    """A background build of ``package`` from its own source with ``source_changes``.

    Raises :class:`ApiError` when the package cannot build (e.g. its denylist leaves no
    chroot).
    """
    project = package.project
    data: dict[str, Any] = {"background": True}
    if project_dir is not None:
        data["project_dirname"] = project_dir.name
    if package.timeout is not None:
        data["timeout"] = package.timeout
    request = parse_build_request(
        session, project, data, settings, denylist=package.chroot_denylist
    )
    source = (package.source_type, {**package.source_json, **(source_changes or {})})
    return request.submit(session, None, source, package=package, submitted_by=submitted_by)


def _build_all(
    session: Session,
    settings: FrontendSettings,
    match: Match,
    submitted_by: str,
    changes: dict[str, Any],
    project_dir: ProjectDir | None = None,
) -> Outcome:
    outcome = Outcome()
    reasons = list(match.reasons)
    for package in match.packages:
        try:
            build = queue_package_build(
                session,
                settings,
                package,
                submitted_by=submitted_by,
                project_dir=project_dir,
                source_changes=changes,
            )
        except ApiError as error:
            reasons.append(f"package {package.name}: {error.message}")
            continue
        outcome.builds.append(build)
    built = ", ".join(f"{b.package_name} ({b.id})" for b in outcome.builds)
    outcome.message = "; ".join(([f"building {built}"] if built else []) + reasons)
    return outcome


def handle_event(
    session: Session,
    settings: FrontendSettings,
    project: Project,
    forge: str,
    event: Event,
    url_package: str | None = None,
) -> Outcome:
    """Queue what ``event`` from ``forge`` asks of ``project``."""
    if isinstance(event, Ignored):
        return Outcome(message=event.reason)
    by = submitter(forge, event.sender)
    if isinstance(event, Push):
        match = match_push(session, project, event)
        return _build_all(session, settings, match, by, {"committish": event.commit})
    if isinstance(event, Tag):
        match = match_tag(session, project, event, url_package)
        return _build_all(session, settings, match, by, {"committish": event.name})
    return _pull_request(session, settings, project, event, by)


def pull_request_dirname(project: Project, number: int) -> str:
    return str(ProjectDirName.pull_request(project.name, number))


def _pull_request(
    session: Session, settings: FrontendSettings, project: Project, event: PullRequest, by: str
) -> Outcome:
    dirname = pull_request_dirname(project, event.number)
    if event.action == PullRequestAction.CLOSED:
        found = repository_packages(session, project, event.clone_url, need_chroots=False)
        if not found.packages:
            return Outcome(message=found.explain())
        project_dir = get_project_dir(session, project, dirname)
        if project_dir is None:
            return Outcome(message=f"{dirname} does not exist: nothing to remove")
        remove_dir(session, project_dir)
        return Outcome(message=f"{dirname} and its results are removed")
    match = match_pull_request(session, project, event)
    if not match.packages:
        return Outcome(message=match.explain())
    # Forges announce more than new commits as updates (a new title, labels): a package
    # already built at the head commit in this dir is not built again.
    existing = get_project_dir(session, project, dirname)
    if existing is not None:
        built = set(
            session.scalars(
                select(Build.package_id).where(
                    Build.dir_id == existing.id,
                    Build.canceled.is_(False),
                    Build.source_json["committish"].as_string() == event.head_commit,
                )
            )
        )
        for package in [p for p in match.packages if p.id in built]:
            match.packages.remove(package)
            match.reasons.append(f"package {package.name} is already built at {event.head_commit}")
        if not match.packages:
            return Outcome(message=match.explain())
    project_dir = get_or_create_dir(session, project, dirname)
    changes = {"clone_url": event.head_clone_url, "committish": event.head_commit}
    return _build_all(session, settings, match, by, changes, project_dir)


def remove_dir(session: Session, project_dir: ProjectDir) -> None:
    """Remove a pull-request (or custom) dir: cancel and delete its builds, drop the dir,
    and queue the removal of its results (a ``remove_dirs`` action)."""
    if project_dir.main:
        raise ValueError(f"{project_dir.name} is the project itself, not a dir to remove")
    project = project_dir.project
    builds = list(session.scalars(select(Build).where(Build.dir_id == project_dir.id)))
    for build in builds:
        if not build.state.is_finished:
            cancel_build(session, build)
        session.delete(build)
    queue_action(
        session,
        ActionTypeEnum.remove_dirs,
        "copr",
        project.id,
        {
            "ownername": project.ownername,
            "projectname": project.name,
            "project_dirnames": [project_dir.name],
        },
        project=project,
    )
    session.delete(project_dir)
    session.flush()


def stale_pull_request_dirs(session: Session, days: int, at: int | None = None) -> list[ProjectDir]:
    """Pull-request dirs whose newest build was submitted more than ``days`` ago (or
    that have no build)."""
    cutoff = (now() if at is None else at) - days * 24 * 3600
    latest = (
        select(Build.dir_id, func.max(Build.submitted_on).label("latest"))
        .group_by(Build.dir_id)
        .subquery()
    )
    query = (
        select(ProjectDir)
        .outerjoin(latest, latest.c.dir_id == ProjectDir.id)
        .where(
            ProjectDir.main.is_(False),
            ProjectDir.name.like("%:pr:%"),
            (latest.c.latest.is_(None)) | (latest.c.latest < cutoff),
        )
        .order_by(ProjectDir.id)
    )
    return list(session.scalars(query))


def queue_custom_build(
    session: Session,
    settings: FrontendSettings,
    package: Package,
    payload: bytes,
    project_dir: ProjectDir | None = None,
) -> Build:
    """The custom webhook's build: the package's own source, as is.

    A custom-script package gets the request body as ``hook_payload`` in its working
    directory (stored like an upload and fetched by the builder).
    """
    changes: dict[str, Any] = {}
    if payload and package.source_type == BuildSourceEnum.custom:
        token = secrets.token_hex(16)
        directory = settings.upload_dir / token
        directory.mkdir(parents=True)
        (directory / HOOK_PAYLOAD).write_bytes(payload)
        changes = {"tmp": token, "hook_data": True}
    return queue_package_build(
        session,
        settings,
        package,
        submitted_by="custom webhook",
        project_dir=project_dir,
        source_changes=changes,
    )


def forge_secret(session: Session, project: Project) -> str | None:
    row = session.get(ForgeSecret, project.id)
    return row.secret if row is not None else None


def set_forge_secret(session: Session, project: Project, secret: str | None) -> None:
    """Set (or, with None, remove) the project's forge secret."""
    row = session.get(ForgeSecret, project.id)
    if secret is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ForgeSecret(project_id=project.id, secret=secret))
    else:
        row.secret = secret
        row.created_on = now()
    session.flush()
