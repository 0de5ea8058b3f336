"""``/api_3/webhook``: the secret in a project's webhook URLs."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.requests import POST


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
