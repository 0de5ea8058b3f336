"""What providers share: their result and checks of ``source_json`` fields."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copr_rpmbuild.errors import BuildFailure


@dataclass
class SourceResult:
    """A provider's output: an SRPM, or a spec with its source directory."""

    srpm: Path | None = None
    spec: Path | None = None
    sourcedir: Path | None = None


def text_field(source: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = source.get(key)
    if value is None or value == "":
        if required:
            raise BuildFailure(f"source_json has no {key!r}")
        return ""
    if not isinstance(value, str | int | float):
        raise BuildFailure(f"source_json field {key!r} must be text, not {type(value).__name__}")
    return str(value)


def inside(base: Path, relative: str, what: str) -> Path:
    """``base/relative``, refusing paths that climb out of ``base``."""
    candidate = (base / relative.lstrip("/")).resolve()
    root = base.resolve()
    if candidate != root and root not in candidate.parents:
        raise BuildFailure(f"{what} {relative!r} points outside the repository")
    return candidate


def single_spec(directory: Path, wanted: str = "", what: str = "directory") -> Path:
    """The spec file ``wanted`` in ``directory``, or its only ``*.spec``."""
    if wanted:
        spec = inside(directory, wanted, "spec")
        if not spec.is_file():
            raise BuildFailure(f"spec file {wanted!r} does not exist in the {what}")
        return spec
    specs = sorted(p for p in directory.glob("*.spec") if regular_file(p))
    if not specs:
        raise BuildFailure(f"no .spec file found in the {what}")
    if len(specs) > 1:
        names = ", ".join(s.name for s in specs)
        raise BuildFailure(f"several spec files in the {what} ({names}): name one with 'spec'")
    return specs[0]


def regular_file(path: Path) -> bool:
    """A plain file, not a symlink: the sandbox must not smuggle out host files by links."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
