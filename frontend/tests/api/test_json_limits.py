"""JSON bodies over the depth or size limit are a 400 that says so, and nothing is stored:
API v3 bodies, the multipart ``json`` part, and the backend API."""

from __future__ import annotations

import io
from collections.abc import Iterator

import flask
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_frontend.api.json_limits import MAX_JSON_DEPTH, too_deep
from copr_frontend.app import create_app
from copr_frontend.settings import FrontendSettings

from .conftest import World, snapshot

LIMIT = 64 * 1024
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def small_app(settings: FrontendSettings) -> Iterator[flask.Flask]:
    application = create_app(settings.model_copy(update={"max_json_size": LIMIT}))
    yield application
    application.extensions["copr_database"].dispose()


def _deep_object(depth: int) -> str:
    return '{"name": "x", "description": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def _multipart(json_text: str) -> tuple[bytes, str]:
    fields = {
        "json": FileStorage(io.BytesIO(json_text.encode()), "json", "application/json"),
        "pkgs": FileStorage(io.BytesIO(b"Name: x\n"), "x.spec"),
    }
    boundary, payload = encode_multipart(MultiDict(fields))
    return payload, f"multipart/form-data; boundary={boundary}"


def test_depth_count_skips_brackets_inside_strings() -> None:
    assert not too_deep('["' + "[" * 1000 + '"]')
    assert not too_deep("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert too_deep("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not too_deep("[" + "[]," * 5000 + "[]]")
    assert too_deep('{"a\\"[": ' * 70 + "1" + "}" * 70)


def test_nested_and_large_bodies_are_refused(
    client: FlaskClient,
    small_app: flask.Flask,
    world: World,
    db_session: Session,
    backend_headers: dict[str, str],
) -> None:
    small: FlaskClient = small_app.test_client()
    owner = world.auth("owner")
    before = snapshot(db_session)
    headers = {**owner, "Content-Type": "application/json"}

    def refused(response: flask.Response, words: str) -> None:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert words in response.get_json()["error"]

    for url in ("/api_3/project/add/owner", "/api_3/build/create/url"):
        refused(client.post(url, data=DEEP, headers=headers), "nested deeper than 64 levels")
        refused(client.post(url, data=_deep_object(65), headers=headers), "nested deeper")
    refused(
        small.post("/api_3/project/add/owner", data=" " * LIMIT + "{}", headers=headers),
        f"larger than the limit of {LIMIT} bytes",
    )
    refused(
        client.post("/api_3/project/permissions/set/owner/proj", data=DEEP, headers=headers),
        "nested deeper",
    )

    payload, content_type = _multipart(DEEP)
    response = client.post(
        "/api_3/build/create/upload", data=payload, headers=owner, content_type=content_type
    )
    refused(response, "The 'json' part is nested deeper than 64 levels")
    big = '{"ownername": "owner", "projectname": "proj", "x": "' + "y" * LIMIT + '"}'
    payload, content_type = _multipart(big)
    response = small.post(
        "/api_3/build/create/upload", data=payload, headers=owner, content_type=content_type
    )
    refused(response, "The 'json' part is larger than the limit")

    backend = {**backend_headers, "Content-Type": "application/json"}
    refused(client.post("/backend/update/", data=DEEP, headers=backend), "nested deeper")
    refused(client.post("/backend/import-completed/", data=DEEP, headers=backend), "nested")
    refused(
        client.post(f"/backend/build-tasks/canceled/{world.build.id}/", data=DEEP, headers=backend),
        "nested deeper",
    )
    assert snapshot(db_session) == before


def test_bodies_within_the_limits_still_work(small_app: flask.Flask, world: World) -> None:
    client: FlaskClient = small_app.test_client()
    body = {"name": "fine", "chroots": ["fedora-42-x86_64"], "description": "[{" * 200}
    response = client.post("/api_3/project/add/owner", json=body, headers=world.auth("owner"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["description"] == "[{" * 200
