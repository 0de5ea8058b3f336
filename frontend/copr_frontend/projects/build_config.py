"""A chroot's build config, computed once: what its buildroot gets and how it is built.

Three answers serialize from :func:`chroot_build_config`: API v3
``project-chroot/build-config`` (``copr-cli mock-config`` renders it), API v3
``build-chroot/build-config`` and the build task the builder runs
(``/backend/get-build-task/``).  The source task's repos come from :func:`additional_repos`.

The buildroot repos follow Copr's ids: ``copr_base`` is the project's results for the
chroot, ``copr_base_devel`` its ``devel/`` repo when the project does not publish
automatically (``devel_mode``, copr-cli's ``--disable_createrepo``) so that its builds still
see each other, ``copr_coprdir`` the results of the build's dir when that is not the main
one (a pull-request or custom dir).  Then the project's and the chroot's additional repos,
each with the id Copr derives from the URL as the user wrote it (every run of characters
other than ASCII letters and digits becomes one ``_``, none at either end) and the name
``Additional repo <id>``.  An additional repo's URL may be ``copr://owner/project[/devel]``
(another Copr project's results), may hold ``$chroot`` and ``$distname`` (the chroot's name
without its version and arch), and may carry ``?priority=N`` (the repo's priority, dropped
from the URL).  A repo of a project with ``module_hotfixes`` says so, so that dnf lets its
packages replace modular ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from copr_frontend.projects.logic import get_project
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.settings import FrontendSettings

if TYPE_CHECKING:
    from copr_frontend.builds.models import Build

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def choose(build_value: str | None, chroot_value: str | None, project_value: str) -> str:
    """The first set value of build, chroot, project (``unchanged`` means not set)."""
    for value in (build_value, chroot_value):
        if value and value != "unchanged":
            return value
    return project_value


def repo_id(url: str) -> str:
    """Copr's id of an additional repo: its URL as written, runs of other characters than
    ASCII letters and digits as one ``_``, none at either end (``copr://a/b`` → ``copr_a_b``).
    """
    return _NOT_ALNUM.sub("_", url).strip("_")


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


def _priority(url: str) -> tuple[str, int | None]:
    """``url`` without its ``priority`` query parameter, and that priority (if a number)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if "priority" not in query:
        return url, None
    value = query.pop("priority")[0]
    stripped = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return stripped, int(value) if value.isdigit() else None


def expand_repo_url(url: str, chroot: str, settings: FrontendSettings) -> str:
    """The baseurl of an additional repo for ``chroot`` (see the module's docstring)."""
    url = _priority(url)[0]
    reference = _copr_reference(url)
    if reference is not None:
        owner, project, devel = reference
        url = f"{settings.results_url}/{owner}/{project}/{chroot}/" + ("devel/" if devel else "")
    elif url.startswith("copr://"):
        url = f"{settings.results_url}/{url.removeprefix('copr://').strip('/')}/{chroot}/"
    return url.replace("$chroot", chroot).replace("$distname", chroot.rsplit("-", 2)[0])


def additional_repos(
    session: Session | None, urls: Iterable[str], chroot: str, settings: FrontendSettings
) -> list[dict[str, Any]]:
    """Repo entries for ``urls``; a ``copr://`` project with module_hotfixes says so."""
    repos = []
    for url in urls:
        rid = repo_id(url)
        repo = _repo(expand_repo_url(url, chroot, settings), rid, f"Additional repo {rid}")
        bare, priority = _priority(url)
        if priority is not None:
            repo["priority"] = priority
        reference = _copr_reference(bare)
        if reference is not None and session is not None:
            other = get_project(session, reference[0], reference[1])
            if other is not None and other.module_hotfixes:
                repo["module_hotfixes"] = True
        repos.append(repo)
    return repos


def _own_repos(
    project: Project, project_dir: ProjectDir, chroot: str, settings: FrontendSettings
) -> list[dict[str, Any]]:
    """The project's own repos for ``chroot``: base, devel, and the dir's (Copr's ids)."""
    project_url = f"{settings.results_url}/{project.ownername}/{project.name}/{chroot}/"
    priority = project.repo_priority
    base = _repo(project_url, "copr_base", "Copr repository", priority)
    if project.module_hotfixes:
        base["module_hotfixes"] = True
    repos = [base]
    if project.devel_mode:
        repos.append(_repo(f"{project_url}devel/", "copr_base_devel", "Copr buildroot", priority))
    if not project_dir.main:
        dir_url = f"{settings.results_url}/{project.ownername}/{project_dir.name}/{chroot}/"
        repos.append(_repo(dir_url, "copr_coprdir", "Coprdir repository", priority))
    return repos


@dataclass
class BuildConfig:
    """How one chroot of a project builds, for one build or for none (the project's)."""

    chroot: str
    repos: list[dict[str, Any]]
    """Every repo of the buildroot: the project's own, then :attr:`additional_repos`."""
    additional_repos: list[dict[str, Any]]
    """The project's and the chroot's additional repos (also at the end of :attr:`repos`)."""
    buildroot_pkgs: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    """Module toggles (``enable``/``disable`` commands) for the buildroot."""
    with_opts: list[str] = field(default_factory=list)
    without_opts: list[str] = field(default_factory=list)
    enable_net: bool = False
    isolation: str = "default"
    bootstrap: str = "default"
    bootstrap_image: str | None = None
    """The image of ``bootstrap == "image"``, None for the other bootstrap modes."""
    timeout: int | None = None
    memory_reqs: int | None = None
    is_background: bool = False


def chroot_build_config(
    session: Session | None,
    project: Project,
    copr_chroot: ProjectChroot | None,
    chroot: str,
    settings: FrontendSettings,
    build: Build | None = None,
) -> BuildConfig:
    """The build config of ``chroot`` in ``project`` — for ``build`` (its dir, its
    overrides of bootstrap, isolation, network, timeout) or, without one, the project's.
    ``copr_chroot`` is None for a build whose chroot the project has since dropped.
    """
    project_dir = build.dir if build is not None else project.main_dir
    urls = list(project.additional_repos) + (list(copr_chroot.repos) if copr_chroot else [])
    extra = additional_repos(session, urls, chroot, settings)
    chroot_image = copr_chroot.bootstrap_image if copr_chroot else None
    chroot_isolation = copr_chroot.isolation if copr_chroot else None
    chroot_bootstrap = copr_chroot.bootstrap if copr_chroot else None
    config = BuildConfig(
        chroot=chroot,
        repos=_own_repos(project, project_dir, chroot, settings) + extra,
        additional_repos=extra,
        buildroot_pkgs=list(copr_chroot.buildroot_pkgs) if copr_chroot else [],
        modules=list(copr_chroot.module_toggle) if copr_chroot else [],
        with_opts=list(copr_chroot.with_opts) if copr_chroot else [],
        without_opts=list(copr_chroot.without_opts) if copr_chroot else [],
        enable_net=project.enable_net,
        isolation=choose(None, chroot_isolation, project.isolation),
        bootstrap=choose(None, chroot_bootstrap, project.bootstrap),
        bootstrap_image=chroot_image,
    )
    if build is not None:
        config.enable_net = build.enable_net
        config.isolation = choose(build.isolation, chroot_isolation, project.isolation)
        config.bootstrap = choose(build.bootstrap, chroot_bootstrap, project.bootstrap)
        config.bootstrap_image = build.bootstrap_image or chroot_image
        config.timeout = build.timeout
        config.memory_reqs = build.memory_reqs
        config.is_background = build.is_background
    if config.bootstrap != "image":
        # An image is only used by the "image" mode (Copr's custom_image).
        config.bootstrap_image = None
    return config


def _common_json(config: BuildConfig) -> dict[str, Any]:
    data: dict[str, Any] = {
        "chroot": config.chroot,
        "repos": config.repos,
        "additional_repos": config.additional_repos,
        "additional_packages": config.buildroot_pkgs,
        "enable_net": config.enable_net,
        "with_opts": config.with_opts,
        "without_opts": config.without_opts,
        "isolation": config.isolation,
        "bootstrap": config.bootstrap,
    }
    if config.bootstrap_image:
        data["bootstrap_image"] = config.bootstrap_image
    return data


def project_chroot_config_json(config: BuildConfig) -> dict[str, Any]:
    """API v3 ``project-chroot/build-config``."""
    return {**_common_json(config), "additional_modules": config.modules}


def build_chroot_config_json(config: BuildConfig) -> dict[str, Any]:
    """API v3 ``build-chroot/build-config``."""
    return {
        **_common_json(config),
        "memory_limit": config.memory_reqs,
        "timeout": config.timeout,
        "is_background": config.is_background,
    }


# The task's name of an API key; the task has no additional_repos (they end its repos).
_TASK_NAMES = {"additional_packages": "buildroot_pkgs"}


def task_config_json(config: BuildConfig) -> dict[str, Any]:
    """The build config's part of a build task, in the keys ``copr-rpmbuild`` reads."""
    task = {
        _TASK_NAMES.get(key, key): value
        for key, value in _common_json(config).items()
        if key != "additional_repos"
    }
    task["timeout"] = config.timeout
    task["memory_reqs"] = config.memory_reqs
    if config.modules:
        task["modules"] = {"toggle": config.modules}
    return task
