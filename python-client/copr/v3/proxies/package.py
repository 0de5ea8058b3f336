"""``/api_3/package``: packages of a project and their default source."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.proxies.build import BuildOptions, BuildProxy
from copr.v3.requests import DELETE, POST, PUT


class PackageProxy(BaseProxy):
    """Packages: a name plus a source (``scm``, ``pypi``, ``rubygems``, ``custom``, ...)."""

    def get(
        self,
        ownername: str,
        projectname: str,
        packagename: str,
        with_latest_build: bool = False,
        with_latest_succeeded_build: bool = False,
    ) -> Any:
        """One package; the flags add its latest (succeeded) build under ``builds``."""
        params = {
            "ownername": ownername,
            "projectname": projectname,
            "packagename": packagename,
            "with_latest_build": with_latest_build,
            "with_latest_succeeded_build": with_latest_succeeded_build,
        }
        return self._call("/package", params=params)

    def get_list(
        self,
        ownername: str,
        projectname: str,
        pagination: dict[str, Any] | None = None,
        with_latest_build: bool = False,
        with_latest_succeeded_build: bool = False,
    ) -> Any:
        """Packages of a project, one page."""
        params = {
            "ownername": ownername,
            "projectname": projectname,
            "with_latest_build": with_latest_build,
            "with_latest_succeeded_build": with_latest_succeeded_build,
            **(pagination or {}),
        }
        return self._call("/package/list", params=params)

    def add(
        self,
        ownername: str,
        projectname: str,
        packagename: str,
        source_type: str,
        source_dict: dict[str, Any],
    ) -> Any:
        """Add a package with its source (``source_dict`` holds the source's fields)."""
        return self._call(
            "/package/add/{ownername}/{projectname}/{package_name}/{source_type_text}",
            POST,
            params={
                "ownername": ownername,
                "projectname": projectname,
                "package_name": packagename,
                "source_type_text": source_type,
            },
            data={"package_name": packagename, **source_dict},
            authenticate=True,
        )

    def edit(
        self,
        ownername: str,
        projectname: str,
        packagename: str,
        source_type: str | None = None,
        source_dict: dict[str, Any] | None = None,
    ) -> Any:
        """Change a package's source or settings."""
        return self._call(
            "/package/edit/{ownername}/{projectname}/{package_name}/{source_type_text}",
            POST,
            params={
                "ownername": ownername,
                "projectname": projectname,
                "package_name": packagename,
                "source_type_text": source_type,
            },
            data={"package_name": packagename, **(source_dict or {})},
            authenticate=True,
        )

    def reset(self, ownername: str, projectname: str, packagename: str) -> Any:
        """Forget the package's source type and source settings."""
        data = {"ownername": ownername, "projectname": projectname, "package_name": packagename}
        return self._call("/package/reset", PUT, data=data, authenticate=True)

    def build(
        self,
        ownername: str,
        projectname: str,
        packagename: str,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """Build the package from its configured source."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "package_name": packagename,
            "project_dirname": project_dirname,
        }
        # The result is a build: bind it to a build proxy so that wait() can poll it.
        return BuildProxy(self.config)._create("/package/build", data, buildopts=buildopts)

    def delete(self, ownername: str, projectname: str, packagename: str) -> Any:
        """Delete a package and its builds."""
        data = {"ownername": ownername, "projectname": projectname, "package_name": packagename}
        return self._call("/package/delete", DELETE, data=data, authenticate=True)
