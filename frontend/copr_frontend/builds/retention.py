"""Retention: which finished builds a project's results keep, and pruning the rest, and
removing the projects whose ``delete_after_days`` ran out.  Never commits.

A *series* is what one package built in one chroot of one project dir.  Each policy a
project has is a limit on what stays of a series:

``auto_prune`` (Copr's)  the newest succeeded build, and every build that ended less
                         than ``prune_days`` (a frontend setting) ago
``keep_builds`` N (ours) the newest N finished builds
package ``max_builds`` N the newest N finished builds of that package (Copr's package
                         option; 0: no limit)

A build chroot stays when every policy of its project and package keeps it; a project
with none keeps everything, and a task that has not finished is never pruned (nor counted).  One
more rule beats the policies: when a chroot of another project uses this project as a
repository (``copr://owner/project`` or a URL into its results, in the other project's
``additional_repos`` or in that chroot's ``repos``), the newest succeeded build of each
series in that chroot stays, since the other project's builds install from it.

A pruned build chroot loses its row and its result directory; a build with none of its
(non-skipped) chroots left goes entirely, with its ``srpm-builds`` directory.  Its stored
state stays what the build ended as: pruning is not a state transition.  All of a
project's pruning is one ``delete`` action of ``builds`` for the backend, which removes
the directories and regenerates each touched chroot's repodata once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from copr_common.chroots import ChrootNameError, parse_chroot
from copr_common.enums import FINISHED_STATES, ActionTypeEnum, StatusEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.builds.removal import build_dirs
from copr_frontend.db import now
from copr_frontend.packages.models import Package
from copr_frontend.projects.build_config import expand_repo_url
from copr_frontend.projects.logic import delete_project
from copr_frontend.projects.models import Project, ProjectChroot
from copr_frontend.settings import FrontendSettings

_DAY = 24 * 3600
_SUCCEEDED = (StatusEnum.succeeded, StatusEnum.forked)

DirChroot = tuple[str, str]
"""(project dir name, chroot name)."""


@dataclass
class PrunePlan:
    """What pruning one project removes."""

    project: Project
    builds: list[Build] = field(default_factory=list)
    """Builds that go entirely."""
    chroots: list[BuildChroot] = field(default_factory=list)
    """Build chroots that go while the rest of their build stays."""

    @property
    def build_ids(self) -> list[int]:
        return sorted({b.id for b in self.builds} | {c.build_id for c in self.chroots})

    def dirs(self) -> dict[str, dict[str, list[str]]]:
        """``{project dir: {chroot: [result dir]}}`` for the backend's delete action."""
        found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for build in self.builds:
            for chroot_name, names in build_dirs(build).items():
                found[build.dir.name][chroot_name].extend(names)
        for chroot in self.chroots:
            names = build_dirs(chroot.build).get(chroot.name, [])
            found[chroot.build.dir.name][chroot.name].extend(names)
        return {d: {c: sorted(n) for c, n in per.items() if n} for d, per in found.items()}


@dataclass(frozen=True)
class RepoUse:
    """A project chroot's use of a results repo of this site (``copr://`` or a URL)."""

    by: ProjectChroot
    """The chroot whose additional repos (its own or its project's) name the repo."""
    owner: str
    dirname: str
    chroot: str
    """The chroot of the repo it names."""

    def names(self, project: Project) -> bool:
        """Whether the repo is one of ``project``'s (its main dir or another of its dirs)."""
        return (self.owner, self.dirname.split(":", 1)[0]) == (project.ownername, project.name)


def repo_uses(session: Session, settings: FrontendSettings, *where: Any) -> Iterator[RepoUse]:
    """Every use of a results repo of this site by an enabled project chroot (of the
    projects ``where`` selects), read from the additional repos with dnf variables and
    ``copr://`` expanded.
    """
    prefix = settings.results_url + "/"
    query = (
        select(ProjectChroot)
        .join(ProjectChroot.project)
        .where(ProjectChroot.deleted.is_(False), *where)
        .options(selectinload(ProjectChroot.project))
    )
    for copr_chroot in session.scalars(query):
        project = copr_chroot.project
        for url in [*project.additional_repos, *copr_chroot.repos]:
            baseurl = expand_repo_url(url, copr_chroot.name, settings)
            if not baseurl.startswith(prefix):
                continue
            parts = baseurl.removeprefix(prefix).split("/")
            if len(parts) < 2 or not parts[0] or not parts[1]:
                continue
            chroot = _chroot_name(parts[2] if len(parts) > 2 else "", copr_chroot.name)
            yield RepoUse(copr_chroot, parts[0], parts[1], chroot)


