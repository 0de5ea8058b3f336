"""``/api_3/build-chroot``: the per-chroot parts of a build."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy


class BuildChrootProxy(BaseProxy):
    """One chroot of a build: state, result URL, config, built packages."""

    def get(self, build_id: int, chrootname: str) -> Any:
        """One build chroot."""
        return self._call("/build-chroot", params={"build_id": build_id, "chrootname": chrootname})

    def get_list(self, build_id: int, pagination: dict[str, Any] | None = None) -> Any:
        """The chroots of a build, one page."""
        return self._call("/build-chroot/list", params={"build_id": build_id, **(pagination or {})})

    def get_build_config(self, build_id: int, chrootname: str) -> Any:
        """The configuration the chroot's build runs with."""
        return self._call(
            "/build-chroot/build-config",
            params={"build_id": build_id, "chrootname": chrootname},
        )

    def get_built_packages(self, build_id: int, chrootname: str) -> Any:
        """``{"packages": [NEVRA dict, ...]}`` built in the chroot."""
        return self._call(
            "/build-chroot/built-packages",
            params={"build_id": build_id, "chrootname": chrootname},
        )
