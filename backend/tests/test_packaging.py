"""The RPM spec of copr-backend agrees with its pyproject."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

FOLDER = Path(__file__).parents[1]


def test_spec_ships_every_command() -> None:
    parsed = subprocess.run(
        ["rpmspec", "-P", str(FOLDER / "copr-backend.spec")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    project = tomllib.loads((FOLDER / "pyproject.toml").read_text())["project"]
    for command in project["scripts"]:
        assert f"/usr/bin/{command}\n" in parsed, command
    assert f"Version:        {project['version']}" in parsed


def test_backend_never_imports_copr_rpmbuild() -> None:
    # Builders are driven through copr-rpmbuild's commands alone (they may be other hosts).
    importing = [
        str(path.relative_to(FOLDER))
        for path in sorted((FOLDER / "copr_backend").rglob("*.py"))
        if re.search(r"^\s*(from|import)\s+copr_rpmbuild\b", path.read_text(), re.MULTILINE)
    ]
    assert importing == []
    dependencies = tomllib.loads((FOLDER / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("copr-rpmbuild") for dep in dependencies["dependencies"])
