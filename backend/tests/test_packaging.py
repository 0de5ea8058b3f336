"""The RPM spec of copr-backend agrees with its pyproject."""

from __future__ import annotations

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
