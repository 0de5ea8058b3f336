"""`make setup` is idempotent: once everything is installed, a rerun installs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_second_setup_skips_every_install() -> None:
    result = subprocess.run(
        [str(ROOT / "tools" / "setup")], capture_output=True, text=True, timeout=120, check=True
    )
    lines = result.stdout.splitlines()
    # resalloc-server: Fedora's package, else .venv-resalloc from its tarball, else none
    # (each says so, and none installs anything).
    resalloc = lines.pop(-2)
    assert resalloc == "setup: .venv-resalloc: up to date" or resalloc.startswith(
        ("setup: resalloc-server: installed (", "setup: resalloc-server: not installed and no")
    ), resalloc
    assert lines == [
        "setup: system packages: all present",
        "setup: .venv: up to date",
        "setup: .venv-upstream: up to date",
        "setup: frontend/node_modules: up to date",
        "setup: .venv-release: up to date",
        "setup: done",
    ]
