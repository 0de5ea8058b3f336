"""Helpers to run the real Copr clients (copr-cli 2.6, python-copr 2.7) from PyPI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

UPSTREAM = Path(__file__).resolve().parents[3] / ".venv-upstream" / "bin"
COPR_CLI = UPSTREAM / "copr-cli"
UPSTREAM_PYTHON = UPSTREAM / "python"


def write_config(path: Path, url: str, username: str, login: str, token: str) -> Path:
    path.write_text(
        "[copr-cli]\n"
        f"login = {login}\nusername = {username}\ntoken = {token}\n"
        f"copr_url = {url}\nencrypted = False\n"
    )
    return path


def run(
    argv: list[str], home: Path, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    return subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def make_srpm(workdir: Path, name: str = "tiny") -> Path:
    """A tiny noarch SRPM built with ``rpmbuild -bs``."""
    spec = workdir / f"{name}.spec"
    spec.write_text(
        f"Name: {name}\nVersion: 1.0\nRelease: 1\nSummary: A tiny package\nLicense: MIT\n"
        "BuildArch: noarch\n\n%description\nTiny.\n\n%files\n\n%changelog\n"
    )
    top = workdir / "rpmbuild"
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {top}", str(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    (srpm,) = (top / "SRPMS").glob("*.src.rpm")
    return srpm
