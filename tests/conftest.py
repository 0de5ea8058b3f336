"""Fixtures the whole-stack tests share.

``srpm``   the example package's SRPM (``local/example/hello.spec``, hello-copr 1.0-1),
           built once per session with ``rpmbuild -bs``
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

EXAMPLE_SPEC = Path(__file__).resolve().parents[1] / "local" / "example" / "hello.spec"


@pytest.fixture(scope="session")
def srpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    topdir = tmp_path_factory.mktemp("rpmbuild")
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {topdir}", str(EXAMPLE_SPEC)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (found,) = (topdir / "SRPMS").glob("hello-copr-1.0-1*.src.rpm")
    return found
