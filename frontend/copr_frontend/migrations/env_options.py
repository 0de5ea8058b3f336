"""Options shared by the migration environment and the model/migration drift check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer

from copr_frontend.db import IntEnumType


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Enum columns are plain integers in the database; migrations must not import models.
    if type_ == "type" and isinstance(obj, IntEnumType):
        return "sa.Integer()"
    return False


def compare_type(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any,
    metadata_type: Any,
) -> bool | None:  # fmt: skip
    if isinstance(metadata_type, IntEnumType):
        return not isinstance(inspected_type, Integer)
    return None


def migration_options() -> dict[str, Any]:
    return {
        "render_as_batch": True,
        "render_item": render_item,
        "compare_type": compare_type,
    }
