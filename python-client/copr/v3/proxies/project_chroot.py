"""``/api_3/project-chroot``: a project's settings for one chroot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from copr.v3.proxies import BaseProxy, file_opener, require_readable
from copr.v3.requests import PUT, UploadFile


class ProjectChrootProxy(BaseProxy):
    """Per-chroot buildroot settings of a project."""

    def get(self, ownername: str, projectname: str, chrootname: str) -> Any:
        """The chroot's settings in the project."""
        return self._call(
            "/project-chroot",
            params={"ownername": ownername, "projectname": projectname, "chrootname": chrootname},
        )

    def get_build_config(self, ownername: str, projectname: str, chrootname: str) -> Any:
        """What a build in this chroot of the project is configured with (repos, ...)."""
        return self._call(
            "/project-chroot/build-config",
            params={"ownername": ownername, "projectname": projectname, "chrootname": chrootname},
        )

    def edit(
        self,
        ownername: str,
        projectname: str,
        chrootname: str,
        additional_packages: list[str] | str | None = None,
        additional_repos: list[str] | str | None = None,
        additional_modules: list[str] | str | None = None,
        comps: str | None = None,
        delete_comps: bool = False,
        with_opts: list[str] | str | None = None,
        without_opts: list[str] | str | None = None,
        bootstrap: str | None = None,
        bootstrap_image: str | None = None,
        isolation: str | None = None,
        reset_fields: list[str] | None = None,
    ) -> Any:
        """Change the chroot's settings; ``comps`` is the path of a comps.xml to upload."""
        if bootstrap_image:
            bootstrap = "custom_image"
        data = {
            "additional_repos": additional_repos,
            "additional_packages": additional_packages,
            "additional_modules": additional_modules,
            "delete_comps": delete_comps,
            "with_opts": with_opts,
            "without_opts": without_opts,
            "bootstrap": bootstrap,
            "bootstrap_image": bootstrap_image,
            "isolation": isolation,
            "reset_fields": reset_fields,
        }
        files: dict[str, Callable[[], UploadFile]] = {}
        if comps:
            require_readable(comps)
            files["upload_comps"] = file_opener(comps, "application/text")
        return self._call(
            "/project-chroot/edit/{ownername}/{projectname}/{chrootname}",
            PUT,
            params={"ownername": ownername, "projectname": projectname, "chrootname": chrootname},
            data=data,
            files=files,
            authenticate=True,
        )
