"""gunicorn's access log of the frontend holds no credentials (AccessLogger), served as
the unit serves it (``--config python:copr_frontend.gunicorn_conf``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from copr_common.testing.services import free_port
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

GUNICORN = Path(sys.executable).parent / "gunicorn"
# gunicorn's default format, plus every atom that could show a credential.
FORMAT = ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
          '%(U)s %({authorization}i)s %({cookie}i)s %({http_authorization}e)s')  # fmt: skip


def test_access_log_names_no_login_token_or_webhook_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    settings = FrontendSettings(
        database_url=url, secret_key="log-secret-0123456789", backend_password="log-backend-pw"
    )
    database = Database(url)
    with database.sessionmaker() as session:
        login, token = Factory(session, settings).token(Factory(session).user("alice"))
    database.dispose()
    port = free_port()
    log = tmp_path / "access.log"
    env = {
        "COPR_FRONTEND_DATABASE_URL": url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
        "PATH": "/usr/bin:/bin",
    }
    server = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--config", "python:copr_frontend.gunicorn_conf",
         "--access-logfile", str(log), "--access-logformat", FORMAT,
         "copr_frontend.app:create_app()"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/api_3/mock-chroots/list", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        who = requests.get(f"{base}/api_3/auth-check", auth=(login, token), timeout=10)
        assert who.json()["name"] == "alice"
        requests.post(f"{base}/webhooks/github/7/s3cr3t-webhook/pkg/", timeout=10)
        requests.get(f"{base}/api_3/auth-check", cookies={"session": "c00kie"}, timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors = server.stderr.read().decode() if server.stderr else ""
        if server.stderr:
            server.stderr.close()
    # The configuration asks for no control socket (the unit's home is not writable).
    assert "control socket" not in errors.lower(), errors
    text = log.read_text()
    assert "GET /api_3/auth-check" in text
    assert "/webhooks/github/7/<secret>/pkg/" in text
    for secret in (login, token, "s3cr3t-webhook", "c00kie", "Basic "):
        assert secret not in text, (secret, text)
