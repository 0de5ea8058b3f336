"""Rebuilding dependents when a dependency changes (a project's ``rebuild_dependents``).
Never commits.

The backend reports, with each succeeded build chroot, what the build's RPMs provide
(``provides``: their Provides and the files they hold) and what its SRPM requires
(``requires``: its BuildRequires).  They are kept per package and chroot
(:class:`PackageDependencies`); a report that differs from what was kept marks the
chroot in ``Build.provides_changed``.

When such a build has finished, one *wave* of rebuilds is queued: in its own project
and in every project whose additional repos name it (``copr://owner/project`` or a
URL of its results), each with ``rebuild_dependents`` other than ``off``, the packages
whose BuildRequires match what it provides (``direct``), and their dependents in turn
(``transitive``).  A requirement matches by name only: ``foo >= 1.2`` matches any
``foo``.  Each dependent is rebuilt once, from its latest succeeded build's source, in
the chroots where its dependency changed, and only where no build of it is already
waiting there.  Rebuilds go into batches in dependency order (a batch waits for the one
before it); a cycle is broken at its first package by name, and recorded on the wave
from that package on (each package BuildRequires the next, the last the first).
Builds of a wave start no wave of their own: the wave already holds their dependents.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copr_common.backend_api import DEPENDENCY_MAX_ITEM_LENGTH, DEPENDENCY_MAX_ITEMS
from copr_common.enums import FINISHED_STATES, BuildSourceEnum, StatusEnum
from copr_frontend.builds.logic import add_build
from copr_frontend.builds.models import (
    Batch,
    Build,
    BuildChroot,
    PackageDependencies,
    RebuildWave,
)
from copr_frontend.builds.retention import repo_uses
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.quotas.logic import owner_quota
from copr_frontend.settings import FrontendSettings

log = logging.getLogger(__name__)

MODES = ("off", "direct", "transitive")
"""The values of a project's ``rebuild_dependents``."""
SUBMITTER = "rebuild of dependents"
_WAITING = (StatusEnum.waiting, StatusEnum.pending, StatusEnum.importing)
_SUCCEEDED = (StatusEnum.succeeded, StatusEnum.forked)


class DependencyReportError(ValueError):
    """A malformed ``provides`` or ``requires`` in a backend report."""


def reported(data: Mapping[str, Any]) -> tuple[list[str], list[str]] | None:
    """The ``(provides, requires)`` of a chroot report, None when it has neither (an
    older backend); raises :class:`DependencyReportError` when one is malformed.
    """
    if data.get("provides") is None and data.get("requires") is None:
        return None
    lists = []
    for key in ("provides", "requires"):
        value = data.get(key) or []
        if (
            not isinstance(value, list)
            or len(value) > DEPENDENCY_MAX_ITEMS
            or not all(
                isinstance(v, str) and 0 < len(v) <= DEPENDENCY_MAX_ITEM_LENGTH for v in value
            )
        ):
            raise DependencyReportError(
                f"{key!r} must be a list of at most {DEPENDENCY_MAX_ITEMS} non-empty strings of at "
                f"most {DEPENDENCY_MAX_ITEM_LENGTH} characters"
            )
        lists.append(sorted(set(value)))
    return lists[0], lists[1]


def capability_name(item: str) -> str:
    """``foo >= 1.2`` and ``foo = 1.2-1`` name ``foo``; a file path is itself."""
    return item.split(" ", 1)[0]


def record(
    session: Session, build: Build, chroot: BuildChroot, provides: list[str], requires: list[str]
) -> None:
    """Keep what a succeeded chroot of ``build`` provides and requires; mark the chroot
    in ``build.provides_changed`` when its provides differ from what was kept.
    """
    if build.package_id is None or not build.dir.main:
        return
    row = session.get(PackageDependencies, (build.package_id, chroot.mock_chroot_id))
    if row is None:
        row = PackageDependencies(package_id=build.package_id, mock_chroot=chroot.mock_chroot)
        session.add(row)
    elif row.build_id is not None and row.build_id > build.id:
        return  # a newer build of the package already said what it provides
    if row.provides != provides and chroot.name not in build.provides_changed:
        build.provides_changed = sorted([*build.provides_changed, chroot.name])
    row.provides, row.requires, row.build_id = provides, requires, build.id


