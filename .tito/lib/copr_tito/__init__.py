"""tito plugins of this repository (``lib_dir`` in ``.tito/tito.props``).

``tito tag`` bumps the Version of a package's spec; the Python packages also carry their
version in ``pyproject.toml``, which must say the same (the packaging tests check it).
"""

from __future__ import annotations

import re
from pathlib import Path

from tito.common import run_command
from tito.tagger import VersionTagger

__all__ = ["PyprojectTagger"]

# The version key of pyproject.toml's [project] table: the first `version = "..."` line.
_VERSION_LINE = re.compile(r'^version\s*=\s*"[^"]*"\s*$', re.MULTILINE)


class PyprojectTagger(VersionTagger):
    """A VersionTagger that also writes the new version into the package's pyproject.toml."""

    def _update_setup_py(self, new_version: str) -> None:
        super()._update_setup_py(new_version)
        pyproject = Path(self.full_project_dir) / "pyproject.toml"
        if not pyproject.exists():
            return
        # Version-release from the spec; Python knows the version only.
        version = new_version.split("-")[0]
        text = pyproject.read_text()
        updated, count = _VERSION_LINE.subn(f'version = "{version}"', text, count=1)
        if count != 1:
            raise RuntimeError(f"{pyproject}: no version line to update")
        pyproject.write_text(updated)
        run_command(f"git add {pyproject}")
