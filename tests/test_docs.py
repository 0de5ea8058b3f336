"""The documentation builds without a warning, and its generated pages follow the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPHINX = Path(sys.executable).parent / "sphinx-build"


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [SPHINX, "-W", "--keep-going", "-q", "-b", "html", ROOT / "docs", tmp_path / "html"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    generated = ROOT / "docs" / "_generated"
    # One spot check per generated page that it carries what the code says.
    assert "copr_frontend_secret_key" in (generated / "settings.rst").read_text()
    assert "POST /api_3/build/create/url" in (generated / "api.rst").read_text()
    assert "buildscm" in (generated / "cli.rst").read_text()
    for page in ("index", "user/guide", "admin/deploy", "admin/operations", "architecture"):
        assert (tmp_path / "html" / f"{page}.html").is_file()


def test_ansible_settings_variables_follow_the_models() -> None:
    result = subprocess.run(
        [sys.executable, ROOT / "ansible" / "generate-settings", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
