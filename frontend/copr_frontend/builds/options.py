"""Build options every API v3 "create a build" route shares, read from the request.

``chroots`` (names or shell wildcards among the project's enabled chroots, default all),
``exclude_chroots``, ``timeout``, ``background``, ``enable_net``, ``bootstrap``,
``isolation``, ``after_build_id`` | ``with_build_id`` and ``project_dirname``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from copr_frontend.api.errors import BadRequest, ObjectNotFound
from copr_frontend.api.form import FieldErrors
from copr_frontend.builds.logic import BuildError, add_build
from copr_frontend.builds.models import Build
from copr_frontend.builds.sources import SourceError
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.logic import ProjectError, get_or_create_dir, resolve_chroots
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.quotas.logic import check_submission
from copr_frontend.settings import FrontendSettings
from copr_frontend.users.models import User
from copr_frontend.validation import to_bool, to_choice, to_int, to_list, to_text

BUILD_BOOTSTRAP = ("unchanged", "default", "on", "off", "image")
BUILD_ISOLATION = ("unchanged", "default", "simple", "nspawn")
MIN_TIMEOUT = 0
"""As in Copr; 0 leaves the build to the backend's and builder's default timeout."""


@dataclass
class BuildRequest:
    """A decided build request: where, for which chroots, with which options."""

    project: Project
    project_dir: ProjectDir
    chroots: list[MockChroot]
    excluded: list[tuple[MockChroot, str]] = field(default_factory=list)
    after_build: Build | None = None
    with_build: Build | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def submit(
        self,
        session: Session,
        user: User | None,
        source: tuple[Any, dict[str, Any]],
        *,
        package: Package | None = None,
        **extra: Any,
    ) -> Build:
        source_type, source_json = source
        try:
            return add_build(
                session,
                self.project,
                user,
                self.chroots,
                source_type=source_type,
                source_json=source_json,
                project_dir=self.project_dir,
                package=package,
                excluded=self.excluded,
                after_build=self.after_build,
                with_build=self.with_build,
                **self.options,
                **extra,
            )
        except BuildError as error:
            raise BadRequest(str(error)) from None


def _batch_build(session: Session, project: Project, value: Any, name: str) -> Build | None:
    build_id = to_int(value, name, minimum=1)
    if build_id is None:
        return None
    build = session.get(Build, build_id)
    if build is None:
        raise ObjectNotFound(f"Build {build_id} given as {name} does not exist.")
    if build.project_id != project.id:
        raise BadRequest(
            f"Build {build_id} given as {name} belongs to {build.project.full_name}; batches "
            f"cannot span projects"
        )
    return build


def _pattern_list(data: Mapping[str, Any], name: str) -> list[str]:
    return to_list(data.get(name), name) or []


def select_chroots(
    project: Project,
    patterns: Iterable[str],
    exclude: Iterable[str],
    denylist: Iterable[str] = (),
) -> tuple[list[MockChroot], list[tuple[MockChroot, str]]]:
    """The chroots to build for, and the project's chroots left out with the reason."""
    available = [c.mock_chroot for c in project.active_chroots]
    patterns = list(patterns)
    try:
        chosen = resolve_chroots(available, patterns) if patterns else available
    except ProjectError as error:
        raise BadRequest(
            f"{error} (enabled in {project.full_name}: "
            f"{', '.join(c.name for c in available) or 'none'})"
        ) from None
    exclude = list(exclude)
    denylist = list(denylist)
    result: list[MockChroot] = []
    excluded: list[tuple[MockChroot, str]] = []
    for chroot in chosen:
        if any(fnmatch.fnmatchcase(chroot.name, p) for p in exclude):
            excluded.append((chroot, "exclude_chroots"))
        elif any(fnmatch.fnmatchcase(chroot.name, p) for p in denylist):
            excluded.append((chroot, "denylist"))
        else:
            result.append(chroot)
    if not result:
        raise BadRequest(
            f"No chroot to build for in {project.full_name}: the chroots selected "
            f"({', '.join(c.name for c in chosen) or 'none'}) were all excluded"
        )
    return result, excluded


def parse_build_request(
    session: Session,
    project: Project,
    data: Mapping[str, Any],
    settings: FrontendSettings,
    *,
    denylist: Iterable[str] = (),
) -> BuildRequest:
    """Read and check the shared build options; a 400/404 listing everything wrong, or
    a 400 naming usage and limit when the owner's storage quota is used up (checked
    before anything else).
    """
    check_submission(session, settings, project.ownername)
    errors = FieldErrors()
    project_dir = project.main_dir
    with errors.field("project_dirname"):
        dirname = to_text(data.get("project_dirname"), "project_dirname", max_length=200)
        if dirname:
            project_dir = dir_or_400(session, project, dirname)
    chroots: list[MockChroot] = []
    excluded: list[tuple[MockChroot, str]] = []
    with errors.field("chroots"):
        chroots, excluded = select_chroots(
            project,
            _pattern_list(data, "chroots"),
            _pattern_list(data, "exclude_chroots"),
            denylist,
        )
    after_build = with_build = None
    with errors.field("after_build_id"):
        after_build = _batch_build(session, project, data.get("after_build_id"), "after_build_id")
    with errors.field("with_build_id"):
        with_build = _batch_build(session, project, data.get("with_build_id"), "with_build_id")
    if after_build is not None and with_build is not None:
        errors.add("with_build_id", "Use either after_build_id or with_build_id, not both")
    timeout = background = enable_net = bootstrap = isolation = None
    with errors.field("timeout"):
        timeout = to_int(
            data.get("timeout"), "timeout", minimum=MIN_TIMEOUT, maximum=settings.build_timeout_max
        )
    with errors.field("background"):
        background = to_bool(data.get("background"), "background")
    with errors.field("enable_net"):
        enable_net = to_bool(data.get("enable_net"), "enable_net")
    with errors.field("bootstrap"):
        bootstrap = to_choice(data.get("bootstrap"), "bootstrap", BUILD_BOOTSTRAP)
    with errors.field("isolation"):
        isolation = to_choice(data.get("isolation"), "isolation", BUILD_ISOLATION)
    errors.check()
    options: dict[str, Any] = {
        "timeout": timeout if timeout is not None else settings.build_timeout_default,
        "is_background": bool(background),
        "enable_net": project.enable_net if enable_net is None else enable_net,
        "bootstrap": bootstrap or "unchanged",
        "isolation": isolation or "unchanged",
    }
    return BuildRequest(project, project_dir, chroots, excluded, after_build, with_build, options)


def dir_or_400(session: Session, project: Project, dirname: str) -> ProjectDir:
    """The project's dir ``dirname``, made if new; Copr's guidance for a malformed name."""
    try:
        return get_or_create_dir(session, project, dirname)
    except ProjectError as error:
        raise BadRequest(
            f"{error}. Please use directory format {project.name}:custom:<SUFFIX_OF_CHOICE> "
            f"or {project.name}:pr:<ID> (for automatically removed directories)"
        ) from None


def source_or_400(source: Any) -> Any:
    """Call a source parser; its SourceError becomes a 400."""
    try:
        return source()
    except SourceError as error:
        raise BadRequest(str(error)) from None
