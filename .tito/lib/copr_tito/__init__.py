"""tito plugins of this repository (``lib_dir`` in ``.tito/tito.props``).

``tito tag`` bumps the Version of a package's spec; the Python packages also carry their
version in ``pyproject.toml``, which must say the same (the packaging tests check it).
:class:`NpmSourcesBuilder` (the frontend's builder, named in ``frontend/tito.props``) adds
the spec's npm sources from npm's cache, where tito would download them.
"""

from __future__ import annotations

import re
from pathlib import Path

from npm_sources import pack_npm_sources
from tito.builder import Builder
from tito.common import run_command
from tito.tagger import VersionTagger

__all__ = ["NpmSourcesBuilder", "PyprojectTagger"]

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


class NpmSourcesBuilder(Builder):
    """tito's Builder, with the spec's npm sources packed from the cache, not downloaded."""

    def copy_extra_sources(self) -> None:
        super().copy_extra_sources()
        self._pack_npm_sources()

    def copy_and_download_extra_sources(self) -> None:
        super().copy_and_download_extra_sources()
        self._pack_npm_sources()

    def _pack_npm_sources(self) -> None:
        written = pack_npm_sources(Path(self.spec_file), Path(self.rpmbuild_sourcedir))
        self.sources.extend(str(path) for path in written if str(path) not in self.sources)
