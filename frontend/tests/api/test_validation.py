"""The one set of input coercers (``copr_frontend.validation``) and how its errors reach
clients: a 400 ``{"error": ...}`` naming the field, with nothing stored.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask.testing import FlaskClient

from copr_common.enums import StatusEnum
from copr_frontend.api.errors import BadRequest
from copr_frontend.validation import (
    MAX_INT,
    InvalidInput,
    text_field,
    to_bool,
    to_choice,
    to_int,
    to_list,
    to_status,
    to_text,
    to_timestamp,
)

from .conftest import World, snapshot

# --- the coercers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5), (5, 5), (-3, -3), (7.0, 7), (None, None), ("", None), (MAX_INT, MAX_INT)],
)
def test_to_int_takes_integers_as_text_or_json(value: Any, expected: int | None) -> None:
    assert to_int(value, "n") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Field 'n' must be an integer, got 'abc'"),
        ("1.5", "Field 'n' must be an integer"),
        (1.5, "Field 'n' must be an integer, got 1.5"),
        (True, "Field 'n' must be an integer, got True"),
        ([1], "Field 'n' must be an integer"),
        (math.inf, "Field 'n' must be an integer"),
        (MAX_INT + 1, "Field 'n' is out of range"),
        (-MAX_INT - 1, "Field 'n' is out of range"),
    ],
)
def test_to_int_refuses_what_is_no_integer(value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        to_int(value, "n")


def test_to_int_bounds_and_required() -> None:
    with pytest.raises(InvalidInput, match="Missing required parameter 'n'"):
        to_int(None, "n", required=True)
    with pytest.raises(InvalidInput, match="must be at least 2, got 1"):
        to_int(1, "n", minimum=2)
    with pytest.raises(InvalidInput, match="must be at most 2, got 3"):
        to_int(3, "n", maximum=2)
    assert to_int(2**40, "n", limit=2**62) == 2**40
    # A 400 of the API layer: views, forms and FieldErrors treat it as any bad request.
    assert issubclass(InvalidInput, BadRequest)
    assert InvalidInput("x").code == 400


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (1700000000, 1700000000), ("1700000000.7", 1700000000)]
)
def test_to_timestamp_drops_fractions(value: Any, expected: int | None) -> None:
    assert to_timestamp(value, "ended_on") == expected


@pytest.mark.parametrize("value", ["soon", True, [1], -5, math.nan, math.inf, "1e30"])
def test_to_timestamp_refuses_what_is_no_time(value: Any) -> None:
    with pytest.raises(InvalidInput, match="Field 'ended_on' must be a Unix time"):
        to_timestamp(value, "ended_on")


def test_text_coercers() -> None:
    assert to_text(5, "t") == "5"
    assert to_text(None, "t") is None
    for bad, message in [
        (["a"], "^Field 't' must be text$"),
        (True, "^Field 't' must be text$"),
        ("a\x00b", "must not contain NUL characters"),
        ("x" * 11, r"is too long \(at most 10 characters\)"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            to_text(bad, "t", max_length=10)


def test_text_field_reads_the_first_name_given() -> None:
    data = {"script_chroot": " fedora-42-x86_64 ", "chroot": "  "}
    assert text_field(data, "chroot", "script_chroot") == "fedora-42-x86_64"
    assert text_field({}, "spec") == ""
    with pytest.raises(InvalidInput, match="Missing required field 'clone_url'"):
        text_field({"clone_url": "   "}, "clone_url", required=True)
    with pytest.raises(InvalidInput, match="Field 'clone_url' must be text"):
        text_field({"clone_url": {"a": 1}}, "clone_url")


def test_bool_list_choice_status() -> None:
    assert [to_bool(v, "b") for v in ("yes", "off", 1, 0, False, None)] == [
        True, False, True, False, False, None,
    ]  # fmt: skip
    assert to_list("a, b c", "l") == ["a", "b", "c"]
    assert to_list(["a", " ", 3], "l") == ["a", "3"]
    assert to_choice("host", "buildroot", ("mock", "host")) == "host"
    assert to_status("succeeded") == StatusEnum.succeeded
    for call, message in [
        (lambda: to_bool("maybe", "b"), "Field 'b' must be a boolean, got 'maybe'"),
        (lambda: to_bool(2, "b"), "Field 'b' must be a boolean"),
        (lambda: to_list({"a": 1}, "l"), "Field 'l' must be a list of strings"),
        (lambda: to_list([["a"]], "l"), "Field 'l' must be a list of strings"),
        (lambda: to_list("a\x00", "l"), "must not contain NUL"),
        (lambda: to_choice("chroot", "buildroot", ("mock", "host")), "must be one of mock, host"),
        (lambda: to_status("done"), "done"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            call()


# --- over HTTP: a 400 with the message, nothing stored ---------------------------------------


def _refused(response: Any, message: str) -> None:
    assert response.status_code == 400, response.data
    assert message in response.get_json()["error"]


def test_api_routes_answer_bad_values_with_a_400(client: FlaskClient, world: World) -> None:
    headers = world.auth("owner")
    before = snapshot(world.factory.session)
    body = {"ownername": "owner", "projectname": "proj", "clone_url": ["https://x.test/a.git"]}
    _refused(client.post("/api_3/build/create/scm", json=body, headers=headers),
             "Field 'clone_url' must be text")  # fmt: skip
    body = {"ownername": "owner", "projectname": "proj", "clone_url": "  "}
    _refused(client.post("/api_3/build/create/scm", json=body, headers=headers),
             "Missing required field 'clone_url'")  # fmt: skip
    body = {"ownername": "owner", "projectname": "proj", "pkgs": ["x"], "timeout": "long"}
    _refused(client.post("/api_3/build/create/url", json=body, headers=headers),
             "timeout: must be an integer, got 'long'")  # fmt: skip
    _refused(client.get("/api_3/build/list?ownername=owner&projectname=proj&limit=abc"),
             "Field 'limit' must be an integer, got 'abc'")  # fmt: skip
    _refused(client.get("/api_3/build?build_id=x"),
             "Field 'build_id' must be an integer")  # fmt: skip
    assert snapshot(world.factory.session) == before


def test_backend_routes_answer_bad_values_with_a_400(
    client: FlaskClient, world: World, backend_headers: dict[str, str]
) -> None:
    bid = world.build.id
    before = snapshot(world.factory.session)
    report = {"id": bid, "task_id": str(bid), "status": int(StatusEnum.running)}
    for bad, message in [
        ({"started_on": "soon"}, "Field 'started_on' must be a Unix time, got 'soon'"),
        ({"ended_on": [1]}, "Field 'ended_on' must be a Unix time"),
    ]:
        response = client.post("/backend/update/", json={"builds": [{**report, **bad}]},
                               headers=backend_headers)  # fmt: skip
        _refused(response, message)
    for path, body, message in [
        ("update", {"builds": [{"id": "one"}]}, "Field 'builds id' must be an integer"),
        ("update", {"actions": [{"id": 1, "result": True}]}, "Field 'result' must be an integer"),
        ("import-completed", {"branch_commits": {}}, "Missing required parameter 'build_id'"),
    ]:
        _refused(client.post(f"/backend/{path}/", json=body, headers=backend_headers), message)
    _refused(client.get("/backend/get-import-task/abc/"), "Field 'build_id' must be an integer")
    # Too large for an id column: a 400, not a database error.
    _refused(client.get(f"/backend/action/{2**40}/"), "Field 'action_id' is out of range")
    _refused(client.get("/backend/pending-deliveries/?limit=many", headers=backend_headers),
             "Field 'limit' must be an integer")  # fmt: skip
    assert snapshot(world.factory.session) == before

    # A builder's fractional time is still a time.
    response = client.post("/backend/update/", json={"builds": [{**report, "started_on": 1.7e9}]},
                           headers=backend_headers)  # fmt: skip
    assert response.status_code == 200, response.data
