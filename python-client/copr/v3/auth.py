"""Authentication from the config: the API ``login`` and ``token`` as HTTP Basic."""

from __future__ import annotations

from typing import Any

from copr.v3.exceptions import CoprAuthException


class ApiToken:
    """``(login, token)`` from ``~/.config/copr``; ``username`` is the config's."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.auth: tuple[str, str] = (str(config["login"]), str(config["token"]))
        self.username: str | None = config.get("username")

    def make(self, reauth: bool = False) -> None:
        """Nothing to negotiate: the token is sent with every request."""
        del reauth


def auth_from_config(config: dict[str, Any]) -> ApiToken:
    """The authentication the config asks for, or :class:`CoprAuthException`."""
    if config.get("token") and config.get("login"):
        return ApiToken(config)
    if config.get("gssapi"):
        raise CoprAuthException(
            "GSSAPI (Kerberos) authentication is not supported by this client; "
            "put 'login' and 'token' from the Copr web UI's API page into the config"
        )
    login = config.get("login") or "NOT_SET"
    token = config.get("token") or "NOT_SET"
    raise CoprAuthException(f"GSSAPI disabled and login:token is invalid ({login}:{token})")
