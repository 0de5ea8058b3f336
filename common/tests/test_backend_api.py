"""The shared backend-API client over real HTTP: its retry policy, header and errors.

The server is a loopback WSGI app that answers like the frontend's ``/backend/`` routes
and can act out an outage (refused connections, 5xx) or a refusal (4xx).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from copr_common.backend_api import API_VERSION, BackendApiClient, BackendApiError
from copr_common.testing.services import free_port


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FrontendStandIn:
    """Answers ``/backend/...``; ``failures`` 503s first, ``status`` for everything after."""

    def __init__(self) -> None:
        self.failures = 0
        self.status = "200 OK"
        self.body: Any = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with self.lock:
            self.requests.append(
                {
                    "method": environ["REQUEST_METHOD"],
                    "path": environ["PATH_INFO"],
                    "version": environ.get("HTTP_COPR_FE_BE_API_VERSION"),
                    "auth": environ.get("HTTP_AUTHORIZATION"),
                    "body": environ["wsgi.input"].read(length) if length else b"",
                }
            )
            if self.failures > 0:
                self.failures -= 1
                status, body = "503 SERVICE UNAVAILABLE", {"error": "restarting"}
            else:
                status, body = self.status, self.body
        payload = json.dumps(body).encode()
        start(status, [("Content-Type", "application/json"), ("Copr-FE-BE-API-Version", "6")])
        return [payload]


@pytest.fixture
def frontend() -> Iterator[tuple[FrontendStandIn, str]]:
    app = FrontendStandIn()
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def client(url: str, **options: Any) -> BackendApiClient:
    options.setdefault("first_delay", 0.01)
    options.setdefault("max_delay", 0.05)
    return BackendApiClient(url, "secret", **options)


def test_a_report_rides_out_a_restarting_frontend_and_logs_it_once(
    frontend: tuple[FrontendStandIn, str], caplog: pytest.LogCaptureFixture
) -> None:
    app, url = frontend
    caplog.set_level(logging.INFO)
    app.failures = 5
    app.body = {"updated": True}
    assert client(url).update_builds([{"id": 1, "status": 1}]) == {"updated": True}
    assert len(app.requests) == 6
    last = app.requests[-1]
    assert (last["method"], last["path"], last["version"]) == ("POST", "/backend/update/", "6")
    assert json.loads(last["body"]) == {"builds": [{"id": 1, "status": 1}]}
    assert last["auth"].startswith("Basic ")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is unavailable" in m for m in messages) == 1, messages
    assert sum("is back after" in m for m in messages) == 1, messages


def test_a_refusal_is_not_retried(frontend: tuple[FrontendStandIn, str]) -> None:
    app, url = frontend
    app.status, app.body = "403 FORBIDDEN", {"error": "Backend password required"}
    with pytest.raises(BackendApiError, match="403 Backend password required") as refused:
        client(url).import_completed({"build_id": 1})
    assert refused.value.status == 403
    assert not refused.value.transient
    assert len(app.requests) == 1


def test_patience_ends_and_the_last_error_is_raised(frontend: tuple[FrontendStandIn, str]) -> None:
    app, url = frontend
    app.failures = 1000
    with pytest.raises(BackendApiError, match="503 restarting") as error:
        client(url, report_patience=0.3).task_canceled("5", True)
    assert error.value.transient
    assert len(app.requests) > 1


def test_an_unreachable_frontend() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendApiError, match=f"GET {url}/backend/pending-jobs/") as error:
        client(url, poll_patience=0.2).pending_jobs()
    assert error.value.status is None
    assert error.value.transient


def test_typed_calls_and_their_answers(frontend: tuple[FrontendStandIn, str]) -> None:
    app, url = frontend
    api = client(url)
    app.body = [{"task_id": "5", "build_id": 5}]
    assert api.pending_jobs() == [{"task_id": "5", "build_id": 5}]
    app.body = {"can_start": True}
    assert api.starting_build({"build_id": 5, "task_id": "5-fedora-42-x86_64", "chroot": "f"})
    assert json.loads(app.requests[-1]["body"]) == {
        "build_id": 5,
        "task_id": "5-fedora-42-x86_64",
        "chroot": "f",
    }
    app.body = ["5", 6]
    assert api.cancel_requests() == ["5", "6"]
    app.status, app.body = "404 NOT FOUND", {"error": "no such task"}
    assert api.build_task("5-fedora-42-x86_64") is None
    assert app.requests[-1]["path"] == "/backend/get-build-task/5-fedora-42-x86_64/"
    assert api.action(7) is None
    app.status, app.body = "200 OK", {"not": "a list"}
    with pytest.raises(BackendApiError, match="expected a JSON list"):
        api.pending_actions()
    assert {r["version"] for r in app.requests} == {API_VERSION}


def test_an_answer_over_the_size_limit(frontend: tuple[FrontendStandIn, str]) -> None:
    app, url = frontend
    app.body = {"task_id": "1", "junk": "x" * 5000}
    with pytest.raises(BackendApiError, match="larger than 1000 bytes"):
        client(url, max_size=1000).get_task(f"{url}/backend/get-srpm-build-task/1/")
