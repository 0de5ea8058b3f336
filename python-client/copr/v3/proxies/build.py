"""``/api_3/build``: get, list, cancel, delete and create builds from every source type;
get and cancel a rebuild wave.
"""

from __future__ import annotations

from typing import Any

from copr.v3.exceptions import CoprValidationException
from copr.v3.proxies import BaseProxy, file_opener, require_readable
from copr.v3.requests import DELETE, POST, PUT, ProgressCallback

BuildOptions = dict[str, Any]


def split_buildopts(
    buildopts: BuildOptions | None,
) -> tuple[BuildOptions, ProgressCallback | None]:
    """Build options without ``progress_callback`` (which is not sent), and the callback."""
    options = dict(buildopts or {})
    callback = options.pop("progress_callback", None)
    return options, callback


class BuildProxy(BaseProxy):
    """Builds: one source build plus one build per chroot."""

    def get(self, build_id: int) -> Any:
        """One build."""
        return self._call(f"/build/{int(build_id)}")

    def get_source_chroot(self, build_id: int) -> Any:
        """The source (SRPM) build of a build."""
        return self._call(f"/build/source-chroot/{int(build_id)}")

    def get_source_build_config(self, build_id: int) -> Any:
        """The configuration the SRPM build runs with."""
        return self._call(f"/build/source-build-config/{int(build_id)}")

    def get_built_packages(self, build_id: int) -> Any:
        """``{chroot: {"packages": [NEVRA dict, ...]}}`` of a finished build."""
        return self._call(f"/build/built-packages/{int(build_id)}")

    def get_list(
        self,
        ownername: str,
        projectname: str,
        packagename: str | None = None,
        status: str | None = None,
        pagination: dict[str, Any] | None = None,
    ) -> Any:
        """Builds of a project (optionally of one package, in one state), one page."""
        params = {
            "ownername": ownername,
            "projectname": projectname,
            "packagename": packagename,
            "status": status,
            **(pagination or {}),
        }
        return self._call("/build/list", params=params)

    def cancel(self, build_id: int) -> Any:
        """Cancel a build that has not finished yet."""
        return self._call(f"/build/cancel/{int(build_id)}", PUT, authenticate=True)

    def cancel_list(self, build_ids: list[int]) -> Any:
        """Cancel several builds, all or none (none when one has already ended); the
        result lists them as ``builds``.
        """
        return self._call(
            "/build/cancel/list",
            PUT,
            data={"builds": [int(build_id) for build_id in build_ids]},
            authenticate=True,
        )

    def get_wave(self, wave_id: int) -> Any:
        """A rebuild of dependents (a wave): ``project`` and ``trigger_build_id`` (what
        started it), ``builds`` (the ids it queued) and ``cycles`` (the dependency cycles it
        broke, each a list of ``owner/project/package`` names, each requiring the next).
        """
        return self._call(f"/build/wave/{int(wave_id)}")

    def cancel_wave(self, wave_id: int) -> Any:
        """Cancel the unfinished builds of a rebuild of dependents (a build's
        ``triggered_by["wave_id"]``); the result lists them as ``builds``.
        """
        return self._call(f"/build/cancel-wave/{int(wave_id)}", PUT, authenticate=True)

    def delete(self, build_id: int) -> Any:
        """Delete a build and its results."""
        return self._call(f"/build/delete/{int(build_id)}", DELETE, authenticate=True)

    def delete_list(self, build_ids: list[int]) -> Any:
        """Delete several builds; the result lists them as ``builds``."""
        return self._call(
            "/build/delete/list",
            DELETE,
            data={"builds": [int(build_id) for build_id in build_ids]},
            authenticate=True,
        )

    def check_before_build(
        self,
        ownername: str,
        projectname: str,
        project_dirname: str | None = None,
        buildopts: BuildOptions | None = None,
    ) -> Any:
        """Whether a build could be submitted (project, permission, chroots), sending none."""
        options, _ = split_buildopts(buildopts)
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "project_dirname": project_dirname,
            **options,
        }
        return self._call("/build/check-before-build", POST, data=data, authenticate=True)

    def create_from_urls(
        self,
        ownername: str,
        projectname: str,
        urls: list[str],
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """One build per URL of an SRPM or a spec file; the result is a list of builds."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "pkgs": urls,
            "project_dirname": project_dirname,
        }
        return self._create("/build/create/url", data, buildopts=buildopts)

    def create_from_url(
        self,
        ownername: str,
        projectname: str,
        url: str,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build from the URL of an SRPM or a spec file."""
        if len(url.split()) > 1:
            raise CoprValidationException(
                "This method doesn't allow submitting multiple URLs at once. "
                "Use `create_from_urls` instead."
            )
        builds = self.create_from_urls(
            ownername, projectname, [url], buildopts=buildopts, project_dirname=project_dirname
        )
        return builds[0] if isinstance(builds, list) else builds

    def create_from_file(
        self,
        ownername: str,
        projectname: str,
        path: str,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build from a local SRPM, streamed to the server.

        ``buildopts["progress_callback"]`` is called with the upload stream (``len``,
        ``bytes_read``) as the upload proceeds.
        """
        return self._upload("/build/create/upload", ownername, projectname, path,
                            buildopts, project_dirname)  # fmt: skip

    def create_from_rpm_upload(
        self,
        ownername: str,
        projectname: str,
        path: str,
        *,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """Publish an already built binary RPM, skipping the SRPM and import phases."""
        return self._upload("/build/create/rpm-upload", ownername, projectname, path,
                            buildopts, project_dirname)  # fmt: skip

    def _upload(
        self,
        endpoint: str,
        ownername: str,
        projectname: str,
        path: str,
        buildopts: BuildOptions | None,
        project_dirname: str | None,
    ) -> Any:
        require_readable(path)
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "project_dirname": project_dirname,
        }
        files = {"pkgs": file_opener(path, "application/x-rpm")}
        return self._create(endpoint, data, files=files, buildopts=buildopts)

    def create_from_scm(
        self,
        ownername: str,
        projectname: str,
        clone_url: str,
        committish: str = "",
        subdirectory: str = "",
        spec: str = "",
        scm_type: str = "git",
        source_build_method: str = "rpkg",
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build from a git or svn repository."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "clone_url": clone_url,
            "committish": committish,
            "subdirectory": subdirectory,
            "spec": spec,
            "scm_type": scm_type,
            "source_build_method": source_build_method,
            "project_dirname": project_dirname,
        }
        return self._create("/build/create/scm", data, buildopts=buildopts)

    def create_from_distgit(
        self,
        ownername: str,
        projectname: str,
        packagename: str,
        committish: str | None = None,
        namespace: str | None = None,
        distgit: str | None = None,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build from a DistGit instance's package repository."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "distgit": distgit,
            "namespace": namespace,
            "package_name": packagename,
            "committish": committish,
            "project_dirname": project_dirname,
        }
        return self._create("/build/create/distgit", data, buildopts=buildopts)

    def create_from_pypi(
        self,
        ownername: str,
        projectname: str,
        pypi_package_name: str,
        pypi_package_version: str | None = None,
        spec_template: str | None = "",
        python_versions: list[int | str] | None = None,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
        spec_generator: str | None = None,
    ) -> Any:
        """A build of a PyPI package (None for the latest version)."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "pypi_package_name": pypi_package_name,
            "pypi_package_version": pypi_package_version,
            "spec_generator": spec_generator,
            "spec_template": spec_template,
            "python_versions": python_versions or [3, 2],
            "project_dirname": project_dirname,
        }
        return self._create("/build/create/pypi", data, buildopts=buildopts)

    def create_from_rubygems(
        self,
        ownername: str,
        projectname: str,
        gem_name: str,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build of a gem from rubygems.org."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "gem_name": gem_name,
            "project_dirname": project_dirname,
        }
        return self._create("/build/create/rubygems", data, buildopts=buildopts)

    def create_from_custom(
        self,
        ownername: str,
        projectname: str,
        script: str,
        script_chroot: str | None = None,
        script_builddeps: list[str] | None = None,
        script_resultdir: str | None = None,
        script_repos: str | None = None,
        buildopts: BuildOptions | None = None,
        project_dirname: str | None = None,
    ) -> Any:
        """A build whose sources a custom script generates."""
        data = {
            "ownername": ownername,
            "projectname": projectname,
            "script": script,
            "chroot": script_chroot,
            "builddeps": script_builddeps,
            "resultdir": script_resultdir,
            "project_dirname": project_dirname,
            "repos": script_repos,
        }
        return self._create("/build/create/custom", data, buildopts=buildopts)

    def _create(
        self,
        endpoint: str,
        data: dict[str, Any],
        files: dict[str, Any] | None = None,
        buildopts: BuildOptions | None = None,
    ) -> Any:
        options, callback = split_buildopts(buildopts)
        return self._call(
            endpoint,
            POST,
            data={**data, **options},
            files=files,
            progress_callback=callback,
            authenticate=True,
        )
