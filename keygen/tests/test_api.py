"""The HTTP API of a running keygen (gunicorn): make keys, read them, sign with them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from http.client import HTTPConnection
from typing import Any
from urllib.parse import quote

import pytest

from copr_keygen.settings import KeygenSettings
from copr_keygen_client import KeygenClient, KeygenError

JSON = {"Content-Type": "application/json"}
YEAR = 365 * 24 * 3600


def _key_count(keygen: Any) -> int:
    return len(keygen.keyring.all_keys())


def test_gen_key_creates_once_then_reports_existing(keygen: Any, identity: str, http: Any) -> None:
    body = json.dumps({"name_real": "tester_proj", "name_email": identity}).encode()
    first = http(f"{keygen.url}/gen_key", "POST", body, headers=JSON)
    assert first.status == 201, first.body
    made = first.json()
    assert made["created"] is True
    assert made["name_email"] == identity
    assert made["uids"] == [f"tester_proj <{identity}>"]
    assert made["length"] == 2048
    assert made["algorithm"] == 1  # RSA
    assert abs(made["expires_on"] - made["created_on"] - YEAR) < 60
    assert made["expired"] is False

    second = http(f"{keygen.url}/gen_key", "POST", body, headers=JSON)
    assert second.status == 200
    assert second.json()["created"] is False
    assert second.json()["fingerprint"] == made["fingerprint"]
    assert len(keygen.keyring.find(identity)) == 1


def test_gen_key_options(client: KeygenClient, identity: str) -> None:
    result = client.gen_key(identity, name_real="Some Project", key_length=2048, expire_days=0)
    assert result.created
    assert result.key["expires_on"] is None
    assert result.key["uids"] == [f"Some Project <{identity}>"]


def test_gen_key_longest_expiry_does_not_wrap(client: KeygenClient, identity: str) -> None:
    key = client.gen_key(identity, expire_days=10950).key
    assert abs(key["expires_on"] - key["created_on"] - 10950 * 24 * 3600) < 60


def test_gen_key_group_owner_and_default_name(client: KeygenClient) -> None:
    project = f"proj-{time.time_ns()}"
    identity = f"@group#{project}@copr.example.org"
    result = client.gen_key(identity)
    assert result.created
    assert result.key["uids"] == [f"@group_{project} <{identity}>"]
    assert client.key_info(identity)["fingerprint"] == result.key["fingerprint"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "must be a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "name_email is required"),
        (b'{"name_email": 5}', "name_email is required"),
        (b'{"name_email": "alice@copr.example.org"}', "expected <owner>#<project>"),
        (b'{"name_email": "IDENT", "extra": 1}', "unknown fields extra"),
        (b'{"name_email": "IDENT", "name_real": ""}', "name_real is empty"),
        (b'{"name_email": "IDENT", "name_real": 7}', "name_real must be a string"),
        (b'{"name_email": "IDENT", "name_real": "a <b>"}', "without < > ( )"),
        (b'{"name_email": "IDENT", "name_real": "a\\nb"}', "printable"),
        (b'{"name_email": "IDENT", "name_real": " padded"}', "leading or trailing"),
        (b'{"name_email": "IDENT", "key_length": 1024}', "key_length 1024 is not supported"),
        (b'{"name_email": "IDENT", "key_length": "2048"}', "key_length must be an integer"),
        (b'{"name_email": "IDENT", "key_length": true}', "key_length must be an integer"),
        (b'{"name_email": "IDENT", "expire_days": -1}', "expire_days -1 is out of range"),
        (b'{"name_email": "IDENT", "expire_days": "5y"}', "expire_days must be an integer"),
        (b'{"name_email": "IDENT", "expire_days": 10951}', "0 (never) to 10950"),
    ],
)
def test_gen_key_bad_input_is_refused_and_stores_nothing(
    keygen: Any, identity: str, http: Any, body: bytes, message: str
) -> None:
    before = _key_count(keygen)
    response = http(
        f"{keygen.url}/gen_key", "POST", body.replace(b"IDENT", identity.encode()), headers=JSON
    )
    assert response.status == 400
    assert message in response.json()["error"]
    assert keygen.keyring.find(identity) == []
    assert _key_count(keygen) == before


def test_key_info_and_missing_keys(client: KeygenClient, identity: str, http: Any) -> None:
    with pytest.raises(KeygenError, match=f"404: no key for {identity}") as missing:
        client.key_info(identity)
    assert missing.value.status == 404
    with pytest.raises(KeygenError, match="404"):
        client.public_key(identity)
    with pytest.raises(KeygenError, match="404"):
        client.sign(identity, b"data")
    made = client.gen_key(identity).key
    info = client.key_info(identity)
    assert info["fingerprint"] == made["fingerprint"]
    bad = http(f"{client.url}/keys/{quote('no-hash@copr.example.org')}")
    assert bad.status == 400
    assert "expected <owner>#<project>" in bad.json()["error"]


def test_pubkey_is_the_public_key(client: KeygenClient, signing_identity: str) -> None:
    armored = client.public_key(signing_identity)
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    listed = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--import-options", "show-only", "--import"],
        input=armored.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    fingerprint = client.key_info(signing_identity)["fingerprint"]
    assert f"fpr:::::::::{fingerprint}:" in listed
    assert f"<{signing_identity}>" in listed


def test_signatures_verify(
    client: KeygenClient,
    signing_identity: str,
    gpg_verify: Callable[[str, bytes, bytes], bool],
) -> None:
    pubkey = client.public_key(signing_identity)
    data = b"the header rpmsign would send\x00\xff" * 100
    binary = client.sign(signing_identity, data)
    assert not binary.startswith(b"-----")
    assert gpg_verify(pubkey, data, binary)
    assert not gpg_verify(pubkey, data + b"x", binary)

    armored = client.sign(signing_identity, data, digest_algo="sha512", armor=True)
    assert armored.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert gpg_verify(pubkey, data, armored)
    packets = subprocess.run(
        ["gpg", "--batch", "--list-packets"], input=armored, capture_output=True, check=False
    ).stdout.decode()
    assert "digest algo 10" in packets  # SHA512


@pytest.mark.parametrize(
    ("query", "body", "status", "message"),
    [
        ("digest_algo=MD5", b"data", 400, "digest_algo 'MD5' is not supported"),
        ("armor=maybe", b"data", 400, "armor must be 0 or 1"),
        ("", b"", 400, "nothing to sign"),
    ],
)
def test_sign_bad_input(
    keygen: Any,
    signing_identity: str,
    http: Any,
    query: str,
    body: bytes,
    status: int,
    message: str,
) -> None:
    url = f"{keygen.url}/keys/{quote(signing_identity, safe='')}/sign?{query}"
    response = http(url, "POST", body)
    assert response.status == status
    assert message in response.json()["error"]


def test_sign_refuses_bodies_over_the_limit(keygen: Any, signing_identity: str) -> None:
    """Refused on Content-Length alone: the client need not send the body at all."""
    host, port = keygen.url.removeprefix("http://").split(":")
    conn = HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", f"/keys/{quote(signing_identity, safe='')}/sign")
        conn.putheader("Authorization", f"Bearer {keygen.settings.secret.get_secret_value()}")
        conn.putheader("Content-Length", str(keygen.settings.max_sign_bytes + 1))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert "larger than 1048576 bytes" in json.loads(response.read())["error"]
    finally:
        conn.close()


def test_unknown_routes_and_methods_answer_json(keygen: Any, http: Any) -> None:
    missing = http(f"{keygen.url}/export-secret-keys")
    assert missing.status == 404
    assert "error" in missing.json()
    wrong_method = http(f"{keygen.url}/gen_key")
    assert wrong_method.status == 405
    assert "error" in wrong_method.json()


def test_client_reports_bodies_over_the_limit(client: KeygenClient, signing_identity: str) -> None:
    with pytest.raises(KeygenError, match=r"413: the request body is larger|closed the connection"):
        client.sign(signing_identity, b"x" * (4 * 1024 * 1024))


def test_gpg_failure_is_a_json_500(
    keygen_settings: Any, serve_app: Any, http: Any, identity: str, tmp_path: Any
) -> None:
    data = keygen_settings.model_dump()
    data["secret"] = keygen_settings.secret.get_secret_value()
    data["state_dir"] = tmp_path / "state"
    data["gpg_binary"] = str(tmp_path / "no-such-gpg")
    url = serve_app(KeygenSettings(**data))
    response = http(
        f"{url}/gen_key", "POST", json.dumps({"name_email": identity}).encode(), headers=JSON
    )
    assert response.status == 500
    assert "key operation failed: cannot run" in response.json()["error"]
