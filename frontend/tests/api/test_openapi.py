"""The OpenAPI description of API v3 is true: it names every API route and only real
ones, and a seeded fuzzer gets only documented answers, each matching its schema."""

from __future__ import annotations

import io
import json
import random
import re
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_frontend.api.openapi import OPERATIONS, Operation

from .conftest import World

CASES = 25
"""Requests per operation; raise it locally to fuzz harder (150 passes with other seeds)."""
RPM_HEAD = b"\xed\xab\xee\xdb"
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _spec_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule.removeprefix("/api_3").rstrip("/")) or "/"


def test_served_document(client: FlaskClient) -> None:
    document = client.get("/api_3/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/api_3"}]
    operation = document["paths"]["/project/add/{ownername}"]["post"]
    assert operation["security"] == [{"basicAuth": []}]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


def test_every_route_is_described(app: flask.Flask) -> None:
    """Each API view has an operation, and each operation is a rule of that method."""
    rules: dict[str, set[str]] = {}
    endpoints: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api_3/") or rule.endpoint == "static":
            continue
        path = _spec_path(rule.rule)
        rules.setdefault(path, set()).update(m.lower() for m in rule.methods or ())
        endpoints.setdefault(rule.endpoint, set()).add(path)
    described = {(op.path, op.method) for op in OPERATIONS}
    for path, method in described:
        assert method in rules.get(path, set()), f"{method.upper()} {path} is not a route"
    described_paths = {path for path, _method in described}
    for endpoint, paths in endpoints.items():
        assert paths & described_paths, f"{endpoint} ({sorted(paths)}) is not described"


