"""Fixtures of the backend tests: everything real, on loopback.

The frontend's fixtures (``settings``, ``app``, ``db_session``, ``factory``: a fresh
migrated PostgreSQL database per test) come from the ``copr_frontend.testing`` plugin and
``keygen`` (``copr-keygen serve``, 2048-bit keys, session-wide) from ``copr_keygen.testing``;
this file adapts ``settings`` to the backend's world and adds:

``frontend``        the plugin's ``app`` served by a threaded WSGI server
``www``             a loopback HTTP server over ``tmp/www``: SRPMs to build from and the
                    results tree (``www/results``), as dnf and dist-git reach them
``backend``         :class:`Backend`: settings written to a TOML file the workers read,
                    local-pool slots under /tmp (the sandbox user must reach them)
``make_srpm``       a tiny noarch SRPM, built with rpmbuild, placed in ``www``
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import pytest
import tomli_w
from redis import Redis
from werkzeug.serving import make_server

from copr_backend.settings import BackendSettings

# Test modules import the helpers module that sits next to this file.
from copr_backend.testing.helpers import wait_for
from copr_common.testing.services import ServiceRun, free_port
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import BACKEND_PASSWORD, serve_app
from copr_keygen.testing import SECRET as KEYGEN_SECRET
from copr_keygen.testing import Keygen

# This session's slot uids: test sessions side by side never share one (nor, through it,
# a process limit). Unused by any account (see copr-rpmbuild's config).
SESSION_UID_BASE = 2_020_000_000 + (os.getpid() % 50_000) * 8
BIN = Path(sys.executable).parent


# --- frontend -------------------------------------------------------------------------------


@dataclass
class Www:
    root: Path
    url: str

    @property
    def results(self) -> Path:
        return self.root / "results"


@pytest.fixture
def www(tmp_path: Path, service_run: ServiceRun) -> Iterator[Www]:
    root = tmp_path / "www"
    (root / "results").mkdir(parents=True)
    port = free_port()
    proc = service_run.spawn(
        f"www-{port}",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "-d", str(root), str(port)],
    )
    url = f"http://127.0.0.1:{port}"
    import socket

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_for(up, 10, "the www server")
    yield Www(root, url)
    service_run.stop(proc)


@dataclass
class Served:
    url: str
    app: Any


@pytest.fixture
def distgit_url() -> str:
    """Where builders clone from; tests that import for real replace it (see full flow)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def settings(
    settings: FrontendSettings, www: Www, distgit_url: str, redis_url: str
) -> FrontendSettings:
    """The frontend plugin's settings with Redis, this test's results server and dist-git."""
    return settings.model_copy(
        update={
            "redis_url": redis_url,
            "results_url": f"{www.url}/results",
            "dist_git_url": f"{distgit_url}/git",
        }
    )


@pytest.fixture
def frontend(app: flask.Flask) -> Iterator[Served]:
    """The plugin's ``app`` served on loopback, for the backend's processes to reach."""
    with serve_app(app) as url:
        yield Served(url, app)


# --- backend --------------------------------------------------------------------------------


