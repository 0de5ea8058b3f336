"""Fixtures of keygen's own tests, beside those of the ``copr_keygen.testing`` plugin: an
in-process threaded server on the same GnuPG home, and raw HTTP requests.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from copr_keygen.app import create_app
from copr_keygen.settings import KeygenSettings
from copr_keygen.testing import SECRET, Keygen
from copr_keygen_client import KeygenClient


@pytest.fixture(scope="session")
def client(keygen_client: KeygenClient) -> KeygenClient:
    """The plugin's ``keygen_client``, under the short name these tests use."""
    return keygen_client


def serve_in_thread(settings: KeygenSettings) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="keygen-wsgi", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def thread_keygen(keygen_settings: KeygenSettings) -> Iterator[Keygen]:
    """keygen in this process: werkzeug's threaded WSGI server on a random port."""
    server, thread = serve_in_thread(keygen_settings)
    yield Keygen(f"http://127.0.0.1:{server.server_port}", keygen_settings)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def serve_app() -> Iterator[Callable[[KeygenSettings], str]]:
    """Serve apps made from given settings in this process until the test ends."""
    running: list[tuple[BaseWSGIServer, threading.Thread]] = []

    def serve(settings: KeygenSettings) -> str:
        server, thread = serve_in_thread(settings)
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class RawResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    *,
    secret: str | None = SECRET,
    headers: dict[str, str] | None = None,
) -> RawResponse:
    """One HTTP request with exactly these bytes; errors are answers, not exceptions."""
    all_headers = dict(headers or {})
    if secret is not None:
        all_headers.setdefault("Authorization", f"Bearer {secret}")
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return RawResponse(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, error.read(), dict(error.headers))


@pytest.fixture
def http() -> Callable[..., RawResponse]:
    """:func:`raw_request`, for tests (they cannot import conftest)."""
    return raw_request
