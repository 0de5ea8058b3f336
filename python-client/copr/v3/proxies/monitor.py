"""``/api_3/monitor``: the latest build of every package in every chroot of a project."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy


class MonitorProxy(BaseProxy):
    """The project monitor."""

    def monitor(
        self,
        ownername: str,
        projectname: str,
        project_dirname: str | None = None,
        additional_fields: list[str] | None = None,
    ) -> Any:
        """``{"packages": [{"name", "chroots": {chroot: {"build_id", "state", ...}}}]}``.

        ``additional_fields`` may ask for ``url_build_log``, ``url_backend_log`` and
        ``build_url``.
        """
        params = {
            "ownername": ownername,
            "projectname": projectname,
            "project_dirname": project_dirname,
            "additional_fields[]": additional_fields,
        }
        return self._call("/monitor", params=params)
