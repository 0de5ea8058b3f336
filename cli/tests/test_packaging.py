"""The RPM specs agree with the pyproject files they package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("folder", "spec", "package"),
    [("cli", "copr-cli.spec", "copr_cli"), ("python-client", "python-copr.spec", "copr")],
)
def test_spec_matches_pyproject(folder: str, spec: str, package: str) -> None:
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    text = (ROOT / folder / spec).read_text()
    version = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
    assert version is not None
    assert version.group(1) == project["version"]
    assert f"%pyproject_save_files {package}" in text
    for script in project.get("scripts", {}):
        assert f"%{{_bindir}}/{script}\n" in text
