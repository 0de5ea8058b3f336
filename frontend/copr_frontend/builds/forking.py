"""Copying builds into a fork: each package's latest succeeded build becomes a ``forked``
build of the fork, and the backend copies its results instead of rebuilding.  Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import StatusEnum
from copr_common.names import SRPM_BUILDS_DIR, build_dir_name
from copr_frontend.builds.models import Build, BuildChroot, queue_keys
from copr_frontend.builds.states import refresh_state
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.users.models import User


def latest_succeeded_builds(session: Session, project: Project) -> list[Build]:
    """The newest succeeded build of each package in the project's main dir."""
    query = (
        select(Build)
        .where(
            Build.project_id == project.id,
            Build.dir_id == project.main_dir.id,
            Build.state == StatusEnum.succeeded,
            Build.pkg_name.is_not(None),
        )
        .order_by(Build.id.desc())
    )
    latest: dict[str, Build] = {}
    for build in session.scalars(query):
        assert build.pkg_name is not None
        latest.setdefault(build.pkg_name, build)
    return sorted(latest.values(), key=lambda b: b.id)


def fork_builds(
    session: Session,
    source: Project,
    target: Project,
    packages: Mapping[str, Package],
    user: User,
) -> dict[str, dict[str, str]]:
    """Create the forked builds; returns the backend's ``builds_map``.

    ``builds_map`` is ``{chroot: {old build dir: new build dir}}`` plus
    ``{"srpm-builds": {old id: new id}}`` (ids as ``%08d``).
    """
    target_chroots = {c.name: c.mock_chroot for c in target.active_chroots}
    builds_map: dict[str, dict[str, str]] = {}
    for old in latest_succeeded_builds(session, source):
        chroots = [
            c for c in old.chroots if c.status == StatusEnum.succeeded and c.name in target_chroots
        ]
        if not chroots:
            continue
        assert old.pkg_name is not None
        new = Build(
            project=target,
            dir=target.main_dir,
            user=user,
            package=packages.get(old.pkg_name),
            pkg_name=old.pkg_name,
            pkg_version=old.pkg_version,
            srpm_url=old.srpm_url,
            source_type=old.source_type,
            source_json=dict(old.source_json),
            source_results=old.source_results,
            source_status=StatusEnum.succeeded,
            resubmitted_from_id=old.id,
            timeout=old.timeout,
            enable_net=old.enable_net,
            is_background=old.is_background,
            appstream=target.appstream,
            started_on=old.started_on,
            # The backend copies the result dirs as they are: the copies take as much
            # of the target owner's quota as the originals.
            source_result_size=old.source_result_size,
        )
        session.add(new)
        for chroot in chroots:
            new.chroots.append(
                BuildChroot(
                    mock_chroot=target_chroots[chroot.name],
                    status=StatusEnum.forked,
                    git_hash=chroot.git_hash,
                    started_on=chroot.started_on,
                    ended_on=chroot.ended_on,
                    results=chroot.results,
                    result_size=chroot.result_size,
                )
            )
        queue_keys(new)
        session.flush()
        new.result_dir = build_dir_name(new.id, old.pkg_name)
        for chroot, new_chroot in zip(chroots, new.chroots, strict=True):
            new_chroot.result_dir = new.result_dir
            builds_map.setdefault(chroot.name, {})[build_dir_name(old.id, old.pkg_name)] = (
                new.result_dir
            )
        builds_map.setdefault(SRPM_BUILDS_DIR, {})[f"{old.id:08d}"] = f"{new.id:08d}"
        refresh_state(new)
    session.flush()
    return builds_map