# --- a small JSON-schema check for the subset the description uses --------------------------

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def conforms(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    if value is None:
        assert schema.get("nullable"), f"{where} is null"
        return
    kind = schema.get("type")
    if kind is not None:
        expected = _TYPES[kind]
        ok = isinstance(value, expected) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
        assert ok, f"{where} is {type(value).__name__}, not {kind}"
    if kind == "object":
        for name in schema.get("required", []):
            assert name in value, f"{where} has no {name!r}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                conforms(value[name], sub, f"{where}.{name}")
        extra = schema.get("additionalProperties")
        undocumented = [n for n in value if n not in schema.get("properties", {})]
        if extra is False:
            assert not undocumented, f"{where} has undocumented fields {undocumented}"
        if isinstance(extra, dict):
            for name in undocumented:
                conforms(value[name], extra, f"{where}.{name}")
    if "enum" in schema:
        assert value in schema["enum"], f"{where} is {value!r}, not one of {schema['enum']}"
    if kind == "array":
        for index, item in enumerate(value):
            conforms(item, schema.get("items", {}), f"{where}[{index}]")


def _object_schemas(schema: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every object schema inside ``schema``, with where it is."""
    if not isinstance(schema, dict):
        return []
    found = [(where, schema)] if schema.get("type") == "object" else []
    for key in ("properties", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            found += _object_schemas(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        found += _object_schemas(schema.get(key), f"{where}[{key}]")
    return found


def test_every_success_body_has_a_real_schema(client: FlaskClient) -> None:
    """No 200 answer is a free-form object: each lists its fields or types its values."""
    document = client.get("/api_3/openapi.json").get_json()
    free_form = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            if path == "/openapi.json":
                continue  # OpenAPI's own schema describes the rest of it
            for where, sub in _object_schemas(schema, f"{method.upper()} {path}"):
                # Any field allowed (true or an empty schema) is free-form; listed
                # fields and typed values (``{name: comment}``) are real schemas.
                extra = sub.get("additionalProperties", True)
                if extra is True or extra == {}:
                    free_form.append(where)
    assert free_form == []


# --- the fuzzer -----------------------------------------------------------------------------

STRINGS = [
    "owner",
    "proj",
    "@team",
    "gproj",
    "pkg",
    "scm",
    "pypi",
    "fedora-42-x86_64",
    "epel-*",
    "other",
    "0",
    "-1",
    "99999999999999999999",
    "true",
    "False",
    "ASC",
    "name",
    "../../etc",
    "a b",
    "x" * 300,
    "\u2603",
    "%00",
    "null",
    "1.5",
    "[]",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: mostly strings from the pool, sometimes other types."""
    choice = rng.randrange(9 if depth < 2 else 7)
    if choice < 3:
        return rng.choice(STRINGS)
    if choice == 3:
        return None
    if choice == 4:
        return rng.choice([True, False])
    if choice == 5:
        return rng.choice([0, 1, -5, 60, 3600, 10**12])
    if choice == 6:
        return [rng.choice(STRINGS) for _ in range(rng.randrange(3))]
    if choice == 7:
        return {rng.choice(STRINGS): _value(rng, depth + 1)}
    return [_value(rng, depth + 1)]


def _body(rng: random.Random, op: Operation, world: World) -> dict[str, Any]:
    properties = list((op.body or {}).get("properties", {}))
    body: dict[str, Any] = {}
    for name in properties:
        if rng.random() < 0.6:
            body[name] = _value(rng)
    if "ownername" in properties and rng.random() < 0.5:
        body.update(ownername="owner", projectname="proj")
    if "builds" in properties and rng.random() < 0.5:
        body["builds"] = [world.build.id]
    return body


def _multipart(rng: random.Random) -> tuple[bytes, str]:
    """A multipart body as python-copr sends it, with random parts and contents."""
    fields: dict[str, Any] = {}
    if rng.random() < 0.8:
        body = {"ownername": "owner", "projectname": "proj"} if rng.random() < 0.6 else {}
        body.update({rng.choice(STRINGS): _value(rng) for _ in range(rng.randrange(3))})
        text = json.dumps(body) if rng.random() < 0.9 else "{broken"
        fields["json"] = FileStorage(
            io.BytesIO(text.encode()), "json", content_type="application/json"
        )
    for part in ("pkgs", "upload_comps"):
        if rng.random() < 0.6:
            content = rng.choice(
                [
                    b"",
                    RPM_HEAD + rng.randbytes(20),
                    rng.randbytes(30),
                    b"<comps></comps>",
                    b"Name: x\n",
                ]
            )
            name = rng.choice(
                ["x-1-1.src.rpm", "x.spec", "comps.xml", "../x.src.rpm", "a b", "\u2603.spec"]
            )
            fields[part] = FileStorage(io.BytesIO(content), name)
    boundary, payload = encode_multipart(MultiDict(fields))
    return payload, f"multipart/form-data; boundary={boundary}"


def _path(rng: random.Random, op: Operation, world: World) -> str:
    values = {
        "ownername": "owner",
        "projectname": "proj",
        "chrootname": "fedora-42-x86_64",
        "build_id": str(world.build.id),
        "package_name": "pkg",
        "source_type_text": "scm",
        "who": "builder",
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if rng.random() < 0.6:
            return values.get(name, "x")
        return rng.choice([s for s in STRINGS if "/" not in s and s not in ("..", ".")])

    return "/api_3" + re.sub(r"\{([a-z_]+)\}", fill, op.path)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method}{op.path}")
def test_fuzz_operation(client: FlaskClient, world: World, op: Operation) -> None:
    rng = random.Random(f"{op.method}{op.path}")
    document = client.get("/api_3/openapi.json").get_json()
    responses = document["paths"][op.path][op.method]["responses"]
    auths = [
        {},
        world.auth("owner"),
        world.auth("other"),
        {"Authorization": "Basic bm9ib2R5OndoYXRldmVy"},
    ]
    for _case in range(CASES):
        query = {name: rng.choice(STRINGS) for name in op.query if rng.random() < 0.5}
        if "ownername" in op.query and rng.random() < 0.5:
            query.update(ownername="owner", projectname="proj")
        if "build_id" in op.query and rng.random() < 0.5:
            query.update(build_id=str(world.build.id), chrootname="fedora-42-x86_64")
        method = op.method.upper()
        if method in ("PUT", "DELETE") and rng.random() < 0.5:
            method = "POST"
        kwargs: dict[str, Any] = {"query_string": query, "headers": rng.choice(auths)}
        if op.multipart and rng.random() < 0.7:
            payload, content_type = _multipart(rng)
            kwargs.update(data=payload, content_type=content_type)
        elif op.body is not None or op.multipart:
            kwargs["json"] = _body(rng, op, world)
        response = client.open(_path(rng, op, world), method=method, **kwargs)
        code = str(response.status_code)
        assert code in responses, (method, response.request.url, code, response.get_data(True))
        assert response.status_code != 500, response.get_data(True)
        assert response.is_json, response.get_data(True)
        schema = responses[code]["content"]["application/json"]["schema"]
        conforms(response.get_json(), schema)


def test_secured_operations_ask_for_login_first(client: FlaskClient) -> None:
    """Without credentials every secured operation is a 401, whatever else is wrong."""
    document = client.get("/api_3/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "security" not in operation:
                continue
            url = "/api_3" + re.sub(r"\{[a-z_]+\}", "1", path)
            response = client.open(url, method=method.upper(), json={})
            assert response.status_code == 401, (method, path, response.get_json())
