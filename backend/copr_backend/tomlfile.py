"""Writing flat TOML settings files (copr-rpmbuild's slot configs, worker configs).

Tables are written inline, which is enough for the settings these files carry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | os.PathLike):
        # A JSON string is a valid TOML basic string.
        return json.dumps(os.fspath(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise ValueError(f"cannot write {value!r} as TOML")


def dumps(values: Mapping[str, Any]) -> str:
    """``key = value`` lines; ``None`` values are left out (TOML has no null)."""
    return "".join(f"{key} = {toml_value(v)}\n" for key, v in values.items() if v is not None)


def write(path: Path, values: Mapping[str, Any]) -> None:
    """Write atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dumps(values))
    partial.replace(path)
