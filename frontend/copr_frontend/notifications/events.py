"""The events endpoints receive, and their JSON bodies.

The backend tells what happened in the words of its build messages (the same model its
fedora-messaging sink publishes): ``copr.build.start`` for a task that started running,
``copr.build.end`` for a task that ended, each with the build and the chroot
(``srpm-builds`` for the source build).  They become:

``build.started``  the build's source build started (its first task)
``chroot.ended``   an RPM build in one chroot ended (whatever its state)
``build.ended``    the whole build reached a final state (after its last task ended)

A body has ``event``, ``timestamp`` and ``build`` (ids, states, package name and version,
submitter, times, the build's page, its repo URL, and per chroot its state, repo URL,
result dir and log URLs); ``chroot.ended`` adds ``chroot``, the one that ended.
"""

from __future__ import annotations

from typing import Any

from copr_common.names import SRPM_BUILDS_DIR, build_dir_name
from copr_frontend.builds.models import Build, BuildChroot
from copr_frontend.db import now
from copr_frontend.settings import FrontendSettings

BUILD_STARTED = "build.started"
CHROOT_ENDED = "chroot.ended"
BUILD_ENDED = "build.ended"
EVENTS = (BUILD_STARTED, CHROOT_ENDED, BUILD_ENDED)

TASK_STARTED = "copr.build.start"
TASK_ENDED = "copr.build.end"


def events_of(topic: str, chroot: str, build: Build) -> list[tuple[str, str]]:
    """``(event, chroot)`` pairs a backend message about ``build`` stands for."""
    if topic == TASK_STARTED:
        return [(BUILD_STARTED, "")] if chroot == SRPM_BUILDS_DIR else []
    if topic != TASK_ENDED:
        return []
    found = []
    if chroot != SRPM_BUILDS_DIR and build.chroot(chroot) is not None:
        found.append((CHROOT_ENDED, chroot))
    if build.state.is_finished:
        found.append((BUILD_ENDED, ""))
    return found


def _log_name(finished: bool) -> str:
    # The backend compresses the live log once the task has ended.
    return "builder-live.log.gz" if finished else "builder-live.log"


def chroot_body(chroot: BuildChroot, root: str) -> dict[str, Any]:
    build = chroot.build
    name = build.package_name
    result_dir = chroot.result_dir or (build_dir_name(build.id, name) if name else "")
    result_url = f"{root}/{chroot.name}/{result_dir}/" if result_dir else None
    finished = chroot.status.is_finished
    return {
        "name": chroot.name,
        "state": chroot.status.label,
        "started_on": chroot.started_on,
        "ended_on": chroot.ended_on,
        "repo_url": f"{root}/{chroot.name}/",
        "result_url": result_url,
        "log_url": f"{result_url}{_log_name(finished)}" if result_url else None,
        "backend_log_url": f"{result_url}backend.log.gz" if result_url and finished else None,
    }


def build_body(build: Build, settings: FrontendSettings) -> dict[str, Any]:
    project = build.project
    root = f"{settings.results_url}/{project.ownername}/{build.dir.name}"
    source_dir = f"{root}/{SRPM_BUILDS_DIR}/{build.id:08d}/"
    return {
        "id": build.id,
        "state": build.state.label,
        "ownername": project.ownername,
        "projectname": project.name,
        "project_dirname": build.dir.name,
        "package": {"name": build.package_name, "version": build.pkg_version},
        "submitter": build.submitter,
        "submitted_on": build.submitted_on,
        "started_on": build.started_on,
        "ended_on": build.ended_on,
        "url": f"{settings.public_url}/coprs/build/{build.id}",
        "repo_url": f"{root}/",
        "source_build": {
            "state": build.source_status.label,
            "result_url": source_dir,
            "log_url": source_dir + _log_name(build.source_status.is_finished),
        },
        "chroots": [chroot_body(c, root) for c in build.chroots],
    }


def event_body(event: str, build: Build, chroot: str, settings: FrontendSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event,
        "timestamp": now(),
        "build": build_body(build, settings),
    }
    if chroot:
        found = build.chroot(chroot)
        if found is not None:
            root = f"{settings.results_url}/{build.project.ownername}/{build.dir.name}"
            body["chroot"] = chroot_body(found, root)
    return body
