"""Settings files and the supervisord configuration a stack is started with."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from copr_local.services import (
    MARKER_ENV,
    programs,
    supervisord_config,
    write_settings,
)
from copr_local.state import (
    FALLBACK_POOL_ROOT,
    StackError,
    StackLayout,
    StackState,
    assign_ports,
)

from copr_distgit.settings import load as load_dist_git
from copr_frontend.settings import load_frontend_settings
from copr_keygen.settings import load_keygen_settings


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[StackLayout, StackState]]:
    layout = StackLayout(tmp_path / "state 100%")
    layout.make_dirs()
    state = StackState()
    assign_ports(state, None)
    yield layout, state
    # As root, the builder slots of a private state dir live outside it.
    if layout.pool_dir.parent == FALLBACK_POOL_ROOT:
        shutil.rmtree(layout.pool_dir)


def test_services_agree_on_urls_and_secrets(stack: tuple[StackLayout, StackState]) -> None:
    layout, state = stack
    write_settings(layout, state)
    frontend = load_frontend_settings(layout.config_file("frontend"), environ={})
    keygen = load_keygen_settings(layout.config_file("keygen"), environ={})
    dist_git = load_dist_git(layout.config_file("dist-git"))
    assert frontend.public_url == dist_git.frontend_url == state.url("frontend")
    assert dist_git.frontend_auth == frontend.backend_password
    assert frontend.dist_git_url == f"http://127.0.0.1:{state.ports['dist_git']}/git"
    assert frontend.results_url == f"http://127.0.0.1:{state.ports['results']}/results"
    assert frontend.database_url == f"sqlite:///{layout.frontend_dir / 'copr.sqlite'}"
    assert frontend.redis_url == (
        f"redis://:{state.redis_password}@127.0.0.1:{state.ports['redis']}/1"
    )
    # One db for all: the status page reads every manager's workers from it.
    assert dist_git.redis_url == frontend.redis_url
    assert keygen.state_dir == layout.keygen_dir
    assert keygen.bind == f"127.0.0.1:{state.ports['keygen']}"
    assert dist_git.state_dir == layout.dist_git_dir
    for service in ("frontend", "keygen", "dist-git", "backend"):
        assert layout.config_file(service).stat().st_mode & 0o077 == 0
    assert layout.redis_conf.stat().st_mode & 0o077 == 0


def test_backend_settings_point_at_the_stack(stack: tuple[StackLayout, StackState]) -> None:
    from copr_backend.settings import load as load_backend

    layout, state = stack
    write_settings(layout, state)
    backend = load_backend(layout.config_file("backend"))
    assert backend.frontend_url == state.url("frontend")
    assert backend.keygen_url == state.url("keygen")
    assert backend.keygen_secret == state.keygen_secret
    assert backend.results_dir == layout.results_dir
    assert backend.redis_url == frontend_redis_url(state)
    # Slot uids of the stack's own: another stack on this host builds as other uids.
    other = StackLayout(layout.root.parent / "another stack")
    assert backend.local_uid_base == layout.sandbox_uid_base != other.sandbox_uid_base
    assert backend.local_uid_base + backend.local_slots < 2**31


def frontend_redis_url(state: StackState) -> str:
    return f"redis://:{state.redis_password}@127.0.0.1:{state.ports['redis']}/1"


def test_the_stacks_redis_wants_its_password(stack: tuple[StackLayout, StackState]) -> None:
    import redis

    layout, state = stack
    write_settings(layout, state)
    (program,) = [p for p in programs(layout, state) if p.name == "redis"]
    # Nothing secret on the command line, which every local user can read.
    assert state.redis_password not in " ".join(program.command)
    server = subprocess.Popen(
        program.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=layout.root
    )
    try:
        authorized = redis.Redis.from_url(frontend_redis_url(state), socket_timeout=5)
        deadline = time.monotonic() + 20
        while True:
            try:
                assert authorized.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        authorized.set("copr-local-test", "1")
        anonymous = redis.Redis(host="127.0.0.1", port=state.ports["redis"], socket_timeout=5)
        with pytest.raises(redis.AuthenticationError):
            anonymous.get("copr-local-test")
        wrong = redis.Redis(
            host="127.0.0.1", port=state.ports["redis"], password="guess", socket_timeout=5
        )
        with pytest.raises(redis.AuthenticationError):
            wrong.get("copr-local-test")
        for client in (authorized, anonymous, wrong):
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_unusable_settings_stop_before_anything_starts(
    stack: tuple[StackLayout, StackState],
) -> None:
    layout, state = stack
    state.keygen_secret = "short"
    with pytest.raises(StackError, match="keygen: invalid settings") as error:
        write_settings(layout, state)
    assert "short" not in str(error.value)


def test_supervisord_config(stack: tuple[StackLayout, StackState]) -> None:
    layout, state = stack
    text = supervisord_config(layout, state, {"HOME": str(layout.home)})
    # supervisord's own parser expands %(...)s: the literal % in the path is escaped.
    parser = configparser.ConfigParser()
    parser.read_string(text)
    names = [program.name for program in programs(layout, state)]
    assert [s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")] == (
        names
    )
    assert set(names) == {
        "redis", "frontend", "frontend-timers", "keygen", "dist-git-http", "dist-git-dispatcher",
        "results", "download-counter",
        "backend-build-dispatcher", "backend-action-dispatcher", "backend-notification-dispatcher",
    }  # fmt: skip
    assert parser.get("supervisord", "pidfile") == str(layout.supervisord_pid)
    assert f'{MARKER_ENV}="{layout.root}"' in parser.get("supervisord", "environment")
    for name in names:
        assert parser.get(f"program:{name}", "stopasgroup") == "true"
        assert parser.get(f"program:{name}", "stdout_logfile") == str(layout.logs / f"{name}.log")
    # supervisord writes the logs 0640; programs with secrets create everything 0600.
    assert parser.get("supervisord", "umask") == "027"
    umasks = {name: parser.get(f"program:{name}", "umask") for name in names}
    assert {name for name, umask in umasks.items() if umask == "077"} == {
        "redis",
        "frontend",
        "frontend-timers",
        "keygen",
        "download-counter",
    }
    assert set(umasks.values()) == {"077", "022"}
    frontend = parser.get("program:frontend", "command", raw=True)
    assert "--config python:copr_frontend.gunicorn_conf" in frontend


def test_supervisor_socket_needs_the_stack_password(stack: tuple[StackLayout, StackState]) -> None:
    layout, state = stack
    parser = configparser.ConfigParser()
    parser.read_string(supervisord_config(layout, state, {}))
    for section in ("unix_http_server", "supervisorctl"):
        assert parser.get(section, "username") == "copr-local"
        assert parser.get(section, "password") == state.supervisor_password
