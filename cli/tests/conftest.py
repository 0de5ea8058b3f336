"""copr-cli runs against the frontend's live server (``live_server``, ``factory`` and the
other frontend fixtures come from the ``copr_frontend.testing`` pytest plugin).

``cli`` runs ``copr_cli.main.main`` in-process and ``installed_cli`` the installed
``copr-cli`` script; both return a :class:`Result` with the exit code and both outputs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from copr_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
OUR_CLI = ROOT / ".venv" / "bin" / "copr-cli"
UPSTREAM_CLI = ROOT / ".venv-upstream" / "bin" / "copr-cli"


@dataclass
class Result:
    code: int
    out: str
    err: str


def write_config(path: Path, url: str, **keys: Any) -> Path:
    lines = ["[copr-cli]", f"copr_url = {url}", "encrypted = False"]
    lines += [f"{key} = {value}" for key, value in keys.items() if value is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def user(factory: Any) -> Any:
    return factory.user("alice")


@pytest.fixture
def config_file(tmp_path: Path, live_server: Any, factory: Any, user: Any) -> Path:
    """A copr-cli config for ``alice`` against the live server."""
    login, token = factory.token(user)
    return write_config(
        tmp_path / "copr-config",
        live_server.url,
        login=login,
        token=token,
        username=user.name,
        connection_attempts=1,
    )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], config_file: Path) -> Callable[..., Result]:
    """Run copr-cli in-process with ``config_file`` (unless ``--config`` is given)."""

    def run(*args: str, config: Path | None = None) -> Result:
        capsys.readouterr()
        code = main(["--config", str(config or config_file), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    """``make_config(url, **keys)``: a config file with those ``[copr-cli]`` keys."""

    def make(url: str, name: str = "copr-config", **keys: Any) -> Path:
        return write_config(tmp_path / name, url, **keys)

    return make


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[..., Result]:
    """``run_script(executable, args, home=None, stdin=None)``: a copr-cli as a process.

    HOME is a fresh directory unless given, so the real ``~/.config/copr`` is never read.
    """

    def run(
        executable: Path, args: list[str], home: Path | None = None, stdin: str | None = None
    ) -> Result:
        home = home or tmp_path / "home"
        home.mkdir(exist_ok=True)
        result = subprocess.run(
            [str(executable), *args],
            capture_output=True,
            text=True,
            cwd=home,
            env={**os.environ, "HOME": str(home), "COLUMNS": "80"},
            input=stdin,
            timeout=120,
            check=False,
        )
        return Result(result.returncode, result.stdout, result.stderr)

    return run


SPEC = """\
Name:    hello
Version: 1.0
Release: 1
Summary: A package for copr-cli tests
License: MIT
BuildArch: noarch

%description
Built by copr-cli tests.

%files
"""


@pytest.fixture(scope="session")
def srpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) SRPM made with rpmbuild."""
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


@dataclass
class ResultsServer:
    url: str
    root: Path


@pytest.fixture
def results_server(tmp_path: Path) -> Iterator[ResultsServer]:
    """An HTTP server with directory listings over ``root``, like the results tree: as
    Copr's results servers do, ``*.log.gz`` comes with ``Content-Encoding: gzip``."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def end_headers(self) -> None:
            if self.path.endswith(".log.gz"):
                self.send_header("Content-Encoding", "gzip")
            super().end_headers()

    root = tmp_path / "results"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResultsServer(f"http://127.0.0.1:{server.server_address[1]}/results", root)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
