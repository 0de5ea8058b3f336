"""Deleting builds: the rows go, and a delete action tells the backend which result
directories to remove.  Never commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from copr_common.enums import ActionTypeEnum
from copr_common.names import SRPM_BUILDS_DIR, build_dir_name
from copr_frontend.actions.logic import queue_action
from copr_frontend.builds.models import Build


class BuildRemovalError(ValueError):
    """A build that cannot be deleted now; the message says why."""


def build_dirs(build: Build) -> dict[str, list[str]]:
    """``{chroot: [result dir]}`` (and ``srpm-builds``) the backend removes for ``build``."""
    dirs: dict[str, list[str]] = {SRPM_BUILDS_DIR: [f"{build.id:08d}"]}
    name = build.package_name
    for chroot in build.chroots:
        result_dir = chroot.result_dir or (build_dir_name(build.id, name) if name else "")
        if result_dir:
            dirs[chroot.name] = [result_dir]
    return dirs


def delete_build(session: Session, build: Build) -> None:
    if not build.state.is_finished:
        raise BuildRemovalError(
            f"Build {build.id} is still {build.state.label}: cancel it or wait until it "
            "finishes before deleting it"
        )
    project = build.project
    queue_action(
        session,
        ActionTypeEnum.delete,
        "build",
        build.id,
        {
            "ownername": project.ownername,
            "projectname": project.name,
            "project_dirname": build.dir.name,
            "chroot_builddirs": build_dirs(build),
            "build_ids": [build.id],
        },
        project=project,
    )
    session.delete(build)
    session.flush()
