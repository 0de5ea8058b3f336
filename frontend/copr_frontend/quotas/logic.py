"""Storage usage and limits per owner.  Never commits.

A project's usage is its stored counter ``Project.storage_usage``, which every flush
keeps equal to the sum of the result sizes of its builds (each build chroot's
``result_size`` and the source build's ``source_result_size``; see
:mod:`copr_frontend.quotas.accounting`); an owner's is the sum over their projects, so
neither reads the build tables.  :func:`recount` sets the counters from the builds.  The
limit is the owner's :class:`OwnerQuota` if an admin set one, else
``storage_quota_default`` (None: no limit).  An owner whose usage is at or over their
limit may not submit builds: a build's size is known only when it ends, so the check is
on what is stored already, and one build may take an owner past the limit — the next
one is refused.  A fork copies results of known size: one that would take the target
owner past their limit is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from copr_frontend.api.errors import BadRequest
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.projects.models import Project
from copr_frontend.quotas.models import OwnerQuota
from copr_frontend.settings import FrontendSettings

MAX_SIZE = 2**62
"""The largest size stored or accepted (a BigInteger column holds it)."""

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


class QuotaExceeded(BadRequest):
    """A submission by an owner whose results already take their whole quota (400, not
    403: the clients read a 401 or 403 as bad credentials and would say so instead).
    """


@dataclass(frozen=True)
class Quota:
    """An owner's storage: what it takes, what it may take, and where the limit is from."""

    ownername: str
    usage: int
    limit: int | None
    """None: no limit."""
    overridden: bool
    """The limit is an admin's override, not the default of the settings."""

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.usage >= self.limit


def parse_size(text: str) -> int:
    """Bytes of ``10G``, ``512M``, ``1.5T`` or ``1048576`` (binary units; ValueError)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (e.g. 1048576, 512M, 10G, 1.5T)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size > MAX_SIZE:
        raise ValueError(f"{text!r} is larger than the largest size ({MAX_SIZE} bytes)")
    return size


def format_size(size: int) -> str:
    """A size for people: ``0 B``, ``512 B``, ``1.5 KiB``, ``10.0 GiB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"


def _sums(
    session: Session, condition: ColumnElement[bool], *, by_project: bool = False
) -> dict[int, int]:
    """Bytes per project id (or under id 0 for all), of the projects ``condition`` picks:
    two grouped sums, whatever the number of builds or projects.
    """
    key: Any = Project.id if by_project else Project.ownername
    chroot_query = (
        select(key, func.coalesce(func.sum(BuildChroot.result_size), 0))
        .select_from(BuildChroot)
        .join(Build, Build.id == BuildChroot.build_id)
        .join(Project, Project.id == Build.project_id)
        .where(condition)
        .group_by(key)
    )
    source_query = (
        select(key, func.coalesce(func.sum(Build.source_result_size), 0))
        .select_from(Build)
        .join(Project, Project.id == Build.project_id)
        .where(condition)
        .group_by(key)
    )
    totals: dict[int, int] = {}
    for query in (chroot_query, source_query):
        for found, size in session.execute(query):
            index = int(found) if by_project else 0
            totals[index] = totals.get(index, 0) + int(size or 0)
    return totals


def project_usage(project: Project) -> int:
    """Bytes the results of ``project``'s builds take (all its dirs)."""
    return int(project.storage_usage or 0)


def project_usages(session: Session, ownername: str) -> dict[int, int]:
    """Bytes per project id of the owner's projects."""
    query = select(Project.id, Project.storage_usage).where(Project.ownername == ownername)
    return {project_id: int(usage or 0) for project_id, usage in session.execute(query)}


def owner_usage(session: Session, ownername: str) -> int:
    query = select(func.coalesce(func.sum(Project.storage_usage), 0)).where(
        Project.ownername == ownername
    )
    return int(session.scalar(query) or 0)


def recount(session: Session, ownername: str | None = None) -> dict[str, tuple[int, int]]:
    """Set the counters of the projects (of ``ownername``, or all) from their builds;
    ``{project: (stored, counted)}`` of those that were wrong.
    """
    condition = Project.ownername == ownername if ownername is not None else true()
    counted = _sums(session, condition, by_project=True)
    wrong: dict[str, tuple[int, int]] = {}
    for project in session.scalars(select(Project).where(condition).order_by(Project.id)):
        size = counted.get(project.id, 0)
        if project.storage_usage != size:
            wrong[project.full_name] = (project.storage_usage, size)
            project.storage_usage = size
    session.flush()
    return wrong


def owner_quota(session: Session, settings: FrontendSettings, ownername: str) -> Quota:
    override = session.get(OwnerQuota, ownername)
    limit = override.limit_bytes if override is not None else settings.storage_quota_default
    return Quota(ownername, owner_usage(session, ownername), limit, override is not None)


def set_limit(session: Session, ownername: str, limit: int | None) -> OwnerQuota:
    """Give ``ownername`` the limit ``limit`` bytes (None: no limit) instead of the default."""
    if limit is not None and not 0 <= limit <= MAX_SIZE:
        raise ValueError(f"a limit is 0 to {MAX_SIZE} bytes")
    override = session.get(OwnerQuota, ownername)
    if override is None:
        override = OwnerQuota(ownername=ownername)
        session.add(override)
    override.limit_bytes = limit
    session.flush()
    return override


def reset_limit(session: Session, ownername: str) -> bool:
    """Back to the default limit; whether there was an override."""
    override = session.get(OwnerQuota, ownername)
    if override is None:
        return False
    session.delete(override)
    session.flush()
    return True


def _usage_text(quota: Quota) -> str:
    assert quota.limit is not None
    return (
        f"its builds take {format_size(quota.usage)} ({quota.usage} bytes) of a limit of "
        f"{format_size(quota.limit)} ({quota.limit} bytes)"
    )


def quota_message(quota: Quota) -> str:
    return (
        f"The storage quota of {quota.ownername} is used up: {_usage_text(quota)}. "
        "Delete old builds or projects to build again, or ask an admin for a larger quota."
    )


def check_fork(before: Quota, adding: int) -> None:
    """Refuse (QuotaExceeded) a fork whose copies (``adding`` bytes) take the target
    owner, whose quota was ``before``, past their limit.
    """
    if before.limit is not None and adding > 0 and before.usage + adding > before.limit:
        raise QuotaExceeded(
            f"The fork would copy {format_size(adding)} ({adding} bytes) of results, more "
            f"than the storage quota of {before.ownername} holds: {_usage_text(before)}. "
            "Delete old builds or projects first, or ask an admin for a larger quota."
        )


def check_submission(session: Session, settings: FrontendSettings, ownername: str) -> None:
    """Refuse (QuotaExceeded) a build in a project of an owner at or over their limit."""
    quota = owner_quota(session, settings, ownername)
    if quota.exceeded:
        raise QuotaExceeded(quota_message(quota))
