"""Access control: the secret (and allowed networks) guard every route, and no route
ever hands out secret key material."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from copr_keygen.app import create_app
from copr_keygen.settings import KeygenSettings

SECRET_MARKERS = (b"PRIVATE KEY", b"SECRET KEY")


def _routes(settings: Any) -> list[tuple[str, str]]:
    """(method, rule) of every route the app has, so a new route is covered by itself."""
    app = create_app(settings)
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    )


def _call(
    http: Any,
    base: str,
    method: str,
    rule: str,
    identity: str,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """Call one route with a well-formed request for ``identity``."""
    path = rule.replace("<identity>", quote(identity, safe=""))
    all_headers = dict(headers or {})
    body = None
    if rule.startswith("/gen_key"):
        body = json.dumps({"name_email": identity}).encode()
        all_headers["Content-Type"] = "application/json"
    elif method == "POST":
        body = b"some bytes to sign"
    return http(base + path, method, body, headers=all_headers, **kwargs)


def test_every_route_is_known(keygen_settings: Any) -> None:
    # Keep this list in step with the app: each route below is checked by the tests here.
    assert _routes(keygen_settings) == [
        ("GET", "/keys/<identity>"),
        ("GET", "/keys/<identity>/pubkey.gpg"),
        ("GET", "/ping"),
        ("POST", "/gen_key"),
        ("POST", "/keys/<identity>/sign"),
    ]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-secret-0123456789", "Basic a2V5Z2VuOnNlY3JldA==", "Bearer", ""],
)
def test_calls_without_the_secret_are_refused(
    keygen: Any, keygen_settings: Any, http: Any, new_identity: Any, authorization: str | None
) -> None:
    identity = new_identity()
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, rule in _routes(keygen_settings):
        if rule == "/ping":
            continue
        response = _call(http, keygen.url, method, rule, identity, headers, secret=None)
        assert response.status == 401, (method, rule, response.body)
        assert "secret" in response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert keygen.keyring.find(identity) == []


def test_ping_is_open_and_says_nothing(keygen: Any, http: Any) -> None:
    response = http(f"{keygen.url}/ping", secret=None)
    assert response.status == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("networks", "status"),
    [(["10.0.0.0/8", "fd00::/8"], 403), (["192.0.2.0/24", "127.0.0.0/8"], 200)],
)
def test_allowed_networks(
    keygen_settings: Any,
    serve_app: Any,
    http: Any,
    signing_identity: str,
    networks: list[str],
    status: int,
) -> None:
    data = keygen_settings.model_dump()
    data["secret"] = keygen_settings.secret.get_secret_value()
    data["allowed_networks"] = networks
    url = serve_app(KeygenSettings(**data))
    response = http(f"{url}/keys/{quote(signing_identity, safe='')}")
    assert response.status == status
    if status == 403:
        assert "127.0.0.1 is not allowed" in response.json()["error"]
    assert http(f"{url}/ping", secret=None).status == 200


def _secret_only_chunks(home: Path, identity: str) -> set[bytes]:
    """32-byte pieces of the exported secret key that the public key does not contain."""
    base = ["gpg", "--homedir", str(home), "--batch", "--no-tty"]
    secret = subprocess.run(
        [*base, "--export-secret-keys", f"<{identity}>"], capture_output=True, check=True
    ).stdout
    public = subprocess.run(
        [*base, "--export", f"<{identity}>"], capture_output=True, check=True
    ).stdout
    assert secret
    assert public
    chunks = {secret[i : i + 32] for i in range(0, len(secret) - 32, 4)}
    return {chunk for chunk in chunks if chunk not in public}


def _openpgp_packets(data: bytes) -> str:
    result = subprocess.run(
        ["gpg", "--batch", "--list-packets"], input=data, capture_output=True, check=False
    )
    return result.stdout.decode(errors="replace")


def test_no_route_returns_secret_key_material(
    keygen: Any, keygen_settings: Any, http: Any, signing_identity: str
) -> None:
    secret_chunks = _secret_only_chunks(keygen_settings.gnupg_home, signing_identity)
    assert len(secret_chunks) > 100
    bodies: list[bytes] = []
    for method, rule in _routes(keygen_settings):
        for query in ("", "?armor=1", "?secret=1&export=secret"):
            response = _call(http, keygen.url, method, rule + query, signing_identity)
            assert response.status in (200, 201), (method, rule, response.body)
            bodies.append(response.body)
    for body in bodies:
        assert not any(marker in body.upper() for marker in SECRET_MARKERS)
        dearmored = subprocess.run(
            ["gpg", "--dearmor"], input=body, capture_output=True, check=False
        ).stdout
        for blob in (body, dearmored):
            assert not any(chunk in blob for chunk in secret_chunks)
        packets = _openpgp_packets(body)
        assert "secret key packet" not in packets
        assert "secret sub key packet" not in packets
