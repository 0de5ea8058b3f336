"""The OpenAPI 3.0 description of API v3, served at ``/api_3/openapi.json``.

It is built from the table below, one entry per operation; a test checks that every
API v3 route of the app is described here and that each description names a real route,
and a fuzz test sends generated input to every operation and checks that the answers
are among the documented ones.  Keep the table next to the routes' behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flask

from copr_frontend.api import API_PREFIX, route

OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
LIST: dict[str, Any] = {
    "type": "object",
    "required": ["items", "meta"],
    "properties": {"items": {"type": "array", "items": OBJECT}, "meta": OBJECT},
}
PROJECT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "ownername", "full_name", "chroot_repos", "additional_repos"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "ownername": {"type": "string"},
        "full_name": {"type": "string"},
        "description": {"type": "string"},
        "instructions": {"type": "string"},
        "homepage": {"type": "string"},
        "contact": {"type": "string"},
        "chroot_repos": {"type": "object", "additionalProperties": {"type": "string"}},
        "additional_repos": {"type": "array", "items": {"type": "string"}},
        "enable_net": {"type": "boolean"},
        "auto_prune": {"type": "boolean"},
    },
}
BUILD: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "state",
        "ownername",
        "projectname",
        "project_dirname",
        "repo_url",
        "source_package",
        "submitted_on",
        "chroots",
        "is_background",
    ],
    "properties": {
        "id": {"type": "integer"},
        "state": {"type": "string"},
        "ownername": {"type": "string"},
        "projectname": {"type": "string"},
        "project_dirname": {"type": "string"},
        "repo_url": {"type": "string"},
        "source_package": OBJECT,
        "submitted_on": {"type": "integer"},
        "started_on": {"type": "integer", "nullable": True},
        "ended_on": {"type": "integer", "nullable": True},
        "submitter": {"type": "string", "nullable": True},
        "chroots": {"type": "array", "items": {"type": "string"}},
        "is_background": {"type": "boolean"},
    },
}

BUILD_OPTIONS: dict[str, Any] = {
    "ownername": {"type": "string"},
    "projectname": {"type": "string"},
    "project_dirname": {"type": "string", "nullable": True},
    "chroots": {"type": "array", "items": {"type": "string"}, "nullable": True},
    "exclude_chroots": {"type": "array", "items": {"type": "string"}, "nullable": True},
    "timeout": {"type": "integer", "nullable": True},
    "background": {"type": "boolean", "nullable": True},
    "enable_net": {"type": "boolean", "nullable": True},
    "bootstrap": {"type": "string", "nullable": True},
    "isolation": {"type": "string", "nullable": True},
    "after_build_id": {"type": "integer", "nullable": True},
    "with_build_id": {"type": "integer", "nullable": True},
}


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    query: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    multipart: bool = False
    auth: bool = False
    response: dict[str, Any] = field(default_factory=lambda: OBJECT)
    errors: tuple[int, ...] = (400, 404)


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _props(*names: str, **typed: Any) -> dict[str, Any]:
    props = {n: {"type": "string", "nullable": True} for n in names}
    props.update(typed)
    return {"type": "object", "properties": props}


PAGE = ("limit", "offset", "order", "order_type")
WRITE = (400, 401, 403, 404)
PROJECT_FIELDS = _props(
    "name",
    "description",
    "instructions",
    "homepage",
    "contact",
    "bootstrap",
    "isolation",
    chroots={"type": "array", "items": {"type": "string"}, "nullable": True},
    additional_repos={"type": "array", "items": {"type": "string"}, "nullable": True},
    enable_net={"type": "boolean", "nullable": True},
    delete_after_days={"type": "integer", "nullable": True},
)
PACKAGE_SOURCE = _props(
    "package_name",
    "clone_url",
    "committish",
    "subdirectory",
    "spec",
    "scm_type",
    "source_build_method",
    "pypi_package_name",
    "gem_name",
    "script",
    "distgit",
    "namespace",
    webhook_rebuild={"type": "boolean", "nullable": True},
    max_builds={"type": "integer", "nullable": True},
)


def _build_body(**extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {**BUILD_OPTIONS, **extra}}


OPERATIONS = [
    Operation("/auth-check", "get", "Who am I", auth=True, errors=(401,)),
    Operation("/api-token", "post", "Renew my API token", auth=True, errors=(401,)),
    Operation("/project", "get", "A project", ("ownername", "projectname"), response=PROJECT),
    Operation(
        "/project/list",
        "get",
        "Projects (of an owner)",
        ("ownername", *PAGE),
        response=LIST,
        errors=(400,),
    ),
    Operation(
        "/project/search", "get", "Search projects", ("query", *PAGE), response=LIST, errors=(400,)
    ),
    Operation(
        "/project/add/{ownername}",
        "post",
        "Create a project",
        ("exist_ok",),
        body=PROJECT_FIELDS,
        auth=True,
        response=PROJECT,
        errors=(*WRITE, 409),
    ),
    Operation(
        "/project/edit/{ownername}/{projectname}",
        "put",
        "Edit a project",
        body=PROJECT_FIELDS,
        auth=True,
        response=PROJECT,
        errors=WRITE,
    ),
    Operation(
        "/project/fork/{ownername}/{projectname}",
        "put",
        "Fork a project",
        body=_props("name", "ownername", confirm={"type": "boolean"}),
        auth=True,
        response=PROJECT,
        errors=WRITE,
    ),
    Operation(
        "/project/delete/{ownername}/{projectname}",
        "delete",
        "Delete a project",
        auth=True,
        response=PROJECT,
        errors=WRITE,
    ),
    Operation(
        "/project/regenerate-repos/{ownername}/{projectname}",
        "put",
        "Regenerate the repositories",
        auth=True,
        response=PROJECT,
        errors=WRITE,
    ),
    Operation(
        "/project/permissions/get/{ownername}/{projectname}",
        "get",
        "Permissions",
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/project/permissions/set/{ownername}/{projectname}",
        "put",
        "Set permissions",
        body=OBJECT,
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/project/permissions/request/{ownername}/{projectname}",
        "put",
        "Request permissions",
        body=OBJECT,
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/project/permissions/can_build_in/{who}/{ownername}/{projectname}",
        "get",
        "May a user build here",
    ),
    Operation(
        "/project-chroot",
        "get",
        "A chroot of a project",
        ("ownername", "projectname", "chrootname"),
    ),
    Operation(
        "/project-chroot/build-config",
        "get",
        "Build config of a project chroot",
        ("ownername", "projectname", "chrootname"),
    ),
    Operation(
        "/project-chroot/edit/{ownername}/{projectname}/{chrootname}",
        "put",
        "Edit a project chroot",
        multipart=True,
        auth=True,
        errors=WRITE,
    ),
    Operation("/build/{build_id}", "get", "A build", response=BUILD),
    Operation(
        "/build/list",
        "get",
        "Builds of a project",
        ("ownername", "projectname", "packagename", "status", *PAGE),
        response=LIST,
    ),
    Operation("/build/source-chroot/{build_id}", "get", "The source build of a build"),
    Operation("/build/source-build-config/{build_id}", "get", "Source build config"),
    Operation("/build/built-packages/{build_id}", "get", "Packages a build made"),
    Operation(
        "/build/cancel/{build_id}",
        "put",
        "Cancel a build",
        auth=True,
        response=BUILD,
        errors=(*WRITE, 409),
    ),
    Operation(
        "/build/delete/{build_id}",
        "delete",
        "Delete a build",
        auth=True,
        response=BUILD,
        errors=(*WRITE, 409),
    ),
    Operation(
        "/build/delete/list",
        "delete",
        "Delete builds",
        body={
            "type": "object",
            "properties": {"builds": {"type": "array", "items": {"type": "integer"}}},
        },
        auth=True,
        errors=(*WRITE, 409),
    ),
    Operation(
        "/build/check-before-build",
        "post",
        "Check build options",
        body=_build_body(),
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/build/create/url",
        "post",
        "Build from URLs",
        body=_build_body(pkgs={"type": "array", "items": {"type": "string"}}),
        auth=True,
        response=LIST,
        errors=WRITE,
    ),
    Operation(
        "/build/create/upload",
        "post",
        "Build an uploaded SRPM or spec",
        multipart=True,
        auth=True,
        response=BUILD,
        errors=(*WRITE, 413),
    ),
    Operation(
        "/build/create/scm",
        "post",
        "Build from SCM",
        body=_build_body(
            clone_url={"type": "string"},
            committish={"type": "string"},
            subdirectory={"type": "string"},
            spec={"type": "string"},
            scm_type={"type": "string"},
            source_build_method={"type": "string"},
        ),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation(
        "/build/create/distgit",
        "post",
        "Build from dist-git",
        body=_build_body(
            package_name={"type": "string"},
            distgit={"type": "string"},
            namespace={"type": "string"},
            committish={"type": "string"},
        ),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation(
        "/build/create/pypi",
        "post",
        "Build from PyPI",
        body=_build_body(
            pypi_package_name={"type": "string"}, pypi_package_version={"type": "string"}
        ),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation(
        "/build/create/rubygems",
        "post",
        "Build from RubyGems",
        body=_build_body(gem_name={"type": "string"}),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation(
        "/build/create/custom",
        "post",
        "Build from a custom script",
        body=_build_body(script={"type": "string"}, chroot={"type": "string"}),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation("/build-chroot", "get", "A build chroot", ("build_id", "chrootname")),
    Operation(
        "/build-chroot/list", "get", "Chroots of a build", ("build_id", *PAGE), response=LIST
    ),
    Operation(
        "/build-chroot/build-config",
        "get",
        "Build config of a build chroot",
        ("build_id", "chrootname"),
    ),
    Operation(
        "/build-chroot/built-packages",
        "get",
        "Packages built in a chroot",
        ("build_id", "chrootname"),
    ),
    Operation(
        "/package",
        "get",
        "A package",
        (
            "ownername",
            "projectname",
            "packagename",
            "with_latest_build",
            "with_latest_succeeded_build",
        ),
    ),
    Operation(
        "/package/list",
        "get",
        "Packages of a project",
        ("ownername", "projectname", "with_latest_build", "with_latest_succeeded_build", *PAGE),
        response=LIST,
    ),
    Operation(
        "/package/add/{ownername}/{projectname}/{package_name}/{source_type_text}",
        "post",
        "Add a package",
        body=PACKAGE_SOURCE,
        auth=True,
        errors=(*WRITE, 409),
    ),
    Operation(
        "/package/edit/{ownername}/{projectname}/{package_name}/{source_type_text}",
        "put",
        "Edit a package",
        body=PACKAGE_SOURCE,
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/package/reset",
        "put",
        "Reset a package's source",
        body=_props("ownername", "projectname", "package_name"),
        auth=True,
        errors=WRITE,
    ),
    Operation(
        "/package/build",
        "post",
        "Build a package",
        body=_build_body(package_name={"type": "string"}),
        auth=True,
        response=BUILD,
        errors=WRITE,
    ),
    Operation(
        "/package/delete",
        "delete",
        "Delete a package",
        body=_props("ownername", "projectname", "package_name"),
        auth=True,
        errors=(*WRITE, 409),
    ),
    Operation("/mock-chroots/list", "get", "Active chroots: {name: comment}", errors=()),
    Operation(
        "/monitor",
        "get",
        "Latest builds per package and chroot",
        ("ownername", "projectname", "project_dirname"),
    ),
    Operation(
        "/webhook/generate/{ownername}/{projectname}",
        "post",
        "New webhook secret",
        auth=True,
        errors=WRITE,
    ),
    Operation("/openapi.json", "get", "This description", errors=()),
]


def _operation(op: Operation) -> dict[str, Any]:
    params = [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
        }
        for n in _path_params(op.path)
    ]
    params += [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
        for n in op.query
    ]
    responses: dict[str, Any] = {
        "200": {"description": "Success", "content": {"application/json": {"schema": op.response}}}
    }
    codes = set(op.errors) | {405, 500}
    if op.method != "get" or op.body is not None or op.multipart:
        codes.add(413)
    if op.auth:
        codes.add(401)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": ERROR}},
        }
    result: dict[str, Any] = {
        "summary": op.summary,
        "operationId": (op.method + op.path).replace("/", "_").replace("{", "").replace("}", ""),
        "parameters": params,
        "responses": responses,
    }
    if op.auth:
        result["security"] = [{"basicAuth": []}]
    if op.multipart:
        result["requestBody"] = {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "json": {"type": "string"},
                            "pkgs": {"type": "string", "format": "binary"},
                            "upload_comps": {"type": "string", "format": "binary"},
                        },
                    }
                }
            }
        }
    elif op.body is not None:
        result["requestBody"] = {"content": {"application/json": {"schema": op.body}}}
    return result


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Copr API v3",
            "version": "3",
            "description": "The API copr-cli and python-copr speak.  Routes declared PUT or "
            "DELETE also accept POST; a trailing slash is optional; path values may also "
            "come as query parameters.",
        },
        "servers": [{"url": API_PREFIX}],
        "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        "paths": paths,
    }


@route("/openapi.json")
def openapi_json() -> flask.Response:
    return flask.jsonify(openapi_document())
