"""The ``copr_toml`` filter: a value of a settings variable as TOML, for settings.toml.j2.

Strings, numbers, booleans, lists and mappings (inline tables); ansible's own filters
have no TOML, and the controller need not have a TOML library.
"""

from __future__ import annotations

import json
import math
from typing import Any


def copr_toml(value: Any) -> str:
    """``value`` as a TOML value (a string is a basic string: JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"TOML settings cannot hold {value}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(copr_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k))} = {copr_toml(v)}" for k, v in value.items() if v is not None
        )
        return "{" + ", ".join(items) + "}"
    if value is None:
        raise ValueError("null has no TOML form: leave the setting out")
    # Ansible's own string types (AnsibleUnsafeText, ...) are str; anything else is text.
    return json.dumps(str(value))


class FilterModule:
    """Ansible's entry point to this plugin: the ``copr_toml`` filter."""

    def filters(self) -> dict[str, Any]:
        return {"copr_toml": copr_toml}
