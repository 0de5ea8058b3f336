"""Configuration loading and waiting for builds (python-copr's ``copr.v3.helpers``)."""

from __future__ import annotations

import configparser
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from copr.v3.exceptions import CoprConfigException, CoprException
from copr.v3.results import List, Munch

__all__ = ["DEFAULT_CONFIG_PATH", "List", "config_from_file", "succeeded", "wait"]

DEFAULT_CONFIG_PATH = str(Path("~/.config/copr").expanduser())
DEFAULT_COPR_URL = "https://copr.fedorainfracloud.org"
SECTION = "copr-cli"
FINISHED_BUILD_STATES = frozenset({"succeeded", "skipped", "failed", "canceled", "forked"})


def config_from_file(path: str | None = None) -> dict[str, Any]:
    """Read ``[copr-cli]`` from ``path`` (default ``~/.config/copr``) into a config dict.

    Keys: ``username``, ``login``, ``token``, ``copr_url``, ``gssapi`` and ``encrypted``.
    A missing default file gives an anonymous config for the public Copr; a missing file
    that was asked for explicitly is an error.
    """
    file = Path(path or DEFAULT_CONFIG_PATH).expanduser()
    parser = configparser.ConfigParser()
    try:
        found = parser.read(file)
    except (configparser.Error, UnicodeDecodeError) as error:
        raise CoprConfigException(f"Bad configuration file {file}: {error}") from None

    if not found:
        if path:
            raise CoprConfigException(f"File {path} is missing.")
        parser[SECTION] = {"copr_url": DEFAULT_COPR_URL}
    if not parser.has_section(SECTION):
        raise CoprConfigException(f"Bad configuration file {file}: no [{SECTION}] section.")
    section = parser[SECTION]

    config: dict[str, Any] = {
        field: section.get(field) for field in ("username", "login", "token", "copr_url")
    }
    try:
        config["encrypted"] = section.getboolean("encrypted", True)
        config["gssapi"] = section.getboolean("gssapi")
    except ValueError as error:
        raise CoprConfigException(f"Bad configuration file {file}: {error}") from None

    url = config["copr_url"]
    if not url:
        raise CoprConfigException(f"Bad configuration file {file}: 'copr_url' is not set.")
    if not url.startswith(("http://", "https://")):
        raise CoprConfigException(
            f"Bad configuration file {file}: 'copr_url' must be an http(s) URL, got {url!r}."
        )
    if config["encrypted"] and url.startswith("http://"):
        raise CoprConfigException(
            "The `copr_url` should not be http, please obtain "
            "an up-to-date configuration from the Copr website"
        )
    return config


def wait(
    waitable: Any,
    interval: float = 30,
    callback: Callable[[list[Munch]], Any] | None = None,
    timeout: float = 0,
) -> list[Munch]:
    """Poll builds until each has finished; return their final state.

    ``waitable`` is a build (a result of a build proxy method) or a list of them;
    ``callback`` gets the current builds before every pause; ``timeout`` (seconds, 0 for
    none) raises :class:`CoprException` when reached.
    """
    builds: list[Any] = list(waitable) if isinstance(waitable, list | tuple) else [waitable]
    latest: dict[int, Any] = {build.id: build for build in builds}
    watched = set(latest)
    deadline = time.monotonic() + timeout
    while True:
        for build_id in sorted(watched):
            proxy = latest[build_id].__proxy__ or getattr(waitable, "__proxy__", None)
            if proxy is None:
                raise CoprException(f"Build {build_id} was not fetched through a build proxy")
            build = latest[build_id] = proxy.get(build_id)
            if build.state == "unknown":
                raise CoprException("Unknown status.")
            if build.state in FINISHED_BUILD_STATES:
                watched.discard(build_id)
        if callback:
            callback(list(latest.values()))
        if not watched:
            return list(latest.values())
        if timeout and time.monotonic() >= deadline:
            raise CoprException("Timeouted")
        time.sleep(interval)


def succeeded(builds: Any) -> bool:
    """Whether every given build succeeded (a build or a list of builds)."""
    items: list[Any] = list(builds) if isinstance(builds, list | tuple) else [builds]
    return all(build.state == "succeeded" for build in items)
