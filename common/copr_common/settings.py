"""Settings: a TOML file and environment variables read into one validated object.

Each service describes its settings as a pydantic model and loads them once at start-up::

    class BackendSettings(ServiceSettings):
        frontend_url: AnyHttpUrl
        redis: RedisSettings = RedisSettings()

    settings = load_settings(BackendSettings, "COPR_BACKEND_", file="/etc/copr/backend.toml")

Later sources win: the model's defaults, then the file, then environment variables named
``<prefix><FIELD>`` (a nested field as ``<prefix><FIELD>__<SUBFIELD>``).  A value that is
missing or malformed stops start-up with a message that names the setting and where its
value came from; unknown keys are errors too, so a typo never passes silently.

A service finds its file with :func:`load_service_settings`: the ``--config`` option, else
the ``<prefix>CONFIG`` environment variable, else its default path when that exists.  A
command that cannot use its settings prints why and exits with :data:`EXIT_CONFIG`
(:func:`exit_on_settings_error`), the same code for every service.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "EXIT_CONFIG",
    "ServiceSettings",
    "SettingsError",
    "exit_on_settings_error",
    "load_service_settings",
    "load_settings",
]

EXIT_CONFIG = 6
"""The exit code of every service command whose settings are missing, unreadable or invalid.

Distinct from copr-rpmbuild's build exit codes (0-5), so the backend, which reads those,
never takes a builder's broken configuration for a build result.
"""


class ServiceSettings(BaseModel):
    """Base for every service's settings: immutable, and unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingsError(Exception):
    """Settings that cannot be used; the message says which and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


SettingsT = TypeVar("SettingsT", bound=BaseModel)


def load_settings(
    model: type[SettingsT],
    env_prefix: str,
    *,
    file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SettingsT:
    """Read ``file`` (TOML, optional) and ``environ`` into a validated ``model``.

    ``overrides`` (e.g. from command-line options) win over everything else.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}

    if file is not None:
        path = Path(file)
        try:
            with path.open("rb") as stream:
                from_file = tomllib.load(stream)
        except FileNotFoundError:
            raise SettingsError([f"settings file {str(path)!r} does not exist"]) from None
        except OSError as error:
            raise SettingsError([f"settings file {str(path)!r} cannot be read: {error}"]) from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(
                [f"settings file {str(path)!r} is not valid TOML: {error}"]
            ) from None
        _merge(data, from_file, sources, (), f"file {path}")

    for name, raw in environ.items():
        if not name.startswith(env_prefix) or name == env_prefix:
            continue
        keys = tuple(part.lower() for part in name[len(env_prefix) :].split("__"))
        if not all(keys):
            raise SettingsError([f"environment variable {name} is not a valid settings name"])
        _set(data, keys, _env_value(raw))
        sources[keys] = f"environment variable {name}"

    if overrides:
        _merge(data, dict(overrides), sources, (), "the command line")

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SettingsError(
            [_describe(err, sources, env_prefix, file) for err in error.errors()]
        ) from None


def load_service_settings(
    model: type[SettingsT],
    env_prefix: str,
    default_file: str | os.PathLike[str],
    file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SettingsT:
    """A service's settings: from ``file`` (its ``--config`` option), else the file named by
    ``<env_prefix>CONFIG``, else ``default_file`` when it exists, else defaults and
    environment alone.

    ``<env_prefix>CONFIG`` names the file and is no setting, so it is left out of the
    environment the settings are read from.
    """
    env = dict(os.environ if environ is None else environ)
    from_env = env.pop(env_prefix + "CONFIG", None) or None
    chosen: str | os.PathLike[str] | None = file if file is not None else from_env
    if chosen is None and Path(default_file).exists():
        chosen = default_file
    return load_settings(model, env_prefix, file=chosen, environ=env, overrides=overrides)


def exit_on_settings_error(prog: str, error: SettingsError) -> NoReturn:
    """Print why the settings of ``prog`` cannot be used and exit with :data:`EXIT_CONFIG`."""
    print(f"{prog}: {error}", file=sys.stderr)
    raise SystemExit(EXIT_CONFIG)


def _env_value(raw: str) -> Any:
    """JSON for lists and tables (``["a", "b"]``), the plain string for everything else."""
    stripped = raw.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _set(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def _merge(
    data: dict[str, Any],
    new: dict[str, Any],
    sources: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
    source: str,
) -> None:
    for key, value in new.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            _merge(data[key], value, sources, path, source)
        else:
            data[key] = value
            sources[path] = source


def _describe(
    error: Any,
    sources: dict[tuple[str, ...], str],
    env_prefix: str,
    file: str | os.PathLike[str] | None,
) -> str:
    loc = tuple(str(part) for part in error["loc"])
    if not loc:  # a check across several settings, e.g. "exactly one of A and B"
        return str(error["msg"]).removeprefix("Value error, ")
    name = ".".join(loc) or "(top level)"
    if error["type"] == "missing":
        env = env_prefix + "__".join(part.upper() for part in loc)
        where = f"set it in {os.fspath(file)} or " if file is not None else "set "
        return f"{name!r} is required: {where}environment variable {env}"
    source = next(
        (sources[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in sources), "defaults"
    )
    if error["type"] == "extra_forbidden":
        return f"{name!r} (from {source}) is not a known setting"
    if loc and any(word in loc[-1].lower() for word in _SECRET_WORDS):
        # The message ends up in logs and on terminals: never repeat a secret there.
        return f"{name!r} (from {source}): {error['msg']}"
    return f"{name!r} (from {source}): {error['msg']}; got {error.get('input')!r}"


_SECRET_WORDS = ("secret", "password", "token", "key")
