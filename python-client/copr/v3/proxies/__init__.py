"""The base of every API resource proxy: config, transport, auth and account calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import requests

from copr.v3.auth import ApiToken, auth_from_config
from copr.v3.exceptions import CoprValidationException
from copr.v3.helpers import config_from_file
from copr.v3.requests import GET, POST, ProgressCallback, Request, UploadFile
from copr.v3.results import munchify

__all__ = ["BaseProxy"]


class BaseProxy:
    """Parent of all proxies; on its own it checks the API and the credentials."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.request = Request(
            api_base_url=self.api_base_url,
            connection_attempts=config.get("connection_attempts", 1),
        )
        self._auth: ApiToken | None = None

    @classmethod
    def create_from_config_file(cls, path: str | None = None) -> Self:
        return cls(config_from_file(path))

    @property
    def api_base_url(self) -> str:
        return str(self.config["copr_url"]).rstrip("/") + "/api_3/"

    @property
    def auth(self) -> ApiToken:
        if self._auth is None:
            self._auth = auth_from_config(self.config)
        return self._auth

    def _send(
        self,
        endpoint: str,
        method: str = GET,
        *,
        params: dict[str, Any] | None = None,
        data: Any = None,
        authenticate: bool = False,
        files: dict[str, Any] | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> requests.Response:
        return self.request.send(
            endpoint=endpoint,
            method=method,
            params=params,
            data=data,
            auth=self.auth.auth if authenticate else None,
            files=files,
            progress_callback=progress_callback,
        )

    def _call(self, endpoint: str, method: str = GET, **kwargs: Any) -> Any:
        """Send and return the result as a Munch (or a List) bound to this proxy."""
        return munchify(self._send(endpoint, method, **kwargs), proxy=self)

    def home(self) -> Any:
        """The API v3 root."""
        return self._call("")

    def auth_check(self) -> Any:
        """Who the configured token belongs to (``{"id", "name"}``); fails if invalid."""
        return self._call("/auth-check", authenticate=True)

    def auth_username(self) -> str:
        """The user name of this config, asking the server when the config lacks it."""
        auth = self.auth
        if not auth.username:
            auth.username = str(self.auth_check().name)
        return auth.username

    def new_api_token(self) -> Any:
        """Replace the API token; the result has ``api_login``, ``api_token``, ``expiration``."""
        return self._call("/api-token", POST, authenticate=True)


def file_opener(path: str, content_type: str) -> Callable[[], UploadFile]:
    """A function opening ``path`` for upload (called again on a retry)."""

    def open_file() -> UploadFile:
        file = Path(path)
        return UploadFile(file.name, file.open("rb"), content_type)

    return open_file


def require_readable(path: str) -> None:
    """Fail before any upload starts when ``path`` cannot be read."""
    try:
        with Path(path).open("rb"):
            pass
    except OSError as error:
        raise CoprValidationException(f"Cannot read {path}: {error.strerror}") from None