@dataclass
class _Node:
    package: Package
    chroots: set[str] = field(default_factory=set)
    needs: set[tuple[int, int]] = field(default_factory=set)
    """(project id, package id) of the wave's packages this one BuildRequires."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.package.project_id, self.package.id)

    @property
    def label(self) -> str:
        return f"{self.package.project.full_name}/{self.package.name}"


def consumers(session: Session, project: Project, settings: FrontendSettings) -> list[Project]:
    """Other projects, with ``rebuild_dependents`` on, whose chroots use ``project``'s
    repos (in their additional repos or a chroot's repos).
    """
    found = {
        use.by.project.id: use.by.project
        for use in repo_uses(
            session, settings, Project.rebuild_dependents != "off", Project.id != project.id
        )
        if use.names(project)
    }
    return sorted(found.values(), key=lambda p: p.id)


def _rows(session: Session, project: Project, chroot: str) -> list[PackageDependencies]:
    query = (
        select(PackageDependencies)
        .join(Package, Package.id == PackageDependencies.package_id)
        .join(MockChroot, MockChroot.id == PackageDependencies.mock_chroot_id)
        .where(Package.project_id == project.id, MockChroot.name == chroot)
    )
    return list(session.scalars(query))


def _dependents(
    session: Session,
    project: Project,
    chroot: str,
    trigger: Build,
    trigger_provides: set[str],
    nodes: dict[tuple[int, int], _Node],
    cycles: list[list[str]],
) -> None:
    """Add the packages of ``project`` that ``trigger`` makes rebuild in ``chroot``."""
    rows = {r.package_id: r for r in _rows(session, project, chroot)}
    packages = {p.id: p for p in project.packages}
    provides = {pid: {capability_name(i) for i in r.provides} for pid, r in rows.items()}
    requires = {pid: {capability_name(i) for i in r.requires} for pid, r in rows.items()}
    own = project.id == trigger.project_id
    reached: list[int] = []
    frontier = [
        pid
        for pid in sorted(rows)
        if requires[pid] & trigger_provides and not (own and pid == trigger.package_id)
    ]
    while frontier:
        reached.extend(p for p in frontier if p not in reached)
        if project.rebuild_dependents != "transitive":
            break
        frontier = sorted(
            pid
            for pid in rows
            if pid not in reached
            and not (own and pid == trigger.package_id)
            and any(requires[pid] & provides[r] for r in reached)
        )
    for pid in reached:
        node = nodes.setdefault((project.id, pid), _Node(packages[pid]))
        node.chroots.add(chroot)
        node.needs |= {(project.id, r) for r in reached if r != pid and requires[pid] & provides[r]}
        if own and trigger.package_id in rows and provides[pid] & requires[trigger.package_id]:
            cycle = sorted([f"{project.full_name}/{trigger.package_name}", node.label])
            if cycle not in cycles:
                cycles.append(cycle)


def _layers(nodes: dict[tuple[int, int], _Node], cycles: list[list[str]]) -> list[list[_Node]]:
    """``nodes`` in dependency order; a cycle loses the needs of its first package."""
    remaining = dict(nodes)
    layers: list[list[_Node]] = []
    while remaining:
        ready = [n for n in remaining.values() if not (n.needs & remaining.keys())]
        if not ready:
            cycle = _find_cycle(remaining)
            first = min(cycle, key=lambda n: n.label)
            start = cycle.index(first)
            cycles.append([n.label for n in cycle[start:] + cycle[:start]])
            first.needs = set()
            log.warning("rebuild of dependents: cycle %s broken at %s", cycles[-1], first.label)
            continue
        ready.sort(key=lambda n: n.label)
        layers.append(ready)
        for node in ready:
            del remaining[node.key]
    return layers


def _find_cycle(remaining: dict[tuple[int, int], _Node]) -> list[_Node]:
    """A cycle among ``remaining``, each node needing the next (the last needs the first)."""
    node = min(remaining.values(), key=lambda n: n.label)
    path: list[_Node] = []
    while node not in path:
        path.append(node)
        node = remaining[min(node.needs & remaining.keys())]
    return path[path.index(node) :]


def _latest_success(session: Session, package: Package) -> Build | None:
    query = (
        select(Build)
        .join(Build.dir)
        .where(Build.package_id == package.id, Build.state.in_(_SUCCEEDED))
        .order_by(Build.id.desc())
        .limit(1)
    )
    build = session.scalar(query)
    return build if build is not None and build.dir.main else None


def _already_waiting(session: Session, package: Package) -> set[str]:
    """Chroots where a build of ``package`` waits that has not started there yet."""
    query = (
        select(BuildChroot)
        .join(Build, Build.id == BuildChroot.build_id)
        .where(
            Build.package_id == package.id,
            Build.canceled.is_(False),
            BuildChroot.status.in_(_WAITING),
        )
    )
    return {c.name for c in session.scalars(query)}


def _rebuild(session: Session, node: _Node, trigger: Build, wave: RebuildWave) -> Build | None:
    package = node.package
    source = _latest_success(session, package)
    chroots = node.chroots - _already_waiting(session, package)
    project = package.project
    mock_chroots = [c.mock_chroot for c in project.active_chroots if c.name in chroots]
    if source is None or not mock_chroots:
        return None
    source_type, source_json = source.source_type, dict(source.source_json)
    if source_type == BuildSourceEnum.upload and source.srpm_url:
        source_type = BuildSourceEnum.link
        source_json = {"url": source.srpm_url, "pkg": source.srpm_url.rsplit("/", 1)[-1]}
    build = add_build(
        session,
        project,
        None,
        mock_chroots,
        source_type=source_type,
        source_json=source_json,
        package=package,
        submitted_by=SUBMITTER,
        timeout=source.timeout,
        enable_net=source.enable_net,
        is_background=source.is_background,
        memory_reqs=source.memory_reqs,
        bootstrap=source.bootstrap,
        isolation=source.isolation,
        srpm_url=source.srpm_url if source_type == BuildSourceEnum.link else None,
        triggered_by_id=trigger.id,
        resubmitted_from_id=source.id,
    )
    build.rebuild_wave = wave
    return build


def build_finished(
    session: Session, build: Build, settings: FrontendSettings
) -> RebuildWave | None:
    """Queue the wave of rebuilds ``build`` (just finished) calls for, if any."""
    changed = set(build.provides_changed)
    if not changed or build.rebuild_wave_id is not None or build.package is None:
        return None
    succeeded = {c.name for c in build.chroots if c.status == StatusEnum.succeeded}
    project = build.project
    targets = ([project] if project.rebuild_dependents != "off" else []) + consumers(
        session, project, settings
    )
    nodes: dict[tuple[int, int], _Node] = {}
    cycles: list[list[str]] = []
    mock_chroot_ids = {c.name: c.mock_chroot_id for c in build.chroots}
    for chroot in sorted(changed & succeeded):
        row = session.get(PackageDependencies, (build.package.id, mock_chroot_ids[chroot]))
        if row is None:
            continue
        provided = {capability_name(i) for i in row.provides}
        for target in targets:
            _dependents(session, target, chroot, build, provided, nodes, cycles)
    if not nodes:
        return None
    wave = RebuildWave(project=project, trigger_build_id=build.id, cycles=cycles)
    session.add(wave)
    previous: Batch | None = None
    queued = 0
    over_quota: dict[str, bool] = {}

    def within_quota(node: _Node) -> bool:
        owner = node.package.project.ownername
        if owner not in over_quota:
            over_quota[owner] = owner_quota(session, settings, owner).exceeded
            if over_quota[owner]:
                log.warning(
                    "build %d: no rebuild of dependents of %s: its storage quota is used up",
                    build.id, owner,
                )  # fmt: skip
        return not over_quota[owner]

    for layer in _layers(nodes, cycles):
        rebuilds = (_rebuild(session, n, build, wave) for n in layer if within_quota(n))
        made = [b for b in rebuilds if b]
        if not made:
            continue  # all of it waits already: the next layer follows the one before
        batch = Batch(blocked_by=previous)
        session.add(batch)
        for rebuilt in made:
            rebuilt.batch = batch
        queued += len(made)
        previous = batch
    wave.cycles = list(cycles)
    session.flush()
    log.info("build %d: %d dependents queued (wave %d)", build.id, queued, wave.id)
    return wave


def wave_builds(session: Session, wave: RebuildWave) -> list[Build]:
    query = select(Build).where(Build.rebuild_wave_id == wave.id).order_by(Build.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class WaveProgress:
    """How many builds a wave queued, and how many of them have not ended yet."""

    builds: int
    unfinished: int


def wave_progress(session: Session, wave: RebuildWave) -> WaveProgress:
    unfinished = Build.canceled.is_(False) & Build.state.not_in(FINISHED_STATES)
    query = select(func.count(Build.id), func.count(Build.id).filter(unfinished)).where(
        Build.rebuild_wave_id == wave.id
    )
    builds, left = session.execute(query).one()
    return WaveProgress(builds, left)
