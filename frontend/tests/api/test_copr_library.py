"""The real python-copr 2.7 library against a live server."""

from __future__ import annotations

import json
from pathlib import Path

from copr_frontend.testing import Factory

from .clients import UPSTREAM_PYTHON, run

SCRIPT = Path(__file__).with_name("copr_library_script.py")


def test_python_copr(live_server, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    for name in ("p1", "p2", "p3", "p4", "p5"):
        factory.project(alice, name, chroots=["fedora-42-x86_64", "fedora-42-aarch64"])
    factory.project(factory.user("bob"), "not-alices")
    login, token = factory.token(alice)

    result = run([str(UPSTREAM_PYTHON), str(SCRIPT), live_server.url, login, token], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    assert report["whoami"] == "alice"
    assert report["names"] == ["p1", "p2", "p3", "p4", "p5"]
    assert report["pages"] == 3
    assert report["missing"] == "Project alice/missing does not exist."
    assert report["bad_token"]["status"] == 401
    assert report["bad_token"]["message"].startswith("Login invalid/expired")
    assert report["build"] == {
        "state": "pending",
        "chroots": ["fedora-42-aarch64", "fedora-42-x86_64"],
    }
    assert report["build_chroots"] == ["fedora-42-aarch64", "fedora-42-x86_64"]
