"""schemathesis hooks (``SCHEMATHESIS_HOOKS``) for ``test_schemathesis.py``: steer half of
the generated names to the rows the test made, so that success answers get checked too."""

from __future__ import annotations

import os
import random
from typing import Any

import schemathesis

_KNOWN = {
    "ownername": "owner",
    "projectname": "proj",
    "chrootname": "fedora-42-x86_64",
    "packagename": "pkg",
    "package_name": "pkg",
    "who": "builder",
    "build_id": int(os.environ.get("COPR_TEST_BUILD_ID", "1")),
}
_rng = random.Random(os.environ.get("COPR_TEST_SEED", "0"))


def _steer(ctx: Any, values: dict[str, Any] | None) -> dict[str, Any] | None:
    if not values:
        return values
    # Deleting the seeded rows early would leave every later operation a 404.
    if "/delete" in str(getattr(ctx.operation, "path", "")):
        return values
    if _rng.random() < 0.5:
        for name in values:
            if name in _KNOWN:
                values[name] = _KNOWN[name]
    return values


@schemathesis.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
    return _steer(ctx, path_parameters)


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> Any:
    return _steer(ctx, query)


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    return _steer(ctx, body) if isinstance(body, dict) else body
