"""``/api_3/notification-endpoint`` and ``/api_3/notification-delivery``: HTTPS endpoints
that hear about a project's builds (``build.started``, ``chroot.ended``,
``build.ended``), and what was delivered to them.  Not in python-copr 2.7: Copr has no
outbound notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.requests import DELETE, POST, PUT


def _project(ownername: str, projectname: str) -> dict[str, Any]:
    return {"ownername": ownername, "projectname": projectname}


class NotificationProxy(BaseProxy):
    """A project's notification endpoints (its admins only)."""

    def get_endpoint_list(self, ownername: str, projectname: str) -> Any:
        """The project's endpoints (without their secrets)."""
        return self._call(
            "/notification-endpoint/list/{ownername}/{projectname}",
            params=_project(ownername, projectname),
            authenticate=True,
        )

    def add_endpoint(
        self,
        ownername: str,
        projectname: str,
        url: str,
        events: Iterable[str] | None = None,
        secret: str | None = None,
    ) -> Any:
        """A new endpoint; the result's ``secret`` (generated unless given) signs every
        body (``X-Copr-Signature-256: sha256=<HMAC-SHA256>``) and is shown only here."""
        data: dict[str, Any] = {"url": url}
        if events is not None:
            data["events"] = list(events)
        if secret is not None:
            data["secret"] = secret
        return self._call(
            "/notification-endpoint/add/{ownername}/{projectname}",
            POST,
            params=_project(ownername, projectname),
            data=data,
            authenticate=True,
        )

    def edit_endpoint(
        self,
        ownername: str,
        projectname: str,
        endpoint_id: int,
        url: str | None = None,
        events: Iterable[str] | None = None,
        enabled: bool | None = None,
    ) -> Any:
        """Change an endpoint; ``enabled=True`` revives one disabled after failures."""
        data: dict[str, Any] = {}
        if url is not None:
            data["url"] = url
        if events is not None:
            data["events"] = list(events)
        if enabled is not None:
            data["enabled"] = enabled
        return self._call(
            "/notification-endpoint/edit/{ownername}/{projectname}/{endpoint_id}",
            PUT,
            params={**_project(ownername, projectname), "endpoint_id": int(endpoint_id)},
            data=data,
            authenticate=True,
        )

    def delete_endpoint(self, ownername: str, projectname: str, endpoint_id: int) -> Any:
        return self._call(
            "/notification-endpoint/delete/{ownername}/{projectname}/{endpoint_id}",
            DELETE,
            params={**_project(ownername, projectname), "endpoint_id": int(endpoint_id)},
            authenticate=True,
        )

    def get_delivery_list(
        self,
        ownername: str,
        projectname: str,
        endpoint_id: int | None = None,
        state: str | None = None,
        pagination: dict[str, Any] | None = None,
    ) -> Any:
        """Deliveries, newest first: event, build, state (``pending``, ``delivered``,
        ``failed``), attempts, the last answer or error, when the next attempt is due."""
        params: dict[str, Any] = {**_project(ownername, projectname), **(pagination or {})}
        if endpoint_id is not None:
            params["endpoint_id"] = int(endpoint_id)
        if state is not None:
            params["state"] = state
        return self._call(
            "/notification-delivery/list/{ownername}/{projectname}",
            params=params,
            authenticate=True,
        )
