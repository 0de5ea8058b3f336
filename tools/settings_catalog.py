"""Every setting of every service, read from the services' own pydantic models.

The admin guide's settings reference (``docs/``) and the ansible roles' variables
(``ansible/generate-settings``) are both made from this catalog, so neither can drift from
the code: a setting added to a model shows up in both, with its default and the comment
or docstring the model gives it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import textwrap
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Service:
    """One settings file: the model that reads it and where it lives."""

    key: str  # ansible variable prefix: copr_<key>_<setting>
    title: str
    model_path: str  # module:Class
    file: str
    env_prefix: str
    role: str  # the ansible role that writes the file


SERVICES = [
    Service(
        "frontend", "copr-frontend", "copr_frontend.settings:FrontendSettings",
        "/etc/copr/frontend.toml", "COPR_FRONTEND_", "frontend",
    ),
    Service(
        "backend", "copr-backend", "copr_backend.settings:BackendSettings",
        "/etc/copr/backend.toml", "COPR_BACKEND_", "backend",
    ),
    Service(
        "distgit", "copr-dist-git", "copr_distgit.settings:DistGitSettings",
        "/etc/copr/dist-git.toml", "COPR_DISTGIT_", "distgit",
    ),
    Service(
        "keygen", "copr-keygen", "copr_keygen.settings:KeygenSettings",
        "/etc/copr/keygen.toml", "COPR_KEYGEN_", "keygen",
    ),
    Service(
        "sign", "copr-sign (keygen client)", "copr_keygen_client.settings:SignClientSettings",
        "/etc/copr/sign.toml", "COPR_SIGN_", "backend",
    ),
    Service(
        "rpmbuild", "copr-rpmbuild", "copr_rpmbuild.config:RpmbuildSettings",
        "/etc/copr-rpmbuild/rpmbuild.toml", "COPR_RPMBUILD_", "builder",
    ),
]  # fmt: skip


# Defaults a model computes from where it runs: what an installed package gets.
INSTALLED_DEFAULTS = {("rpmbuild", "mock_configs_dir"): "/usr/share/copr-rpmbuild/mock-configs"}


@dataclass(frozen=True)
class Setting:
    """One setting of one service: its name, type, default and description."""

    name: str
    type: str
    default: Any  # JSON-like; None: no value (the key is left out of the file)
    required: bool
    secret: bool
    description: str  # the field's own docstring
    group: str  # the comment above the run of fields this one belongs to


def model_of(service: Service) -> type[BaseModel]:
    module, _, name = service.model_path.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), name)
    return model


def _plain(value: Any) -> Any:
    """A default as TOML and YAML can hold it."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return json.loads(json.dumps(value, default=str))


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    for noise in ("typing.", "pathlib.", "pydantic.types.", "ipaddress.", "copr_rpmbuild.config."):
        text = text.replace(noise, "")
    return text.replace("NoneType", "None")


def _source_notes(model: type[BaseModel]) -> dict[str, tuple[str, str]]:
    """Field name -> (group, note), from the model's source.

    The note is the field's docstring (the string below it). A comment above a field
    starts a group: it speaks of that field and of the ones right below it, up to a blank
    line (``# Signing through keygen; ...`` above four fields).
    """
    source = textwrap.dedent(inspect.getsource(model))
    lines = source.splitlines()
    cls = ast.parse(source).body[0]
    assert isinstance(cls, ast.ClassDef)
    notes: dict[str, tuple[str, str]] = {}
    group = ""
    previous_end = -10
    body = cls.body
    for index, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        comments = []
        row = node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#"):
            comments.insert(0, lines[row].strip().lstrip("#").strip())
            row -= 1
        after = body[index + 1] if index + 1 < len(body) else None
        docstring = ""
        end = node.end_lineno or node.lineno
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docstring = " ".join(after.value.value.split())
            end = after.end_lineno or after.lineno
        if comments:
            group = " ".join(" ".join(comments).split())
        elif node.lineno != previous_end + 1:
            group = ""
        notes[node.target.id] = (group, docstring)
        previous_end = end
    return notes


def settings_of(service: Service) -> list[Setting]:
    model = model_of(service)
    notes = _source_notes(model)
    found = []
    for name, field in model.model_fields.items():
        required = field.is_required()
        if required:
            default = None
        elif field.default_factory is not None:
            default = _plain(field.default_factory())  # type: ignore[call-arg]
        else:
            default = None if field.default is PydanticUndefined else _plain(field.default)
        default = INSTALLED_DEFAULTS.get((service.key, name), default)
        secret = "SecretStr" in str(field.annotation) or any(
            word in name for word in ("secret", "password", "auth")
        )
        found.append(
            Setting(
                name=name,
                type=_type_name(field.annotation),
                default=default,
                required=required,
                secret=secret,
                description=field.description or notes.get(name, ("", ""))[1],
                group=notes.get(name, ("", ""))[0],
            )
        )
    return found
