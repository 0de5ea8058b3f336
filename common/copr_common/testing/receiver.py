"""An HTTP endpoint on loopback that records what is POSTed to it, for the tests of
outbound notifications.

``status`` is what it answers (change it while it runs: e.g. 500 until the test says
otherwise); every request is kept with the time it arrived, its headers and its body.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float
    """``time.monotonic()`` when it arrived."""
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str, header: str = "X-Copr-Signature-256") -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get(header, ""), expected)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver = self.server.receiver
        status = receiver.status
        with receiver.lock:
            receiver.requests.append(
                Received(time.monotonic(), self.path, dict(self.headers.items()), body, status)
            )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: HookReceiver


class HookReceiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def hook_receiver(status: int = 200) -> Iterator[HookReceiver]:
    receiver = HookReceiver(status)
    try:
        yield receiver
    finally:
        receiver.close()
