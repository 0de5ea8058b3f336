"""What every command works with: the config, the client and project-name parsing."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from copr.v3 import (
    DEFAULT_CONFIG_PATH,
    Client,
    CoprAuthException,
    CoprConfigException,
    CoprException,
    config_from_file,
)

log = logging.getLogger("copr_cli")

# The CLI retries a failed connection (python-copr's default is to try once).
DEFAULT_CONNECTION_ATTEMPTS = 3


class Context:
    """The parsed config, a :class:`copr.v3.Client` and the user's name, once resolved."""

    def __init__(self, config_path: str | None, no_color: bool = False):
        self.config_path = config_path or DEFAULT_CONFIG_PATH
        self.config_given = config_path is not None
        self.config: dict[str, Any] = config_from_file(config_path)
        self.config["connection_attempts"] = _int_setting(
            self.config_path, "connection_attempts", DEFAULT_CONNECTION_ATTEMPTS
        )
        self.client = Client(self.config)
        self.color = not no_color and sys.stdout.isatty()

    @property
    def copr_url(self) -> str:
        return str(self.config["copr_url"]).rstrip("/")

    def require_auth(self) -> None:
        """Fail early, before any upload, when there are no credentials to send."""
        if self.config.get("login") and self.config.get("token"):
            return
        if not Path(self.config_path).exists():
            raise CoprAuthException(
                f"No configuration file {self.config_path}: get your API login and token "
                f"from {self.copr_url}/api/ and save them there."
            )
        raise CoprAuthException(
            f"{self.config_path} has no 'login' and 'token': get them from "
            f"{self.copr_url}/api/ (GSSAPI is not supported by this client)."
        )

    @property
    def username(self) -> str:
        """The user name from the config, else the one the server knows the token by."""
        name = self.config.get("username")
        if name:
            return str(name)
        if self.config.get("login") and self.config.get("token"):
            return self.client.base_proxy.auth_username()
        raise CoprConfigException(
            "This operation tries to detect your username, but it is not "
            "possible to find it in configuration, and GSSAPI is disabled "
        )

    def parse_name(self, name: str) -> tuple[str, str]:
        """``owner/project`` or ``project`` (owned by you) as ``(owner, project)``."""
        match = re.match(r"([^/]+)/(.*)", name)
        if match:
            return match.group(1), match.group(2)
        try:
            return self.username, name
        except CoprException:
            log.error(
                "Wrong project argument format '%s'.  Please use the full "
                "'<owner>/<project>' argument format, or authenticate to use the short "
                "'<project>' format (which means '<your_username>/<project>').",
                name,
            )
            raise

    def parse_dirname(self, name: str) -> tuple[str, str, str]:
        """``[owner/]project[:suffix]`` as ``(owner, project, dirname)``."""
        owner, dirname = self.parse_name(name)
        return owner, dirname.split(":")[0], dirname

    def parse_chroot_path(self, path: str) -> tuple[str, str, str]:
        """``[owner/]project/chroot`` as ``(owner, project, chroot)``."""
        match = re.match(r"(([^/]+)/)?([^/]+)/(.*)", path)
        if not match:
            raise CoprException("Unexpected chroot path format")
        owner = match.group(2)
        if not owner:
            try:
                owner = self.username
            except CoprException:
                log.error(
                    "Wrong chroot path format '%s'. Use the full "
                    "'<owner>/<project>/<chroot>' format or authenticate to use the short "
                    "'<project>/<chroot>' format (which means "
                    "'<your_username>/<project>/<chroot>').",
                    path,
                )
                raise
        return owner, match.group(3), match.group(4)

    def build_url(self, build_id: int) -> str:
        """The build's page (a stable URL that redirects to the project's build page)."""
        return urljoin(self.copr_url + "/", f"/coprs/build/{build_id}")

    def project_url(self, owner: str, project: str) -> str:
        owner_part = owner.replace("@", "g/")
        return "/".join([self.copr_url, "coprs", owner_part, project, ""])


def _int_setting(path: str, key: str, default: int) -> int:
    """An optional integer of ``[copr-cli]`` that python-copr's loader does not read."""
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read(Path(path).expanduser())
        value = parser.get("copr-cli", key, fallback=None)
    except configparser.Error:
        return default
    if value is None:
        return default
    try:
        return max(1, int(value))
    except ValueError:
        raise CoprConfigException(
            f"Bad configuration file {path}: {key} must be an integer"
        ) from None
