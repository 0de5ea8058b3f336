"""The frontend's fixtures (a live API server on a real PostgreSQL), plus a client config.

The frontend's ``tests/conftest.py`` is loaded by path: test folders are not packages.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FRONTEND_CONFTEST = Path(__file__).resolve().parents[2] / "frontend" / "tests" / "conftest.py"
MODULE_NAME = "copr_frontend_test_fixtures"


def _frontend_fixtures() -> ModuleType:
    if MODULE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, FRONTEND_CONFTEST)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE_NAME]


_frontend = _frontend_fixtures()
template_database = _frontend.template_database
database_url = _frontend.database_url
settings = _frontend.settings
app = _frontend.app
db_session = _frontend.db_session
factory = _frontend.factory
live_server = _frontend.live_server


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
