"""Fixtures for copr-rpmbuild tests: a loopback HTTP server (files, dumb-HTTP git repos,
task JSON), a stand-in internet (an HTTP server in a network namespace of its own, which
sandboxes with network reach the way they reach the internet — never the host's
loopback) and a builder with its own settings file and directories.

Everything is real: rpmbuild, bwrap, git and HTTP; the only stand-in is that the HTTP
server plays the frontend for the task GET.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from copr_rpmbuild.testing import Builder, HttpServer, Internet, internet, write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    root = tmp_path_factory.mktemp("www")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            str(root),
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield HttpServer(root, f"http://127.0.0.1:{port}")
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def internet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Internet]:
    with internet(tmp_path_factory.mktemp("internet")) as net:
        yield net


@pytest.fixture
def builder(http_server: HttpServer) -> Iterator[Builder]:
    # The sandbox's uid must be able to reach the workspace: pytest's own tmp
    # directories are private to root, so this one lives directly under /tmp.
    base = Path(tempfile.mkdtemp(prefix="copr-rpmbuild-test-", dir="/tmp"))
    base.chmod(0o755)
    config = base / "rpmbuild.toml"
    write_config(config, base, http_server)
    yield Builder(config, base / "results", base / "workspace", base / "state")
    shutil.rmtree(base, ignore_errors=True)
