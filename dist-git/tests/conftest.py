"""Fixtures: real SRPMs made with rpmbuild, settings rooted in a temporary directory."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tarfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask

SPEC = """\
Name:           {name}
Version:        {version}
Release:        1
Summary:        A package for dist-git tests
License:        {license}
BuildArch:      noarch
Source0:        {name}-{version}.tar.gz
Patch0:         {name}-fix.patch

%description
{description}

%prep
%autosetup -p1

%install
mkdir -p %{{buildroot}}/usr/share/{name}
cp README %{{buildroot}}/usr/share/{name}/

%files
/usr/share/{name}/README
"""

PATCH = """\
--- a/README
+++ b/README
@@ -1 +1 @@
-{name} {version}
+{name} {version}, patched
"""


def rpmbuild(workdir: Path, spec: Path, mode: str = "-bs") -> Path:
    """Run rpmbuild in ``workdir`` and return the package it wrote."""
    result = subprocess.run(
        [
            "rpmbuild",
            mode,
            "--define",
            f"_topdir {workdir / 'top'}",
            "--define",
            f"_sourcedir {workdir}",
            "--define",
            f"_srcrpmdir {workdir / 'out'}",
            "--define",
            f"_rpmdir {workdir / 'out'}",
            "--define",
            "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
            "--nodeps",
            str(spec),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    built = sorted((workdir / "out").glob("*.rpm"))
    assert len(built) == 1, built
    return built[0]


MakeSrpm = Callable[..., Path]


@pytest.fixture(scope="session")
def make_srpm(tmp_path_factory: pytest.TempPathFactory) -> MakeSrpm:
    """``make_srpm(name, version)``: an SRPM with a tarball and a patch."""

    def make(
        name: str = "hello",
        version: str = "1.0",
        description: str = "Says hello.",
        spec_prefix: bytes = b"",
        license: str = "MIT",
    ) -> Path:
        workdir = tmp_path_factory.mktemp(f"srpm-{name}-{version}")
        tree = workdir / f"{name}-{version}"
        tree.mkdir()
        (tree / "README").write_text(f"{name} {version}\n")
        with tarfile.open(workdir / f"{name}-{version}.tar.gz", "w:gz") as tar:
            tar.add(tree, arcname=tree.name)
        (workdir / f"{name}-fix.patch").write_text(PATCH.format(name=name, version=version))
        spec = workdir / f"{name}.spec"
        text = SPEC.format(name=name, version=version, description=description, license=license)
        spec.write_bytes(spec_prefix + text.encode())
        return rpmbuild(workdir, spec)

    return make


@pytest.fixture
def binary_rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("binary-rpm")
    spec = workdir / "tool.spec"
    spec.write_text(
        textwrap.dedent(
            """\
            Name: tool
            Version: 1
            Release: 1
            Summary: a binary package
            License: MIT
            BuildArch: noarch
            %description
            binary
            %install
            mkdir -p %{buildroot}/usr/share/tool
            echo hi > %{buildroot}/usr/share/tool/hi
            %files
            /usr/share/tool/hi
            """
        )
    )
    return rpmbuild(workdir, spec, "-bb")


@pytest.fixture
def settings(tmp_path: Path) -> DistGitSettings:
    return DistGitSettings(
        state_dir=tmp_path / "state",
        frontend_url="http://127.0.0.1:9",
        frontend_auth="backend-password",
        max_srpm_size=10 * 1024 * 1024,
    )


def _make_task(
    build_id: int = 1,
    *,
    pkg_name: str = "hello",
    branches: tuple[str, ...] = ("f41", "f42"),
    owner: str = "alice",
    project: str = "demo",
    srpm_url: str = "http://127.0.0.1:9/hello.src.rpm",
) -> ImportTask:
    return ImportTask.from_dict(
        {
            "build_id": build_id,
            "owner": owner,
            "project": project,
            "branches": list(branches),
            "pkg_name": pkg_name,
            "srpm_url": srpm_url,
            "sandbox": f"{owner}--submitter",
            "background": False,
        }
    )


MakeTask = Callable[..., ImportTask]


@pytest.fixture(scope="session")
def make_task() -> MakeTask:
    """``make_task(build_id, pkg_name=..., branches=...)``: a task as the frontend sends it."""
    return _make_task


class FrontendStandIn:
    """A loopback stand-in for the frontend's backend API (``importing/`` and
    ``import-completed/``) that also serves SRPM files, as the backend's results do.

    The real frontend lives in another service; this keeps dist-git's tests about
    dist-git while speaking the same JSON over real HTTP.
    """

    def __init__(self, srpm_dir: Path, password: str) -> None:
        self.srpm_dir = srpm_dir
        self.password = password
        self.tasks: dict[int, dict[str, Any]] = {}
        self.completed: list[dict[str, Any]] = []
        self.fail_next_posts = 0
        # The Copr-FE-BE-API-Version headers the backend API requests came with.
        self.api_versions: set[str | None] = set()
        # SRPM file name -> seconds to wait before serving it (to catch a worker mid-import).
        self.delays: dict[str, float] = {}
        self.lock = threading.Lock()
        self.url = ""

    def add_task(self, task: dict[str, Any]) -> None:
        with self.lock:
            self.tasks[task["build_id"]] = task

    def srpm_url(self, srpm: Path) -> str:
        target = self.srpm_dir / srpm.name
        if not target.exists():
            shutil.copy(srpm, target)
        return f"{self.url}/results/{srpm.name}"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        if path.startswith("/backend/"):
            with self.lock:
                self.api_versions.add(environ.get("HTTP_COPR_FE_BE_API_VERSION"))

        def reply(status: str, body: bytes, content_type: str = "application/json") -> list[bytes]:
            start_response(
                status,
                [
                    ("Content-Type", content_type),
                    ("Content-Length", str(len(body))),
                    ("Copr-FE-BE-API-Version", "6"),
                ],
            )
            return [body]

        if path == "/backend/importing/" and method == "GET":
            with self.lock:
                return reply("200 OK", json.dumps(list(self.tasks.values())).encode())
        if path == "/backend/import-completed/" and method in ("POST", "PUT"):
            # Like the frontend: the password counts, the user name does not.
            given = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Basic ")
            _, _, password = base64.b64decode(given).decode(errors="replace").partition(":")
            if password != self.password:
                return reply("403 FORBIDDEN", b'{"error": "bad backend password"}')
            length = int(environ.get("CONTENT_LENGTH") or 0)
            payload = json.loads(environ["wsgi.input"].read(length))
            with self.lock:
                if self.fail_next_posts > 0:
                    self.fail_next_posts -= 1
                    return reply("500 INTERNAL SERVER ERROR", b'{"error": "try again"}')
                self.completed.append(payload)
                self.tasks.pop(payload["build_id"], None)
            return reply("200 OK", b'{"updated": true}')
        if path.startswith("/results/") and method == "GET":
            target = self.srpm_dir / path.removeprefix("/results/")
            if "/" not in path.removeprefix("/results/") and target.is_file():
                time.sleep(self.delays.get(target.name, 0.0))
                return reply("200 OK", target.read_bytes(), "application/x-rpm")
        return reply("404 NOT FOUND", b'{"error": "not found"}')


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def frontend(tmp_path: Path) -> Iterator[FrontendStandIn]:
    srpm_dir = tmp_path / "frontend-results"
    srpm_dir.mkdir()
    app = FrontendStandIn(srpm_dir, "backend-password")
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    app.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
