"""Which packages of a project an event rebuilds: Copr's rules.

A package takes part when it is an SCM package with webhook rebuild on whose clone URL
is the event's repository — ignoring a trailing ``/`` and ``.git``, the scheme (http,
https, git), user info and default ports — in a project with active chroots.  Then:

* a push rebuilds it when a changed file lies in its subdirectory (or the forge does not
  list changed files), and it follows the pushed branch when it names one as committish;
* a tag rebuilds it when the tag is ``<name>-<version>[-<release>]`` (``_`` works as
  the separator too; version and release hold a digit), or when the receiver URL names
  the package (then any tag, e.g. ``v1.2``, builds it);
* a pull request rebuilds every such package (forges do not list its changed files)
  that follows the request's target branch, or follows none.

Each rule that leaves a package out says why: the forge shows the reasons when nothing
was built.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.enums import BuildSourceEnum
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project
from copr_frontend.webhooks.events import PullRequest, Push, Tag

_DEFAULT_PORTS = {80, 443, 9418}
_SEPARATORS = ("-", "_")


def normalize_clone_url(url: str) -> str:
    """``host[:port]/path`` of a clone URL, for comparing two spellings of one repo."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.rstrip("/").removesuffix(".git")
    if not parts.hostname:
        return text.rstrip("/").removesuffix(".git")
    host = parts.hostname.lower()
    if port is not None and port not in _DEFAULT_PORTS:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/").removesuffix(".git").rstrip("/")
    return host + path


def in_subdirectory(subdirectory: str, path: str) -> bool:
    """Whether the repository path ``path`` lies in ``subdirectory`` (empty: the root)."""
    changed = posixpath.normpath(path).strip("/")
    if not path or changed in ("", "."):
        return False
    subdir = posixpath.normpath(subdirectory).strip("/") if subdirectory else ""
    if subdir in ("", "."):
        return True
    return changed.startswith(subdir + "/")


def tag_names_package(tag: str, package_name: str) -> bool:
    """Whether ``tag`` is ``<package_name>-<version>[-<release>]`` (or with ``_``)."""
    for separator in _SEPARATORS:
        parts = tag.split(separator)
        # First the last part is taken as the version; if the rest is not the name, as
        # the release, and the part before it as the version.
        for _ in range(2):
            if len(parts) < 2 or not any(c.isdigit() for c in parts[-1]):
                break
            parts.pop()
            if any(other.join(parts) == package_name for other in _SEPARATORS):
                return True
    return False


@dataclass
class Match:
    """The packages an event rebuilds, and why others were left out."""

    packages: list[Package] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return "; ".join(self.reasons) or "nothing to build"


def repository_packages(
    session: Session, project: Project, clone_url: str, *, need_chroots: bool = True
) -> Match:
    """The project's webhook-rebuilt SCM packages of the repository ``clone_url`` (none
    when the project has no active chroot to build them in, unless not ``need_chroots``)."""
    wanted = normalize_clone_url(clone_url)
    query = (
        select(Package)
        .where(
            Package.project_id == project.id,
            Package.source_type == BuildSourceEnum.scm,
            Package.webhook_rebuild.is_(True),
        )
        .order_by(Package.name)
    )
    candidates = list(session.scalars(query))
    match = Match()
    match.packages = [
        p
        for p in candidates
        if normalize_clone_url(str(p.source_json.get("clone_url", ""))) == wanted
    ]
    if not match.packages:
        match.reasons.append(
            f"no package of {project.full_name} with webhook rebuild on is built from "
            f"{clone_url}"
        )
    elif need_chroots and not project.active_chroots:
        match.reasons.append(f"{project.full_name} has no active chroots")
        match.packages = []
    return match


def _followed_branch(package: Package) -> str:
    return str(package.source_json.get("committish") or "")


def _keep(match: Match, keep: Iterable[tuple[Package, str | None]]) -> Match:
    """The packages whose reason is None; the others' reasons are recorded."""
    result = Match(reasons=list(match.reasons))
    for package, reason in keep:
        if reason is None:
            result.packages.append(package)
        else:
            result.reasons.append(f"package {package.name}: {reason}")
    return result


def match_push(session: Session, project: Project, event: Push) -> Match:
    def reason(package: Package) -> str | None:
        branch = _followed_branch(package)
        if branch and event.ref not in (branch, f"refs/heads/{branch}"):
            return f"it follows {branch!r}, not {event.ref}"
        if event.changed_files is None:
            return None
        subdir = str(package.source_json.get("subdirectory") or "")
        if any(in_subdirectory(subdir, path) for path in event.changed_files):
            return None
        return f"no changed file in {subdir or 'the repository'}" + ("/" if subdir else "")

    found = repository_packages(session, project, event.clone_url)
    return _keep(found, ((p, reason(p)) for p in found.packages))


def match_tag(session: Session, project: Project, event: Tag, url_package: str | None) -> Match:
    def reason(package: Package) -> str | None:
        if package.name == url_package or tag_names_package(event.name, package.name):
            return None
        return f"tag {event.name!r} is not {package.name}-<version>"

    found = repository_packages(session, project, event.clone_url)
    return _keep(found, ((p, reason(p)) for p in found.packages))


def match_pull_request(session: Session, project: Project, event: PullRequest) -> Match:
    def reason(package: Package) -> str | None:
        branch = _followed_branch(package)
        if branch and branch not in (event.target_branch, f"refs/heads/{event.target_branch}"):
            return f"it follows {branch!r}, the pull request targets {event.target_branch!r}"
        return None

    found = repository_packages(session, project, event.clone_url)
    return _keep(found, ((p, reason(p)) for p in found.packages))
