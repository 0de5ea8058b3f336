"""Clear messages and copr-cli's exit codes for user errors: never a traceback."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Protocol

from copr_cli.main import main

OUR_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "copr-cli"


class Result(Protocol):
    code: int
    out: str
    err: str


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err


def test_explicit_missing_config(tmp_path: Path, capsys: Any) -> None:
    code = main(["--config", str(tmp_path / "missing"), "whoami"])
    err = capsys.readouterr().err
    assert code == 6
    assert f"Copr configuration error. File {tmp_path / 'missing'} is missing." in err


def test_default_config_missing_for_an_authenticated_command(
    tmp_path: Path, run_script: Any
) -> None:
    # HOME has no .config/copr: say where the config belongs and where to get a token.
    result = run_script(OUR_CLI, ["create", "proj", "--chroot", "fedora-42-x86_64"], tmp_path)
    assert result.code == 7
    assert f"No configuration file {tmp_path}/.config/copr" in result.err
    assert "https://copr.fedorainfracloud.org/api/" in result.err
    no_traceback(result)


def test_bad_config_file(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "copr"
    path.write_text("[copr-cli]\ncopr_url = http://copr.test\n")
    assert main(["--config", str(path), "status", "1"]) == 6
    assert "should not be http" in capsys.readouterr().err


def test_config_without_token(live_server: Any, make_config: Any, capsys: Any) -> None:
    path = make_config(live_server.url, username="alice")
    assert main(["--config", str(path), "delete", "proj"]) == 7
    err = capsys.readouterr().err
    assert "Operation requires API authentication" in err
    assert "has no 'login' and 'token'" in err


def test_expired_token(
    cli: Any, make_config: Any, live_server: Any, factory: Any, db_session: Any, user: Any
) -> None:
    login, token = factory.token(user)
    user.api_token_expires_on = int(time.time()) - 3600
    db_session.commit()
    # Without a username in the config, whoami asks the server who the token is.
    config = make_config(live_server.url, login=login, token=token)
    result = cli("whoami", config=config)
    assert result.code == 7
    assert "Operation requires API authentication" in result.err
    assert "the API token expired on" in result.err
    assert f"get a new one at {live_server.url}/api/" in result.err
    no_traceback(result)


def test_whoami(cli: Any, make_config: Any, live_server: Any, factory: Any, user: Any) -> None:
    assert cli("whoami").out == "alice\n"
    login, token = factory.token(user)
    config = make_config(live_server.url, login=login, token=token)
    assert cli("whoami", config=config).out == "alice\n"
    assert cli("whoami", config=make_config(live_server.url)).code == 6


def test_network_failure(make_config: Any, capsys: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = make_config(f"http://127.0.0.1:{port}", connection_attempts=1)
    assert main(["--config", str(path), "status", "5"]) == 1
    err = capsys.readouterr().err
    assert "Something went wrong:" in err
    assert f"Unable to connect to http://127.0.0.1:{port}/api_3/. (Connection refused)" in err


def test_bad_argument_is_exit_2(cli: Any) -> None:
    result = cli("status", "abc")
    assert result.code == 2
    assert "invalid build ID: 'abc'" in result.err
    result = cli("edit-permissions", "proj")
    assert result.code == 2
    assert "neither --builder nor --admin specified" in result.err


def test_unknown_build_is_exit_1(cli: Any) -> None:
    result = cli("status", "123456")
    assert result.code == 1
    assert "Something went wrong:" in result.err
    no_traceback(result)
