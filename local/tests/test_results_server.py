"""The results server shows logs in a browser and keeps a live log's URL working."""

from __future__ import annotations

import functools
import gzip
import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from copr_local.results_server import ResultsHandler

LOG = "Building hello-copr-1.0-1\nBuild succeeded\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    build = tmp_path / "results" / "admin" / "hello" / "fedora-42-x86_64" / "00000001-hello"
    build.mkdir(parents=True)
    handler = functools.partial(ResultsHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield build, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, method: str = "GET") -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


BUILD_URL = "/results/admin/hello/fedora-42-x86_64/00000001-hello"


def test_live_log_is_text(served: tuple[Path, int]) -> None:
    build, port = served
    (build / "builder-live.log").write_text(LOG)
    response, body = _get(port, f"{BUILD_URL}/builder-live.log")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert response.getheader("Content-Encoding") is None
    assert body.decode() == LOG


@pytest.mark.parametrize("name", ["builder-live.log", "backend.log"])
def test_finished_logs_show_in_a_browser(served: tuple[Path, int], name: str) -> None:
    build, port = served
    (build / f"{name}.gz").write_bytes(gzip.compress(LOG.encode()))
    response, body = _get(port, f"{BUILD_URL}/{name}.gz")
    assert response.status == 200
    # A browser unpacks the body and shows it, as it does for any gzip-encoded text.
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body).decode() == LOG

    # The URL that was followed while the build ran leads to the kept log.
    response, body = _get(port, f"{BUILD_URL}/{name}")
    assert response.status == 302
    assert response.getheader("Location") == f"{BUILD_URL}/{name}.gz"
    assert body == b""
    head, _body = _get(port, f"{BUILD_URL}/{name}", method="HEAD")
    assert head.status == 302


def test_other_files_and_misses(served: tuple[Path, int]) -> None:
    build, port = served
    (build / "hello-1.0-1.noarch.rpm").write_bytes(b"\xed\xab\xee\xdb rpm")
    (build / "results.json").write_text("{}")
    response, _body = _get(port, f"{BUILD_URL}/hello-1.0-1.noarch.rpm")
    assert response.getheader("Content-Type") == "application/x-rpm"
    assert response.getheader("Content-Encoding") is None
    response, _body = _get(port, f"{BUILD_URL}/results.json")
    assert response.getheader("Content-Type") == "application/json"
    # No log and no .gz of it: a plain 404.
    assert _get(port, f"{BUILD_URL}/builder-live.log")[0].status == 404
    listing, body = _get(port, f"{BUILD_URL}/")
    assert listing.status == 200
    assert b"hello-1.0-1.noarch.rpm" in body
