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


def test_only_the_local_pool_imports_copr_rpmbuild_and_lazily() -> None:
    # Builders are driven through copr-rpmbuild's commands (they may be other hosts); the
    # local pool alone reads its slots (state, live log) through copr-rpmbuild's own
    # functions, imported when it first looks, so a backend without local slots needs no
    # copr-rpmbuild.
    importing = {
        str(path.relative_to(FOLDER)): re.findall(
            r"^(\s*)(?:from|import)\s+copr_rpmbuild\b", path.read_text(), re.MULTILINE
        )
        for path in sorted((FOLDER / "copr_backend").rglob("*.py"))
    }
    importing = {path: found for path, found in importing.items() if found}
    assert list(importing) == ["copr_backend/pools/local.py"]
    assert all(indent for indent in importing["copr_backend/pools/local.py"])  # in functions
    dependencies = tomllib.loads((FOLDER / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("copr-rpmbuild") for dep in dependencies["dependencies"])
