"""``/api_3/project/permissions``: who may build in or administer a project."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.requests import PUT


class PermissionsProxy(BaseProxy):
    """Project roles (``admin``, ``builder``) and requests for them."""

    def get_permissions(self, ownername: str, projectname: str) -> Any:
        """``{"permissions": {user: {"admin"|"builder": state}}}``."""
        return self._call(
            "/project/permissions/get/{ownername}/{projectname}/",
            params={"ownername": ownername, "projectname": projectname},
            authenticate=True,
        )

    def set_permissions(
        self, ownername: str, projectname: str, permissions: dict[str, dict[str, str]]
    ) -> None:
        """Set roles of several users at once (all or nothing)."""
        self._send(
            "/project/permissions/set/{ownername}/{projectname}/",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            data=permissions,
            authenticate=True,
        )

    def request_permissions(
        self, ownername: str, projectname: str, permissions: dict[str, bool]
    ) -> None:
        """Request (True) or drop/cancel (False) your own roles."""
        self._send(
            "/project/permissions/request/{ownername}/{projectname}/",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            data=permissions,
            authenticate=True,
        )

    def can_build_in(self, who: str, ownername: str, projectname: str) -> bool:
        """Whether user ``who`` may submit builds into the project."""
        result = self._call(
            "/project/permissions/can_build_in/{who}/{ownername}/{projectname}/",
            params={"who": who, "ownername": ownername, "projectname": projectname},
            authenticate=True,
        )
        return bool(result.can_build_in)
