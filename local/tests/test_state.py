"""The state dir: persisted secrets and ports, and how ports are (re)assigned."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from copr_local.state import (
    FALLBACK_POOL_ROOT,
    HOST,
    SERVICES_WITH_PORTS,
    StackError,
    StackLayout,
    StackState,
    assign_ports,
    port_is_free,
    searchable_by_others,
)


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen()
    return sock


def test_fresh_state_gets_distinct_free_ports_and_secrets() -> None:
    state = StackState()
    assign_ports(state, None)
    ports = [state.ports[name] for name in SERVICES_WITH_PORTS]
    assert len(set(ports)) == len(ports)
    assert all(port_is_free(port) for port in ports)
    assert len({state.secret_key, state.backend_password, state.keygen_secret}) == 3
    assert len(state.backend_password) >= 8
    assert len(state.secret_key) >= 16


def test_saved_ports_are_kept_and_a_taken_one_is_replaced(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    state = StackState()
    assign_ports(state, None)
    state.save(layout)
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    with listening_socket() as busy:
        loaded = StackState.load(layout)
        loaded.ports["keygen"] = busy.getsockname()[1]
        assign_ports(loaded, None)
        assert loaded.ports["keygen"] != busy.getsockname()[1]
    assert {name: port for name, port in loaded.ports.items() if name != "keygen"} == {
        name: port for name, port in state.ports.items() if name != "keygen"
    }
    assert loaded.secret_key == state.secret_key


def test_requested_frontend_port_wins(tmp_path: Path) -> None:
    state = StackState()
    with listening_socket() as probe:
        wanted = probe.getsockname()[1]
    assign_ports(state, wanted)
    assert state.ports["frontend"] == wanted
    assert state.url("frontend") == f"http://{HOST}:{wanted}"


def test_requested_port_in_use_is_refused() -> None:
    state = StackState()
    with listening_socket() as busy, pytest.raises(StackError, match="is in use"):
        assign_ports(state, busy.getsockname()[1])
    assert state.ports == {}


@pytest.mark.parametrize("content", ["{not json", '{"surprise": 1}', '{"ports": [1]}'])
def test_foreign_state_file_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    with pytest.raises(StackError, match="state.json"):
        StackState.load(StackLayout(tmp_path))


def test_builder_slots_stay_in_a_state_dir_others_can_walk_into() -> None:
    layout = StackLayout(Path("/tmp/copr-local-somewhere/stack"))
    assert layout.pool_dir == layout.backend_dir / "local-pool"


def test_builder_slots_move_out_of_a_private_state_dir(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    layout = StackLayout(private / "stack")
    if os.geteuid() != 0:
        # Builds run as this user, who may enter the dir anyway.
        assert layout.pool_dir == layout.backend_dir / "local-pool"
        return
    assert layout.pool_dir.parent == FALLBACK_POOL_ROOT
    assert layout.pool_dir == StackLayout(private / "stack").pool_dir
    assert layout.pool_dir != StackLayout(private / "other").pool_dir
    assert searchable_by_others(layout.pool_dir.parent)
    assert not searchable_by_others(layout.root)
