"""The repositories a build's buildroot gets: what build tasks, ``build-config`` and so
``copr-cli mock-config`` list, in Copr's shape.

``copr_base`` is the results of the build's dir for the chroot; ``copr_parent`` the main
project's, for a build in another dir; ``copr_base_devel`` the project's ``devel/`` repo
when the project does not publish automatically (``devel_mode``, copr-cli's
``--disable_createrepo``), so that its builds still see each other.  Then the project's
and the chroot's additional repos; ``copr://owner/project[/devel]`` names another Copr
project.  A repo of a project with ``module_hotfixes`` carries ``module_hotfixes: True``
so that dnf lets its packages replace modular ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.settings import FrontendSettings

_REPO_ID = re.compile(r"[^A-Za-z0-9_.-]")


def _repo(url: str, repo_id: str, name: str, priority: int | None = None) -> dict[str, Any]:
    repo: dict[str, Any] = {"id": repo_id, "baseurl": url, "name": name}
    if priority is not None:
        repo["priority"] = priority
    return repo


def _copr_reference(url: str) -> tuple[str, str, bool] | None:
    """``copr://owner/project[/devel]`` → (owner, project, devel); None for other URLs."""
    if not url.startswith("copr://"):
        return None
    parts = url.removeprefix("copr://").strip("/").split("/")
    devel = len(parts) == 3 and parts[2] == "devel"
    if len(parts) != 2 and not devel:
        return None
    return parts[0], parts[1], devel


def expand_repo_url(url: str, chroot: str, settings: FrontendSettings) -> str:
    """``copr://owner/project`` → that project's results URL for ``chroot``."""
    reference = _copr_reference(url)
    if reference is None:
        if url.startswith("copr://"):
            return f"{settings.results_url}/{url.removeprefix('copr://').strip('/')}/{chroot}/"
        return url
    owner, project, devel = reference
    return f"{settings.results_url}/{owner}/{project}/{chroot}/" + ("devel/" if devel else "")


def additional_repos(
    session: Session | None, urls: Iterable[str], chroot: str, settings: FrontendSettings
) -> list[dict[str, Any]]:
    """Repo entries for ``urls``; a ``copr://`` project with module_hotfixes says so."""
    repos = []
    for url in urls:
        expanded = expand_repo_url(url, chroot, settings)
        repo_id = ("copr_" + _REPO_ID.sub("_", expanded.split("://", 1)[-1]).strip("_"))[:100]
        repo = _repo(expanded, repo_id, f"Additional repo {repo_id}")
        reference = _copr_reference(url)
        if reference is not None and session is not None:
            other = get_project(session, reference[0], reference[1])
            if other is not None and other.module_hotfixes:
                repo["module_hotfixes"] = True
        repos.append(repo)
    return repos


def buildroot_repos(
    session: Session | None,
    project: Project,
    project_dir: ProjectDir,
    copr_chroot: ProjectChroot | None,
    chroot_name: str,
    settings: FrontendSettings,
) -> list[dict[str, Any]]:
    owner = project.ownername
    results = settings.results_url
    priority = project.repo_priority
    base = _repo(
        f"{results}/{owner}/{project_dir.name}/{chroot_name}/", "copr_base", "Copr repository",
        priority,
    )  # fmt: skip
    if project.module_hotfixes:
        base["module_hotfixes"] = True
    repos = [base]
    if project.devel_mode:
        repos.append(
            _repo(
                f"{results}/{owner}/{project.name}/{chroot_name}/devel/",
                "copr_base_devel",
                "Copr buildroot",
                priority,
            )  # fmt: skip
        )
    if not project_dir.main:
        repos.append(
            _repo(
                f"{results}/{owner}/{project.name}/{chroot_name}/",
                "copr_parent",
                "Copr repository of the main project",
                priority,
            )  # fmt: skip
        )
    urls = list(project.additional_repos) + (list(copr_chroot.repos) if copr_chroot else [])
    return repos + additional_repos(session, urls, chroot_name, settings)