class DependencyIndex:
    """Which (dir, chroot) of which project other projects' chroots use as a repo."""

    def __init__(self, session: Session, settings: FrontendSettings) -> None:
        self._used: dict[str, set[DirChroot]] = defaultdict(set)
        for use in repo_uses(session, settings):
            if use.names(use.by.project):
                continue  # a project's use of its own repo keeps nothing
            self._used[use.owner].add((use.dirname, use.chroot))

    def used(self, project: Project) -> set[DirChroot]:
        """The (dir, chroot) pairs of ``project`` some other project builds against."""
        return {
            (dirname, chroot)
            for dirname, chroot in self._used.get(project.ownername, set())
            if dirname.split(":", 1)[0] == project.name
        }


def _chroot_name(segment: str, default: str) -> str:
    """The chroot a results URL names; a URL with dnf variables (or none) means the
    chroot of the project that uses it, as ``copr://`` does.
    """
    try:
        parse_chroot(segment)
    except ChrootNameError:
        return default
    return segment


def _ended(chroot: BuildChroot) -> int:
    build = chroot.build
    return chroot.ended_on or build.ended_on or build.submitted_on


def plan_pruning(
    session: Session,
    project: Project,
    settings: FrontendSettings,
    dependencies: DependencyIndex,
    at: int | None = None,
) -> PrunePlan:
    """What the project's policies prune now (nothing for a project without one)."""
    plan = PrunePlan(project)
    keep_n = project.keep_builds
    limits = select(Package.id, Package.max_builds).where(
        Package.project_id == project.id, Package.max_builds > 0
    )
    package_limits: dict[int, int] = dict(session.execute(limits).all())
    if not project.auto_prune and not keep_n and not package_limits:
        return plan
    cutoff = (now() if at is None else at) - settings.prune_days * _DAY
    used = dependencies.used(project)
    query = (
        select(Build)
        .where(Build.project_id == project.id, Build.state.in_(FINISHED_STATES))
        .order_by(Build.id.desc())
        .options(selectinload(Build.chroots), selectinload(Build.dir))
    )
    builds = session.scalars(query).all()
    series: dict[tuple[str, str, str | None], list[BuildChroot]] = defaultdict(list)
    for build in builds:
        for chroot in build.chroots:
            if chroot.status in FINISHED_STATES and chroot.status != StatusEnum.skipped:
                series[(build.dir.name, chroot.name, build.pkg_name)].append(chroot)
    pruned: set[int] = set()
    for (dirname, chroot_name, _package), chroots in series.items():
        newest_ok = next((c for c in chroots if c.status in _SUCCEEDED), None)
        for position, chroot in enumerate(chroots):  # newest first
            if chroot is newest_ok and (dirname, chroot_name) in used:
                continue
            keeps = []
            if project.auto_prune:
                keeps.append(chroot is newest_ok or _ended(chroot) > cutoff)
            if keep_n:
                keeps.append(position < keep_n)
            package_limit = package_limits.get(chroot.build.package_id or 0)
            if package_limit:
                keeps.append(position < package_limit)
            if not all(keeps):
                pruned.add(chroot.id)
    for build in builds:
        counted = [c for c in build.chroots if c.status != StatusEnum.skipped]
        gone = [c for c in counted if c.id in pruned]
        if not gone:
            continue
        if len(gone) == len(counted):
            plan.builds.append(build)
        else:
            plan.chroots.extend(gone)
    return plan


def prune(session: Session, plan: PrunePlan) -> Action | None:
    """Remove what ``plan`` names and queue the backend's delete action (None: nothing)."""
    if not plan.builds and not plan.chroots:
        return None
    project = plan.project
    build_ids = plan.build_ids
    action = queue_action(
        session,
        ActionTypeEnum.delete,
        "builds",
        project.id,
        {
            "ownername": project.ownername,
            "projectname": project.name,
            "project_dirnames": plan.dirs(),
            "build_ids": build_ids,
            "reason": "prune",
        },
        project=project,
        new_value=f"pruned {len(build_ids)} builds",
    )
    for chroot in plan.chroots:
        chroot.build.chroots.remove(chroot)
        session.delete(chroot)
    for build in plan.builds:
        session.delete(build)
    session.flush()
    return action


def prunable_projects(session: Session) -> Sequence[Project]:
    """Projects with a retention policy, in id order."""
    limited = select(Package.project_id).where(Package.max_builds > 0)
    query = select(Project).where(
        Project.auto_prune.is_(True) | Project.keep_builds.is_not(None) | Project.id.in_(limited)
    )
    return session.scalars(query.order_by(Project.id)).all()


def expired_projects(session: Session, at: int | None = None) -> Sequence[Project]:
    """Projects whose ``delete_after`` has passed."""
    moment = now() if at is None else at
    query = select(Project).where(Project.delete_after.is_not(None), Project.delete_after <= moment)
    return session.scalars(query.order_by(Project.id)).all()


def remove_expired(session: Session, projects: Iterable[Project]) -> list[str]:
    """Delete the expired ``projects`` (each queues its delete action); their names."""
    names = []
    for project in projects:
        names.append(project.full_name)
        delete_project(session, project)
    return names
