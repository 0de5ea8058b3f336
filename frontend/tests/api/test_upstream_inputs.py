"""What the real copr-cli 2.6 and python-copr 2.7 send, as they send it: the API's home,
custom-script build dependencies as a list, and python-copr's default Python versions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from copr_frontend.builds.models import Build
from copr_frontend.packages.models import Package
from copr_frontend.testing import Factory

from .clients import COPR_CLI, UPSTREAM_PYTHON, run, write_config

CHROOT = "fedora-42-x86_64"


class Clients:
    def __init__(self, url: str, login: str, token: str, home: Path) -> None:
        self.url, self.login, self.token, self.home = url, login, token, home
        self.config = write_config(home / "copr.conf", url, "alice", login, token)

    def copr_cli(self, *args: str) -> str:
        result = run([str(COPR_CLI), "--config", str(self.config), *args], self.home)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def python_copr(self, code: str) -> Any:
        """Run ``code`` with ``client`` (a python-copr Client) and return its ``result``."""
        script = (
            "import json\nfrom copr.v3 import Client\n"
            f"client = Client({{'copr_url': {self.url!r}, 'login': {self.login!r}, "
            f"'token': {self.token!r}, 'username': 'alice'}})\n"
            + textwrap.dedent(code)
            + "\nprint(json.dumps(result, default=str))\n"
        )
        result = run([str(UPSTREAM_PYTHON), "-c", script], self.home)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def clients(live_server, factory: Factory, tmp_path: Path) -> Clients:  # type: ignore[no-untyped-def]
    assert COPR_CLI.exists(), f"the real copr-cli 2.6 is missing at {COPR_CLI}: run make setup"
    alice = factory.user("alice")
    factory.project(alice, "proj", chroots=[CHROOT])
    login, token = factory.token(alice)
    return Clients(live_server.url, login, token, tmp_path)


def test_home(clients: Clients) -> None:
    home = clients.python_copr(
        "result = {k: v for k, v in client.base_proxy.home().items() if not k.startswith('__')}"
    )
    assert home == {"version": 3}


def test_custom_builddeps_as_the_clients_send_them(
    clients: Clients, factory: Factory, tmp_path: Path
) -> None:
    session = factory.session
    built = clients.python_copr(
        """
        build = client.build_proxy.create_from_custom(
            "alice", "proj", "echo hi", script_builddeps=["make", "gcc"],
            script_repos=["https://example.org/repo/"])
        result = build.id
        """
    )
    build = session.get(Build, built)
    assert build.source_json["builddeps"] == "make gcc"
    assert build.source_json["repos"] == "https://example.org/repo/"

    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    out = clients.copr_cli("buildcustom", "proj", "--script", str(script),
                           "--script-builddeps", "make gcc  rpm-build", "--nowait")  # fmt: skip
    build_id = int(out.split("Created builds: ")[1].split()[0])
    assert session.get(Build, build_id).source_json["builddeps"] == "make gcc rpm-build"

    clients.copr_cli("add-package-custom", "proj", "--name", "tool", "--script", str(script),
                     "--script-builddeps", "make")  # fmt: skip
    clients.copr_cli("edit-package-custom", "proj", "--name", "tool", "--script", str(script),
                     "--script-builddeps", "make gcc")  # fmt: skip
    session.expire_all()
    package = session.scalar(select(Package).where(Package.name == "tool"))
    assert package is not None
    assert package.source_json["builddeps"] == "make gcc"
    got = clients.python_copr(
        "result = client.package_proxy.get('alice', 'proj', 'tool').source_dict['builddeps']"
    )
    assert got == "make gcc"


@pytest.mark.parametrize(
    ("builddeps", "message"),
    [
        ([1, 2], "Field 'builddeps' must be text or a list of texts"),
        ({"make": 1}, "Field 'builddeps' must be text"),
        (["make", ["gcc"]], "Field 'builddeps' must be text or a list of texts"),
    ],
)
def test_bad_builddeps(client, factory: Factory, builddeps: Any, message: str) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    factory.project(alice, "proj", chroots=[CHROOT])
    body = {"ownername": "alice", "projectname": "proj", "script": "echo", "builddeps": builddeps}
    response = client.post("/api_3/build/create/custom", json=body, headers=factory.auth(alice))
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert factory.session.scalar(select(Build)) is None


def test_pypi_with_python_copr_defaults(clients: Clients, factory: Factory, client) -> None:  # type: ignore[no-untyped-def]
    build_id = clients.python_copr(
        "result = client.build_proxy.create_from_pypi('alice', 'proj', 'requests').id"
    )
    build = factory.session.get(Build, build_id)
    # [3, 2] as python-copr sends it: the builder ignores what pyp2spec does not make.
    assert build.source_json["python_versions"] == ["3", "2"]
    task = client.get(f"/backend/get-srpm-build-task/{build_id}/").get_json()
    assert json.loads(task["source_json"])["python_versions"] == ["3", "2"]
