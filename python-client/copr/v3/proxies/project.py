"""``/api_3/project``: get, list, search, add, edit, fork, delete, regenerate-repos."""

from __future__ import annotations

import warnings
from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.proxies.permissions import PermissionsProxy
from copr.v3.requests import DELETE, POST, PUT


def _bootstrap_compat(data: dict[str, Any], use_bootstrap_container: bool | None) -> None:
    if use_bootstrap_container is None:
        return
    data["bootstrap"] = "on" if use_bootstrap_container else "off"
    warnings.warn(
        "The 'use_bootstrap_container' argument is obsoleted by 'bootstrap' and "
        "'bootstrap_image'",
        DeprecationWarning,
        stacklevel=3,
    )


class ProjectProxy(BaseProxy):
    """Projects (a Copr repository of one owner, user or ``@group``)."""

    def get(self, ownername: str, projectname: str) -> Any:
        """One project."""
        return self._call("/project", params={"ownername": ownername, "projectname": projectname})

    def get_list(
        self, ownername: str | None = None, pagination: dict[str, Any] | None = None
    ) -> Any:
        """Projects of ``ownername`` (all projects when None), one page."""
        return self._call("/project/list", params={"ownername": ownername, **(pagination or {})})

    def search(self, query: str, pagination: dict[str, Any] | None = None) -> Any:
        """Projects matching a full-text ``query``, one page."""
        return self._call("/project/search", params={"query": query, **(pagination or {})})

    def add(
        self,
        ownername: str,
        projectname: str,
        chroots: list[str] | None,
        description: str | None = None,
        instructions: str | None = None,
        homepage: str | None = None,
        contact: str | None = None,
        additional_repos: list[str] | None = None,
        unlisted_on_hp: bool | None = False,
        enable_net: bool | None = False,
        persistent: bool = False,
        auto_prune: bool | None = True,
        use_bootstrap_container: bool | None = None,
        devel_mode: bool | None = False,
        delete_after_days: int | str | None = None,
        multilib: bool | None = False,
        module_hotfixes: bool | None = False,
        bootstrap: str | None = None,
        bootstrap_image: str | None = None,
        isolation: str | None = None,
        follow_fedora_branching: bool | None = True,
        fedora_review: bool | None = None,
        appstream: bool | None = False,
        runtime_dependencies: list[str] | str | None = None,
        packit_forge_projects_allowed: list[str] | None = None,
        repo_priority: int | str | None = None,
        exist_ok: bool = False,
        storage: str | None = None,
        require_real_buildroot: bool | None = None,
        rpmlint_fail_on_errors: bool | None = None,
        rebuild_dependents: str | None = None,
        keep_builds: int | None = None,
        email_notifications: bool | None = None,
    ) -> Any:
        """Create a project; ``exist_ok`` returns the existing one instead of a 409.

        ``keep_builds`` (this project's own, not Copr's): keep only the newest this many
        finished builds of each package per chroot (0 or None: no limit).
        ``rebuild_dependents`` (ours too): ``off``, ``direct`` or ``transitive``: which
        packages here a changed dependency rebuilds.
        """
        data: dict[str, Any] = {
            "name": projectname,
            "chroots": chroots,
            "description": description,
            "instructions": instructions,
            "homepage": homepage,
            "contact": contact,
            "additional_repos": additional_repos,
            "unlisted_on_hp": unlisted_on_hp,
            "enable_net": enable_net,
            "persistent": persistent,
            "auto_prune": auto_prune,
            "bootstrap": bootstrap,
            "bootstrap_image": bootstrap_image,
            "isolation": isolation,
            "follow_fedora_branching": follow_fedora_branching,
            "devel_mode": devel_mode,
            "delete_after_days": delete_after_days,
            "multilib": multilib,
            "module_hotfixes": module_hotfixes,
            "fedora_review": fedora_review,
            "appstream": appstream,
            "runtime_dependencies": runtime_dependencies,
            "packit_forge_projects_allowed": packit_forge_projects_allowed,
            "repo_priority": repo_priority,
            "storage": storage,
            "require_real_buildroot": require_real_buildroot,
            "rpmlint_fail_on_errors": rpmlint_fail_on_errors,
            "rebuild_dependents": rebuild_dependents,
            "keep_builds": keep_builds,
            "email_notifications": email_notifications,
        }
        _bootstrap_compat(data, use_bootstrap_container)
        return self._call(
            "/project/add/{ownername}",
            POST,
            params={"ownername": ownername, "exist_ok": exist_ok},
            data=data,
            authenticate=True,
        )

    def edit(
        self,
        ownername: str,
        projectname: str,
        chroots: list[str] | None = None,
        description: str | None = None,
        instructions: str | None = None,
        homepage: str | None = None,
        contact: str | None = None,
        additional_repos: list[str] | None = None,
        unlisted_on_hp: bool | None = None,
        enable_net: bool | None = None,
        auto_prune: bool | None = None,
        use_bootstrap_container: bool | None = None,
        devel_mode: bool | None = None,
        delete_after_days: int | str | None = None,
        multilib: bool | None = None,
        module_hotfixes: bool | None = None,
        bootstrap: str | None = None,
        bootstrap_image: str | None = None,
        isolation: str | None = None,
        follow_fedora_branching: bool | None = None,
        fedora_review: bool | None = None,
        appstream: bool | None = None,
        runtime_dependencies: list[str] | str | None = None,
        packit_forge_projects_allowed: list[str] | None = None,
        repo_priority: int | str | None = None,
        require_real_buildroot: bool | None = None,
        rpmlint_fail_on_errors: bool | None = None,
        rebuild_dependents: str | None = None,
        keep_builds: int | None = None,
        email_notifications: bool | None = None,
    ) -> Any:
        """Change a project; None leaves a field as it is.

        ``require_real_buildroot`` (this project's own, not Copr's): builds must run in a
        mock chroot; on a builder with only the host system they fail.
        ``rpmlint_fail_on_errors`` (ours too): builds fail when rpmlint finds an error.
        ``rebuild_dependents`` (ours too): ``off``, ``direct`` or ``transitive``.
        ``keep_builds`` (ours too): keep only the newest this many finished builds of each
        package per chroot; 0 removes the limit.
        ``email_notifications`` (ours too): e-mail the submitter when a build ends, to
        users who asked for build e-mail (:class:`~copr.v3.proxies.user.UserProxy`).
        """
        data: dict[str, Any] = {
            "chroots": chroots,
            "description": description,
            "instructions": instructions,
            "homepage": homepage,
            "contact": contact,
            "repos": additional_repos,
            "unlisted_on_hp": unlisted_on_hp,
            "enable_net": enable_net,
            "auto_prune": auto_prune,
            "bootstrap": bootstrap,
            "isolation": isolation,
            "follow_fedora_branching": follow_fedora_branching,
            "bootstrap_image": bootstrap_image,
            "devel_mode": devel_mode,
            "delete_after_days": delete_after_days,
            "multilib": multilib,
            "module_hotfixes": module_hotfixes,
            "fedora_review": fedora_review,
            "appstream": appstream,
            "runtime_dependencies": runtime_dependencies,
            "packit_forge_projects_allowed": packit_forge_projects_allowed,
            "repo_priority": repo_priority,
            "require_real_buildroot": require_real_buildroot,
            "rpmlint_fail_on_errors": rpmlint_fail_on_errors,
            "rebuild_dependents": rebuild_dependents,
            "keep_builds": keep_builds,
            "email_notifications": email_notifications,
        }
        _bootstrap_compat(data, use_bootstrap_container)
        return self._call(
            "/project/edit/{ownername}/{projectname}",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            data=data,
            authenticate=True,
        )

    def delete(self, ownername: str, projectname: str) -> Any:
        """Delete a project with all its builds (the result is the deleted project)."""
        return self._call(
            "/project/delete/{ownername}/{projectname}",
            DELETE,
            params={"ownername": ownername, "projectname": projectname},
            data={"verify": True},
            authenticate=True,
        )

    def fork(
        self,
        ownername: str,
        projectname: str,
        dstownername: str,
        dstprojectname: str,
        confirm: bool = False,
    ) -> Any:
        """Fork a project; forking into an existing project needs ``confirm=True``."""
        return self._call(
            "/project/fork/{ownername}/{projectname}",
            POST,
            params={"ownername": ownername, "projectname": projectname},
            data={"name": dstprojectname, "ownername": dstownername, "confirm": confirm},
            authenticate=True,
        )

    def regenerate_repos(self, ownername: str, projectname: str) -> Any:
        """Ask the backend to regenerate the repository metadata of every chroot."""
        return self._call(
            "/project/regenerate-repos/{ownername}/{projectname}",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            authenticate=True,
        )

    def cancel_pending(self, ownername: str, projectname: str) -> Any:
        """Cancel the project's builds no builder has taken yet (queued, importing or
        waiting for their source build); the result lists their ids as ``builds``.
        """
        return self._call(
            "/project/cancel-pending/{ownername}/{projectname}",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            authenticate=True,
        )

    # The permission calls live on the project proxy in python-copr; they are kept here
    # for scripts and also offered as their own proxy (``client.permissions_proxy``).
    def _permissions(self) -> PermissionsProxy:
        return PermissionsProxy(self.config)

    def can_build_in(self, who: str, ownername: str, projectname: str) -> bool:
        """Whether user ``who`` may submit builds into the project."""
        return self._permissions().can_build_in(who, ownername, projectname)

    def get_permissions(self, ownername: str, projectname: str) -> Any:
        """``{"permissions": {user: {"admin"|"builder": state}}}``."""
        return self._permissions().get_permissions(ownername, projectname)

    def set_permissions(
        self, ownername: str, projectname: str, permissions: dict[str, dict[str, str]]
    ) -> None:
        """Set roles: ``{user: {"admin"|"builder": "nothing"|"request"|"approved"}}``."""
        self._permissions().set_permissions(ownername, projectname, permissions)

    def request_permissions(
        self, ownername: str, projectname: str, permissions: dict[str, bool]
    ) -> None:
        """Request (True) or give up / cancel (False) your roles: ``{"builder": True}``."""
        self._permissions().request_permissions(ownername, projectname, permissions)
