"""A python-copr config for the frontend's live server (``live_server``, ``factory`` and
the other frontend fixtures come from the ``copr_frontend.testing`` pytest plugin).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def user(factory: Any) -> Any:
    return factory.user("alice")


@pytest.fixture
def config(live_server: Any, factory: Any, user: Any) -> dict[str, Any]:
    """A python-copr config dict for ``alice`` against the live server."""
    login, token = factory.token(user)
    return {
        "copr_url": live_server.url,
        "login": login,
        "token": token,
        "username": user.name,
        "encrypted": False,
        "gssapi": None,
    }


SPEC = """\
Name:    hello
Version: 1.0
Release: 1
Summary: A package for client tests
License: MIT
BuildArch: noarch

%description
Test.

%files
"""


@pytest.fixture(scope="session")
def srpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("rpmbuild")
    spec = top / "hello.spec"
    spec.write_text(SPEC)
    subprocess.run(
        ["rpmbuild", "-bs", "--nodeps", "--define", f"_topdir {top}", str(spec)],
        check=True,
        capture_output=True,
    )
    (found,) = (top / "SRPMS").glob("*.src.rpm")
    return found
