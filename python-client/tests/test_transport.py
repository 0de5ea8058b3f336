"""The HTTP layer: auth, error mapping, network failures, streamed multipart bodies."""

from __future__ import annotations

import io
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from copr.v3 import (
    BaseProxy,
    Client,
    CoprAuthException,
    CoprNoResultException,
    CoprRequestException,
)
from copr.v3.requests import BLOCK_SIZE, MultipartStream, Request, UploadFile


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_auth_check_with_a_valid_token(config: dict[str, Any]) -> None:
    result = Client(config).base_proxy.auth_check()
    assert result.name == "alice"
    assert result["name"] == "alice"
    assert result.__response__.status_code == 200


def test_auth_username_asks_the_server_when_the_config_lacks_it(config: dict[str, Any]) -> None:
    proxy = BaseProxy({**config, "username": None})
    assert proxy.auth_username() == "alice"


def test_expired_token_is_an_auth_error(
    factory: Any, db_session: Any, user: Any, config: dict[str, Any]
) -> None:
    login, token = factory.token(user)
    user.api_token_expires_on = int(time.time()) - 86400
    db_session.commit()
    proxy = BaseProxy({**config, "login": login, "token": token})
    with pytest.raises(CoprAuthException) as error:
        proxy.auth_check()
    assert error.value.response is not None
    assert error.value.response.status_code == 401
    assert "expired" in str(error.value).lower()


def test_wrong_token_is_an_auth_error(config: dict[str, Any]) -> None:
    with pytest.raises(CoprAuthException):
        BaseProxy({**config, "token": "not-the-token"}).auth_check()


def test_no_token_fails_before_sending(config: dict[str, Any]) -> None:
    with pytest.raises(CoprAuthException, match="login:token is invalid"):
        BaseProxy({**config, "login": None, "token": None}).auth_check()


def test_unknown_route_is_no_result(config: dict[str, Any]) -> None:
    with pytest.raises(CoprNoResultException, match="not an API route"):
        BaseProxy(config)._call("/no-such-resource")


def test_network_failure_is_a_request_error() -> None:
    port = closed_port()
    proxy = BaseProxy({"copr_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(CoprRequestException, match="Unable to connect to") as error:
        proxy.home()
    assert "Connection refused" in str(error.value)


def test_connection_attempts_retry_with_a_pause() -> None:
    request = Request(f"http://127.0.0.1:{closed_port()}/api_3/", connection_attempts=2)
    request.retry_pause = 0.2
    started = time.monotonic()
    with pytest.raises(CoprRequestException):
        request.send("auth-check")
    assert time.monotonic() - started >= 0.2


def test_endpoint_url_quotes_path_values() -> None:
    request = Request("http://copr.test/api_3/")
    url = request.endpoint_url("/project/add/{ownername}", {"ownername": "@my group"})
    assert url == "http://copr.test/api_3/project/add/@my%20group"


def parse(stream: MultipartStream) -> tuple[dict[str, str], dict[str, bytes], dict[str, str]]:
    body = b"".join(iter(lambda: stream.read(1000), b""))
    builder = EnvironBuilder(
        method="POST", input_stream=io.BytesIO(body), content_type=stream.content_type,
        content_length=len(body),
    )  # fmt: skip
    _, form, files = parse_form_data(builder.get_environ())
    names = {name: files[name].filename or "" for name in files}
    contents = {}
    for name in files:
        contents[name] = files[name].read()
        files[name].close()
    return dict(form.items()), contents, names


def test_multipart_stream_is_valid_and_streamed(tmp_path: Path) -> None:
    payload = bytes(range(256)) * (3 * BLOCK_SIZE // 256 + 7)
    srpm = tmp_path / 'odd "name".src.rpm'
    srpm.write_bytes(payload)
    seen: list[int] = []
    with srpm.open("rb") as file:
        stream = MultipartStream(
            {
                "pkgs": UploadFile(srpm.name, file, "application/x-rpm"),
                "json": json.dumps({"a": 1}),
            },
            callback=lambda monitor: seen.append(monitor.bytes_read),
        )
        total = stream.len
        form, files, names = parse(stream)
    assert json.loads(form["json"]) == {"a": 1}
    assert files["pkgs"] == payload
    assert names["pkgs"] == srpm.name
    assert stream.bytes_read == total == len(stream)
    # Many small reads, reported as they happen: the file was never read whole.
    assert len(seen) > 3
    assert seen == sorted(seen)
    assert seen[-1] == total
