"""`make setup` is idempotent: once everything is installed, a rerun installs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_second_setup_skips_every_install() -> None:
    result = subprocess.run(
        [str(ROOT / "tools" / "setup")], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.splitlines() == [
        "setup: system packages: all present",
        "setup: .venv: up to date",
        "setup: .venv-upstream: up to date",
        "setup: frontend/node_modules: up to date",
        "setup: .venv-release: up to date",
        "setup: done",
    ]