@dataclass
class Backend:
    settings: BackendSettings
    config: Path
    redis: Redis
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, command: str, *extra: str) -> subprocess.Popen[bytes]:
        log = (self.config.parent / f"{command}.log").open("ab")
        proc = subprocess.Popen(
            [str(BIN / f"copr-backend-{command}"), "--config", str(self.config), *extra],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.processes.append(proc)
        return proc

    def log_of(self, command: str) -> str:
        path = self.config.parent / f"{command}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_logs(self) -> str:
        directory = self.settings.worker_log_dir
        if directory is None or not directory.is_dir():
            return ""
        return "\n".join(p.read_text(errors="replace") for p in sorted(directory.iterdir()))


@pytest.fixture
def pool_dir() -> Iterator[Path]:
    # The slots' uids must reach the slots; pytest's tmp dirs are root-only.
    base = Path(tempfile.mkdtemp(prefix="copr-backend-test-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


BackendFactory = Callable[..., Backend]


@pytest.fixture
def make_backend(
    tmp_path: Path,
    frontend: Served,
    keygen: Keygen,
    redis_url: str,
    www: Www,
    pool_dir: Path,
    distgit_url: str,
) -> Iterator[BackendFactory]:
    made: list[Backend] = []

    def make(**overrides: Any) -> Backend:
        values: dict[str, Any] = {
            "frontend_url": frontend.url,
            "frontend_auth": BACKEND_PASSWORD,
            "redis_url": redis_url,
            "results_dir": str(www.results),
            "results_url": f"{www.url}/results",
            "sleep_time": 1.0,
            "worker_start_timeout": 30.0,
            "cancel_check_interval": 0.5,
            "build_grace": 30.0,
            "local_slots": 2,
            "local_pool_dir": str(pool_dir),
            "local_uid_base": SESSION_UID_BASE,
            "rpmbuild_command": str(BIN / "copr-rpmbuild"),
            "rpmbuild_cancel_command": str(BIN / "copr-rpmbuild-cancel"),
            "rpmbuild_settings": {
                "distgit_clone_url": f"{distgit_url}/git",
                "distgit_lookaside_url": f"{distgit_url}/repo/pkgs",
                "buildroot": "bwrap",
                "kill_grace": 1.0,
                "default_timeout": 300,
                "max_log_size": 4 * 1024 * 1024,
            },
            "cancel_grace": 2.0,
            "lease_timeout": 60.0,
            "keygen_url": keygen.url,
            "keygen_secret": KEYGEN_SECRET,
            "sign_domain": "copr.test",
            "worker_log_dir": str(tmp_path / "worker-logs"),
            "state_dir": str(tmp_path / "backend-state"),
            "log_level": "DEBUG",
        }
        # rpmbuild_settings given are added to the defaults above.
        values["rpmbuild_settings"].update(overrides.pop("rpmbuild_settings", {}))
        values.update(overrides)
        config = tmp_path / f"backend-{len(made)}.toml"
        config.write_text(tomli_w.dumps(values))
        settings = BackendSettings.model_validate(values)
        backend = Backend(settings, config, Redis.from_url(redis_url))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        for proc in backend.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        _stop_workers(backend)
        backend.redis.close()


def _stop_workers(backend: Backend) -> None:
    """Kill worker processes and builds a failed test left behind (by their recorded pid)."""
    import contextlib
    import os
    import signal

    from copr_common.redis_keys import ACTION_MANAGER, BUILD_MANAGER, index_key, record_key
    from copr_common.worker_manager import process_start_time

    for name in (BUILD_MANAGER, ACTION_MANAGER):
        for raw in backend.redis.smembers(index_key(name)):
            key = record_key(name, raw.decode())
            pid, start = backend.redis.hget(key, "pid"), backend.redis.hget(key, "pid_start")
            if pid and start and process_start_time(int(pid)) == int(start):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(pid), signal.SIGKILL)
    # Workers whose record Redis lost (tests flush it) are found by their task locks.
    for lock in backend.settings.worker_lock_dir.glob("*/*.lock"):
        fields = lock.read_text().split() if lock.exists() else []
        if len(fields) == 2 and process_start_time(int(fields[0])) == int(fields[1]):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(fields[0]), signal.SIGKILL)
    for slot in backend.settings.local_pool_dir.glob("slot-*"):
        subprocess.run(
            [str(BIN / "copr-rpmbuild-cancel"), "-c", str(slot / "rpmbuild.toml"), "--grace", "1"],
            capture_output=True,
            check=False,
            timeout=60,
        )


# --- packages -------------------------------------------------------------------------------

SPEC = """\
Name:           {name}
Version:        {version}
Release:        1
Summary:        A tiny package for backend tests
License:        MIT
BuildArch:      noarch
{tags}
%description
{name} for the backend tests.

%prep

%build
{build}

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo "{name} {version}" > %{{buildroot}}/usr/share/{name}/README

%files
/usr/share/{name}/README
"""


@pytest.fixture
def make_srpm(www: Www, tmp_path: Path) -> Callable[..., str]:
    """``make_srpm(name, version, build="", tags="")`` → the SRPM's URL on the www server
    (``tags``: more spec header lines, e.g. ``BuildRequires: gcc``)."""

    def make(name: str = "hello", version: str = "1.0", build: str = "", tags: str = "") -> str:
        work = tmp_path / f"srpm-{name}-{version}-{uuid.uuid4().hex[:6]}"
        work.mkdir()
        spec = work / f"{name}.spec"
        spec.write_text(SPEC.format(name=name, version=version, build=build, tags=tags))
        result = subprocess.run(
            [
                "rpmbuild",
                "-bs",
                "--define",
                f"_topdir {work / 'top'}",
                "--define",
                f"_srcrpmdir {work / 'out'}",
                "--nodeps",
                str(spec),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        (srpm,) = (work / "out").glob("*.src.rpm")
        target = www.root / "srpms" / srpm.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(srpm, target)
        return f"{www.url}/srpms/{srpm.name}"

    return make


# --- dist-git -------------------------------------------------------------------------------


@dataclass
class DistGit:
    url: str
    state_dir: Path
    dispatcher: subprocess.Popen[bytes]


@pytest.fixture
def distgit_sleep_time() -> float:
    """dist-git's poll interval; a test of its push wakeups parametrizes a long one."""
    return 0.5


@pytest.fixture
def distgit(
    distgit_url: str,
    frontend: Served,
    redis_url: str,
    tmp_path: Path,
    service_run: ServiceRun,
    distgit_sleep_time: float,
) -> Iterator[DistGit]:
    """The real dist-git: its import dispatcher (a process) and its HTTP app on ``distgit_url``."""
    from copr_distgit.settings import DistGitSettings
    from copr_distgit.web import create_app as create_distgit_app

    state = tmp_path / "distgit"
    values = {
        "frontend_url": frontend.url,
        "frontend_auth": BACKEND_PASSWORD,
        "redis_url": redis_url,
        "state_dir": str(state),
        "sleep_time": distgit_sleep_time,
        "max_srpm_size": 10 * 1024 * 1024,
    }
    config = tmp_path / "distgit.toml"
    config.write_text(tomli_w.dumps(values))
    settings = DistGitSettings.model_validate(values)
    port = int(distgit_url.rsplit(":", 1)[1])
    server = make_server("127.0.0.1", port, create_distgit_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proc = service_run.spawn(
        f"distgit-{port}", [str(BIN / "copr-distgit-dispatcher"), "--config", str(config)]
    )
    yield DistGit(distgit_url, state, proc)
    service_run.stop(proc)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def tiny_rpms(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """31 tiny noarch RPMs (tiny0 … tiny30), made by one rpmbuild run."""
    work = tmp_path_factory.mktemp("tiny-rpms")
    lines = [
        "Name: tiny",
        "Version: 1",
        "Release: 1",
        "Summary: tiny",
        "License: MIT",
        "BuildArch: noarch",
        "%description",
        "tiny",
    ]
    for number in range(31):
        lines += [
            f"%package -n tiny{number}",
            f"Summary: tiny {number}",
            f"%description -n tiny{number}",
            f"tiny {number}",
            f"%files -n tiny{number}",
        ]
    spec = work / "tiny.spec"
    spec.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            "rpmbuild",
            "-bb",
            "--define",
            f"_topdir {work / 'top'}",
            "--define",
            f"_rpmdir {work / 'out'}",
            "--define",
            "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
            str(spec),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [work / "out" / f"tiny{n}-1-1.noarch.rpm" for n in range(31)]
