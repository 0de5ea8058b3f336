"""``/api_3/webhook``: the secret in a project's webhook URLs, the receiver URLs, and the
forge secret forges sign their requests with (``info`` and ``set_forge_secret`` are not
in python-copr 2.7)."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.requests import POST, PUT


class WebhookProxy(BaseProxy):
    """Webhook secrets."""

    def generate(self, ownername: str, projectname: str) -> Any:
        """A new webhook secret (``webhook_secret``); the old URLs stop working."""
        return self._call(
            "/webhook/generate/{ownername}/{projectname}",
            POST,
            params={"ownername": ownername, "projectname": projectname},
            authenticate=True,
        )

    def info(self, ownername: str, projectname: str) -> Any:
        """``webhook_secret``, ``forge_secret`` (or None) and the receiver ``urls``."""
        return self._call(
            "/webhook/info/{ownername}/{projectname}",
            params={"ownername": ownername, "projectname": projectname},
            authenticate=True,
        )

    def set_forge_secret(
        self, ownername: str, projectname: str, secret: str | None = None, generate: bool = False
    ) -> Any:
        """Set the forge secret (GitHub's and Bitbucket's signing secret, GitLab's token),
        make a random one with ``generate``, or remove it with neither."""
        data: dict[str, Any] = {"generate": True} if generate else {"forge_secret": secret}
        return self._call(
            "/webhook/forge-secret/{ownername}/{projectname}",
            PUT,
            params={"ownername": ownername, "projectname": projectname},
            data=data,
            authenticate=True,
        )
