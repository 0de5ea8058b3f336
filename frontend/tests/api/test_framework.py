"""The API v3 framework: pagination, parameters, request bodies, JSON errors."""

from __future__ import annotations

import flask
import pytest
from sqlalchemy import select

from copr_frontend import db
from copr_frontend.api import ApiError, BadRequest
from copr_frontend.api.params import get_params, json_body, paginate
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.testing import Factory

ORDERABLE = {"id": MockChroot.id, "name": MockChroot.name}


def _page(app: flask.Flask, query_string: str) -> dict[str, object]:
    with app.test_request_context(f"/api_3/x?{query_string}"):
        return paginate(
            db.session(),
            select(MockChroot),
            lambda chroot: {"name": chroot.name},
            get_params(),
            orderable=ORDERABLE,
        )


@pytest.fixture
def chroots(factory: Factory) -> list[str]:
    names = ["fedora-42-x86_64", "epel-9-x86_64", "fedora-rawhide-aarch64"]
    for name in names:
        factory.mock_chroot(name)
    return names


def test_paginate(app: flask.Flask, chroots: list[str]) -> None:
    page = _page(app, "limit=2&order=name&order_type=DESC")
    assert page["items"] == [{"name": "fedora-rawhide-aarch64"}, {"name": "fedora-42-x86_64"}]
    assert page["meta"] == {
        "limit": 2,
        "offset": 0,
        "order": "name",
        "order_type": "DESC",
        "total": 3,
    }
    assert _page(app, "limit=2&offset=2&order=name")["items"] == [
        {"name": "fedora-rawhide-aarch64"}
    ]
    assert _page(app, "offset=10")["items"] == []
    assert [i["name"] for i in _page(app, "")["items"]] == chroots  # default: by id


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "between 1 and"),
        ("limit=abc", "must be an integer"),
        ("offset=-1", "must not be negative"),
        ("order=comment", "Cannot order by 'comment'"),
        ("order_type=sideways", "ASC or DESC"),
    ],
)
def test_paginate_bad_input(app: flask.Flask, chroots: list[str], query: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        _page(app, query)


def test_params(app: flask.Flask) -> None:
    with app.test_request_context("/api_3/x?a=1"):
        assert get_params() == {"a": "1"}


def test_json_body_forms(app: flask.Flask) -> None:
    with app.test_request_context("/", method="POST", json={"a": 1}):
        assert json_body() == {"a": 1}
    with app.test_request_context("/", method="POST", data={"json": '{"b": 2}'}):
        assert json_body() == {"b": 2}
    with app.test_request_context("/", method="POST", data={"c": "3"}):
        assert json_body() == {"c": "3"}
    with app.test_request_context("/", method="POST"):
        assert json_body() == {}
    for kwargs in (
        {"json": [1]},
        {"data": {"json": "{oops"}},
        {"data": {"json": "[1]"}},
        {"data": b"garbage", "content_type": "text/plain"},
    ):
        with app.test_request_context("/", method="POST", **kwargs), pytest.raises(BadRequest):
            json_body()


def test_errors_are_json_with_their_status(settings) -> None:  # type: ignore[no-untyped-def]
    from copr_frontend.app import create_app

    application = create_app(settings)

    def conflict() -> flask.Response:
        raise ApiError("already there", 409)

    def boom() -> flask.Response:
        raise RuntimeError("secret detail")

    application.add_url_rule("/api_3/conflict", view_func=conflict)
    application.add_url_rule("/api_3/boom", view_func=boom)
    application.add_url_rule("/web-boom", view_func=boom)
    client = application.test_client()
    try:
        response = client.get("/api_3/conflict")
        assert (response.status_code, response.get_json()) == (409, {"error": "already there"})
        response = client.get("/api_3/boom")
        assert response.status_code == 500
        assert response.get_json() == {"error": "Internal server error: RuntimeError"}
        web = client.get("/web-boom")
        assert web.status_code == 500
        assert not web.is_json
        assert b"secret" not in web.data
    finally:
        application.extensions["copr_database"].dispose()


def test_api_errors_stay_json_beside_the_web_ui(client, factory, settings) -> None:  # type: ignore[no-untyped-def]
    """The web UI renders HTML error pages, also for errors the shared lookup helpers
    raise; under ``/api_3`` and ``/backend`` every error is still ``{"error": ...}``."""
    owner = factory.user("owner")
    factory.project(owner, "mine")
    stranger = factory.auth(factory.user("stranger"))
    too_big = b"x" * (settings.max_upload_size + 2 * 1024 * 1024)
    cases = [
        ("GET", "/api_3/no-such-route", {}, 404),
        ("GET", "/api_3/build/not-a-number", {}, 404),
        ("DELETE", "/api_3/project", {}, 405),
        ("GET", "/api_3/project?ownername=owner&projectname=gone", {}, 404),
        ("GET", "/api_3/build/99999", {}, 404),
        ("POST", "/api_3/project/add/owner", {"json": {"name": "x"}}, 401),
        ("POST", "/api_3/project/edit/owner/mine", {"json": {}, "headers": stranger}, 403),
        ("POST", "/api_3/project/add/owner", {"data": "{", "headers": stranger,
                                             "content_type": "application/json"}, 400),
        ("POST", "/api_3/build/create/upload", {"data": too_big, "headers": stranger,
                                               "content_type": "application/octet-stream"}, 413),
        ("GET", "/backend/no-such-route", {}, 404),
        ("POST", "/backend/update/", {"json": {}}, 401),
    ]  # fmt: skip
    for method, path, kwargs, status in cases:
        response = client.open(path, method=method, **kwargs)
        assert response.status_code == status, (path, response.get_data(as_text=True))
        assert response.is_json, path
        assert response.get_json()["error"], path
    # The same lookups on pages give the HTML pages.
    for path in ("/coprs/owner/gone/", "/coprs/build/99999", "/no-such-page/"):
        page = client.get(path)
        assert page.status_code == 404
        assert page.mimetype == "text/html", path


def test_request_too_large_is_json_413(client, settings, backend_headers) -> None:  # type: ignore[no-untyped-def]
    body = b"x" * (settings.max_upload_size + 2 * 1024 * 1024)
    response = client.post(
        "/backend/update/", data=body, content_type="application/json", headers=backend_headers
    )
    assert response.status_code == 413
    assert "size limit" in response.get_json()["error"]


def test_route_path_or_query_and_post_for_put() -> None:
    from copr_frontend.api import make_route

    blueprint = flask.Blueprint("things", __name__, url_prefix="/api_3")
    route = make_route(blueprint)

    @route("/thing/<name>", "/thing", methods=["PUT"])
    def thing(name: str | None = None) -> flask.Response:
        return flask.jsonify(get_params())

    application = flask.Flask("things")
    application.register_blueprint(blueprint)
    client = application.test_client()
    assert client.put("/api_3/thing/a").get_json() == {"name": "a"}
    assert client.put("/api_3/thing/a/").get_json() == {"name": "a"}
    assert client.post("/api_3/thing?name=b").get_json() == {"name": "b"}
    assert client.post("/api_3/thing/?name=b").get_json() == {"name": "b"}
    assert client.get("/api_3/thing/a").status_code == 405
