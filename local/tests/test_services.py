"""Settings files and the supervisord configuration a stack is started with."""

from __future__ import annotations

import configparser
import shutil
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
    assert frontend.redis_url == f"redis://127.0.0.1:{state.ports['redis']}/1"
    assert keygen.state_dir == layout.keygen_dir
    assert keygen.bind == f"127.0.0.1:{state.ports['keygen']}"
    assert dist_git.state_dir == layout.dist_git_dir
    for service in ("frontend", "keygen", "dist-git", "backend"):
        assert layout.config_file(service).stat().st_mode & 0o077 == 0


def test_backend_settings_point_at_the_stack(stack: tuple[StackLayout, StackState]) -> None:
    from copr_backend.settings import load as load_backend

    layout, state = stack
    write_settings(layout, state)
    backend = load_backend(layout.config_file("backend"))
    assert backend.frontend_url == state.url("frontend")
    assert backend.keygen_url == state.url("keygen")
    assert backend.keygen_secret == state.keygen_secret
    assert backend.results_dir == layout.results_dir
    assert backend.redis_url.endswith(f":{state.ports['redis']}/1")


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
        "redis", "frontend", "keygen", "dist-git-http", "dist-git-dispatcher", "results",
        "backend-build-dispatcher", "backend-action-dispatcher", "backend-notification-dispatcher",
    }  # fmt: skip
    assert parser.get("supervisord", "pidfile") == str(layout.supervisord_pid)
    assert f'{MARKER_ENV}="{layout.root}"' in parser.get("supervisord", "environment")
    for name in names:
        assert parser.get(f"program:{name}", "stopasgroup") == "true"
        assert parser.get(f"program:{name}", "stdout_logfile") == str(layout.logs / f"{name}.log")


def test_supervisor_socket_needs_the_stack_password(stack: tuple[StackLayout, StackState]) -> None:
    layout, state = stack
    parser = configparser.ConfigParser()
    parser.read_string(supervisord_config(layout, state, {}))
    for section in ("unix_http_server", "supervisorctl"):
        assert parser.get(section, "username") == "copr-local"
        assert parser.get(section, "password") == state.supervisor_password
