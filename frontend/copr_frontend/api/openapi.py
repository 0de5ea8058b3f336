"""The OpenAPI 3.0 description of API v3, served at ``/api_3/openapi.json``.

It is built from the table below, one entry per operation; the ``build/create/*``
operations come from the registry of source types (:mod:`copr_frontend.builds.source_types`).
Tests check that every API v3 route of the app is described here and that each
description names a real route, and a seeded fuzzer sends generated input to every
operation and checks that each answer is a documented status whose body matches its
schema.  Parameters carry the types and name patterns the routes accept; routes declared
PUT or DELETE are described with their POST alias too, as they answer it.  Keep the table
next to the routes' behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flask

from copr_common.enums import StatusEnum
from copr_frontend.api import API_PREFIX, route
from copr_frontend.api import openapi_schemas as out
from copr_frontend.builds.source_types import PACKAGE_SOURCE_TYPES, SOURCE_TYPES, SourceType

MAX_INT = 2**31 - 1

# --- response schemas: see openapi_schemas ---------------------------------------------

# --- parameters ---------------------------------------------------------------------------

OWNER = {"type": "string", "pattern": r"^@?[A-Za-z0-9][A-Za-z0-9_.-]*$", "maxLength": 101}
USER = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "maxLength": 100}
PROJECT_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9_.+-]+$", "maxLength": 100}
PACKAGE_NAME = out.PACKAGE_NAME
CHROOT = out.CHROOT_NAME
BOOLEAN = {"type": "boolean"}

PARAMETERS: dict[str, dict[str, Any]] = {
    "ownername": OWNER,
    "projectname": PROJECT_NAME,
    "chrootname": CHROOT,
    "packagename": PACKAGE_NAME,
    "package_name": PACKAGE_NAME,
    "who": USER,
    "build_id": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "wave_id": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "source_type_text": {"type": "string", "enum": list(PACKAGE_SOURCE_TYPES)},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    "offset": {"type": "integer", "minimum": 0, "maximum": 2**62},
    "order_type": {"type": "string", "enum": ["ASC", "DESC"]},
    # Ours: the keyset of the next page (order=id), the last id of the page before.
    "after_id": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "status": {"type": "string", "enum": StatusEnum.labels()},
    "with_latest_build": BOOLEAN,
    "with_latest_succeeded_build": BOOLEAN,
    "exist_ok": BOOLEAN,
    "query": {"type": "string", "pattern": r"\S", "maxLength": 200},
    "project_dirname": {"type": "string", "maxLength": 200},
    "days": {"type": "integer", "minimum": 1, "maximum": 366},
    "endpoint_id": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "state": {"type": "string", "enum": ["pending", "delivered", "failed"]},
}

# --- request bodies -----------------------------------------------------------------------

TEXT = {"type": "string", "nullable": True, "maxLength": 1000}
NAMES = {"type": "array", "items": {"type": "string", "maxLength": 200}, "nullable": True}
REPO_URL = {"type": "string", "pattern": r"^(https?|copr)://[A-Za-z0-9@]\S*$"}
REPOS = {"type": "array", "items": REPO_URL, "nullable": True}
DIRNAME = {"type": "string", "pattern": r"^[A-Za-z0-9_.+-]+(:custom:[A-Za-z0-9_.-]+|:pr:[0-9]+)?$",
           "maxLength": 200, "nullable": True}  # fmt: skip


def _object(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


PROJECT_FIELDS: dict[str, Any] = {
    "description": TEXT,
    "instructions": TEXT,
    "homepage": {"type": "string", "pattern": r"^https?://\S+$", "nullable": True},
    "contact": TEXT,
    "chroots": NAMES,
    "additional_repos": REPOS,
    "runtime_dependencies": REPOS,
    "enable_net": {"type": "boolean", "nullable": True},
    "unlisted_on_hp": {"type": "boolean", "nullable": True},
    "devel_mode": {"type": "boolean", "nullable": True},
    "module_hotfixes": {"type": "boolean", "nullable": True},
    "bootstrap": {"type": "string", "enum": ["default", "on", "off", "image"], "nullable": True},
    "isolation": {"type": "string", "enum": ["default", "simple", "nspawn"], "nullable": True},
    "delete_after_days": {"type": "integer", "minimum": -1, "maximum": 60, "nullable": True},
    "keep_builds": {"type": "integer", "minimum": 0, "maximum": 1000, "nullable": True},
    "repo_priority": {"type": "integer", "minimum": 1, "maximum": 99, "nullable": True},
    "require_real_buildroot": {"type": "boolean", "nullable": True},
    "rpmlint_fail_on_errors": {"type": "boolean", "nullable": True},
    "rebuild_dependents": {
        "type": "string",
        "enum": ["off", "direct", "transitive"],
        "nullable": True,
    },
    "email_notifications": {"type": "boolean", "nullable": True},
}
BUILD_OPTIONS: dict[str, Any] = {
    "ownername": OWNER,
    "projectname": PROJECT_NAME,
    "project_dirname": DIRNAME,
    "chroots": NAMES,
    "exclude_chroots": NAMES,
    "timeout": {"type": "integer", "minimum": 0, "maximum": 108000, "nullable": True},
    "background": {"type": "boolean", "nullable": True},
    "enable_net": {"type": "boolean", "nullable": True},
    "bootstrap": {"type": "string", "enum": ["unchanged", "default", "on", "off", "image"],
                  "nullable": True},
    "isolation": {"type": "string", "enum": ["unchanged", "default", "simple", "nspawn"],
                  "nullable": True},
    "after_build_id": {"type": "integer", "minimum": 1, "maximum": MAX_INT, "nullable": True},
    "with_build_id": {"type": "integer", "minimum": 1, "maximum": MAX_INT, "nullable": True},
}  # fmt: skip
BUILD_IDS = _object(("builds",), builds={"type": "array", "minItems": 1, "items":
                   {"type": "integer", "minimum": 1, "maximum": MAX_INT}})  # fmt: skip
# A package's body: every package source type's fields, and the package options.
SOURCE_FIELDS: dict[str, Any] = {
    **{
        name: schema
        for source in SOURCE_TYPES
        for name, schema in (source.package_fields or {}).items()
    },
    "webhook_rebuild": {"type": "boolean", "nullable": True},
    "max_builds": {"type": "integer", "minimum": 0, "maximum": 1000, "nullable": True},
}
NOTIFICATION_EVENTS = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": ["build.started", "chroot.ended", "build.ended"]},
}
ENDPOINT_URL = {"type": "string", "pattern": r"^https://[A-Za-z][A-Za-z0-9.-]*(/\S*)?$",
                "maxLength": 2000}  # fmt: skip
SECRET_TEXT = {"type": "string", "pattern": r"^[!-~]{16,200}$"}
PACKAGE_REF = _object(("ownername", "projectname", "package_name"), ownername=OWNER,
                      projectname=PROJECT_NAME, package_name=PACKAGE_NAME)  # fmt: skip
PERMISSIONS = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": _object(
        admin={"type": "string", "enum": ["nothing", "request", "approved"]},
        builder={"type": "string", "enum": ["nothing", "request", "approved"]},
    ),
}
MULTIPART = {
    "type": "object",
    "properties": {
        "json": {"type": "string"},
        "pkgs": {"type": "string", "format": "binary"},
        "upload_comps": {"type": "string", "format": "binary"},
    },
}

MULTIPART_UPLOAD = {**MULTIPART, "required": ["json", "pkgs"]}


def _build_body(required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return _object(("ownername", "projectname", *required), **BUILD_OPTIONS, **extra)


# --- operations ---------------------------------------------------------------------------


@dataclass
class Operation:
    """One API v3 operation's entry in the table the OpenAPI document is built from."""

    path: str
    method: str
    summary: str
    query: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    multipart: bool = False
    auth: bool = False
    response: dict[str, Any] = field(default_factory=dict)
    """The schema of the 200 body (every operation names one)."""
    errors: tuple[int, ...] = (400, 404)
    orders: tuple[str, ...] = ("id",)


PAGE = ("limit", "offset", "order", "order_type", "after_id")
WRITE = (400, 401, 403, 404)
PROJECT_QUERY = ("ownername", "projectname")
CHROOT_QUERY = ("ownername", "projectname", "chrootname")
BUILD_CHROOT_QUERY = ("build_id", "chrootname")


def _create_operation(source: SourceType) -> Operation:
    """The ``build/create/<route>`` operation of a source type."""
    path = f"/build/create/{source.route}"
    if source.multipart:
        return Operation(path, "post", source.summary, multipart=True, auth=True,
                         response=out.BUILD, errors=(*WRITE, 413))  # fmt: skip
    body = _build_body(source.build_required, **source.build_fields)
    response = out.BUILDS_CREATED if source.batch_field else out.BUILD
    return Operation(path, "post", source.summary, body=body, auth=True, response=response,
                     errors=WRITE)  # fmt: skip


OPERATIONS = [
    Operation("/", "get", "The API's home: its version", response=out.HOME, errors=()),
    Operation("/auth-check", "get", "Who am I", auth=True, response=out.USER, errors=(401,)),
    Operation("/api-token", "post", "Renew my API token", auth=True, response=out.API_TOKEN,
              errors=(401,)),
    Operation("/user/settings", "get", "My e-mail settings", auth=True,
              response=out.USER_SETTINGS, errors=(401,)),
    Operation("/user/settings/edit", "put", "Change my e-mail settings",
              body=_object(mail={"type": "string", "maxLength": 200, "nullable": True},
                           email_notifications={"type": "boolean", "nullable": True}),
              auth=True, response=out.USER_SETTINGS, errors=(400, 401)),
    Operation("/quota/{ownername}", "get", "An owner's storage usage and limit",
              response=out.QUOTA, errors=(404,)),
    Operation("/project", "get", "A project", PROJECT_QUERY, PROJECT_QUERY,
              response=out.PROJECT),
    Operation("/project/list", "get", "Projects (of an owner)", ("ownername", *PAGE),
              response=out.page(out.PROJECT), errors=(400,), orders=("id", "name", "ownername")),
    Operation("/project/search", "get", "Search projects", ("query", *PAGE), ("query",),
              response=out.page(out.PROJECT), errors=(400,), orders=("id", "name", "ownername")),
    Operation("/project/add/{ownername}", "post", "Create a project", ("exist_ok",),
              body=_object(("name",), name=PROJECT_NAME, **PROJECT_FIELDS), auth=True,
              response=out.PROJECT, errors=(*WRITE, 409)),
    Operation("/project/edit/{ownername}/{projectname}", "put", "Edit a project",
              body=_object(**PROJECT_FIELDS), auth=True, response=out.PROJECT, errors=WRITE),
    Operation("/project/fork/{ownername}/{projectname}", "put", "Fork a project",
              body=_object(name=PROJECT_NAME, ownername=OWNER, confirm=BOOLEAN), auth=True,
              response=out.PROJECT, errors=WRITE),
    Operation("/project/delete/{ownername}/{projectname}", "delete", "Delete a project",
              body=_object(verify=BOOLEAN), auth=True, response=out.PROJECT, errors=WRITE),
    Operation("/project/regenerate-repos/{ownername}/{projectname}", "put",
              "Regenerate the repositories", auth=True, response=out.PROJECT, errors=WRITE),
    Operation("/project/cancel-pending/{ownername}/{projectname}", "put",
              "Cancel the builds no builder has taken yet; their ids", auth=True,
              response=out.BUILD_IDS, errors=WRITE),
    Operation("/project/permissions/get/{ownername}/{projectname}", "get", "Permissions",
              auth=True, response=out.PERMISSIONS, errors=WRITE),
    Operation("/project/permissions/set/{ownername}/{projectname}", "put",
              "Set permissions", body=PERMISSIONS, auth=True, response=out.PERMISSIONS_SET,
              errors=WRITE),
    Operation("/project/permissions/request/{ownername}/{projectname}", "put",
              "Request permissions",
              body={"type": "object", "minProperties": 1, "properties": {"admin": BOOLEAN,
                    "builder": BOOLEAN}, "additionalProperties": False},
              auth=True, response=out.PERMISSIONS_REQUESTED, errors=WRITE),
    Operation("/project/permissions/can_build_in/{who}/{ownername}/{projectname}", "get",
              "May a user build here", response=out.CAN_BUILD_IN),
    Operation("/project-chroot", "get", "A chroot of a project", CHROOT_QUERY, CHROOT_QUERY,
              response=out.PROJECT_CHROOT),
    Operation("/project-chroot/build-config", "get", "Build config of a project chroot",
              CHROOT_QUERY, CHROOT_QUERY, response=out.PROJECT_CHROOT_BUILD_CONFIG),
    Operation("/project-chroot/edit/{ownername}/{projectname}/{chrootname}", "put",
              "Edit a project chroot", multipart=True, auth=True, response=out.PROJECT_CHROOT,
              errors=WRITE),
    Operation("/build/{build_id}", "get", "A build", response=out.BUILD),
    Operation("/build/list", "get", "Builds of a project",
              (*PROJECT_QUERY, "packagename", "status", *PAGE), PROJECT_QUERY,
              response=out.page(out.BUILD), orders=("id", "submitted_on", "state", "ended_on")),
    Operation("/build/source-chroot/{build_id}", "get", "The source build of a build",
              response=out.SOURCE_CHROOT),
    Operation("/build/source-build-config/{build_id}", "get", "Source build config",
              response=out.SOURCE_BUILD_CONFIG),
    Operation("/build/built-packages/{build_id}", "get", "Packages a build made",
              response=out.mapping(out.BUILT_PACKAGES)),
    Operation("/build/cancel/{build_id}", "put", "Cancel a build", auth=True,
              response=out.BUILD, errors=(*WRITE, 409)),
    Operation("/build/cancel/list", "put",
              "Cancel builds (all or none: 409 if one has ended)", body=BUILD_IDS, auth=True,
              response=out.BUILD_IDS, errors=(*WRITE, 409)),
    Operation("/build/wave/{wave_id}", "get",
              "A rebuild of dependents (a wave): its trigger, builds and the cycles it broke",
              response=out.WAVE),
    Operation("/build/cancel-wave/{wave_id}", "put",
              "Cancel the unfinished builds of a rebuild of dependents (a wave)", auth=True,
              response=out.WAVE_CANCELED, errors=(401, 403, 404)),
    Operation("/build/delete/{build_id}", "delete", "Delete a build", auth=True,
              response=out.BUILD, errors=(*WRITE, 409)),
    Operation("/build/delete/list", "delete", "Delete builds", body=BUILD_IDS,
              auth=True, response=out.BUILD_IDS, errors=(*WRITE, 409)),
    Operation("/build/check-before-build", "post", "Check build options",
              body=_build_body(), auth=True, response=out.MESSAGE, errors=WRITE),
    *(_create_operation(source) for source in SOURCE_TYPES),
    Operation("/build/create/rpm-upload", "post",
              "Publish an uploaded, already-built RPM into one chroot (when the instance "
              "allows it: 404 otherwise)",
              multipart=True, auth=True, response=out.BUILD, errors=(*WRITE, 409, 413)),
    Operation("/build-chroot", "get", "A build chroot", BUILD_CHROOT_QUERY, BUILD_CHROOT_QUERY,
              response=out.BUILD_CHROOT),
    Operation("/build-chroot/list", "get", "Chroots of a build", ("build_id", *PAGE),
              ("build_id",), response=out.page(out.BUILD_CHROOT), orders=("id", "name")),
    Operation("/build-chroot/build-config", "get", "Build config of a build chroot",
              BUILD_CHROOT_QUERY, BUILD_CHROOT_QUERY, response=out.BUILD_CHROOT_CONFIG),
    Operation("/build-chroot/built-packages", "get", "Packages built in a chroot",
              BUILD_CHROOT_QUERY, BUILD_CHROOT_QUERY, response=out.BUILT_PACKAGES),
    Operation("/package", "get", "A package",
              (*PROJECT_QUERY, "packagename", "with_latest_build",
               "with_latest_succeeded_build"), (*PROJECT_QUERY, "packagename"),
              response=out.PACKAGE),
    Operation("/package/list", "get", "Packages of a project",
              (*PROJECT_QUERY, "with_latest_build", "with_latest_succeeded_build", *PAGE),
              PROJECT_QUERY, response=out.page(out.PACKAGE), orders=("id", "name")),
    Operation("/package/add/{ownername}/{projectname}/{package_name}/{source_type_text}",
              "post", "Add a package", body=_object(**SOURCE_FIELDS), auth=True,
              response=out.PACKAGE, errors=(*WRITE, 409)),
    Operation("/package/edit/{ownername}/{projectname}/{package_name}/{source_type_text}",
              "put", "Edit a package", body=_object(**SOURCE_FIELDS), auth=True,
              response=out.PACKAGE, errors=WRITE),
    Operation("/package/reset", "put", "Reset a package's source", body=PACKAGE_REF,
              auth=True, response=out.PACKAGE, errors=WRITE),
    Operation("/package/build", "post", "Build a package",
              body=_build_body(("package_name",), package_name=PACKAGE_NAME), auth=True,
              response=out.BUILD, errors=WRITE),
    Operation("/package/delete", "delete", "Delete a package", body=PACKAGE_REF, auth=True,
              response=out.PACKAGE, errors=(*WRITE, 409)),
    Operation("/mock-chroots/list", "get", "Active chroots: {name: comment}",
              response=out.MOCK_CHROOTS, errors=()),
    Operation("/project/downloads", "get", "Download counts per day (RPMs, repodata)",
              (*PROJECT_QUERY, "chrootname", "packagename", "days"), PROJECT_QUERY,
              response=out.DOWNLOADS),
    Operation("/monitor", "get", "Latest builds per package and chroot",
              (*PROJECT_QUERY, "project_dirname"), PROJECT_QUERY, response=out.MONITOR),
    Operation("/webhook/generate/{ownername}/{projectname}", "post",
              "New webhook secret", auth=True, response=out.PROJECT_WITH_SECRET, errors=WRITE),
    Operation("/webhook/info/{ownername}/{projectname}", "get",
              "Webhook URLs and secrets (admins)", auth=True, response=out.WEBHOOK_INFO,
              errors=WRITE),
    Operation("/webhook/forge-secret/{ownername}/{projectname}", "put",
              "Set, generate or remove the forge secret",
              body=_object(forge_secret={**SECRET_TEXT, "nullable": True}, generate=BOOLEAN),
              auth=True, response=out.WEBHOOK_INFO, errors=WRITE),
    Operation("/notification-endpoint/list/{ownername}/{projectname}", "get",
              "Notification endpoints (admins)", auth=True, response=out.NOTIFICATION_ENDPOINTS,
              errors=WRITE),
    Operation("/notification-endpoint/add/{ownername}/{projectname}", "post",
              "Add a notification endpoint",
              body=_object(("url",), url=ENDPOINT_URL, events=NOTIFICATION_EVENTS,
                           secret=SECRET_TEXT),
              auth=True, response=out.NOTIFICATION_ENDPOINT_WITH_SECRET, errors=WRITE),
    Operation("/notification-endpoint/edit/{ownername}/{projectname}/{endpoint_id}", "put",
              "Edit a notification endpoint",
              body=_object(url=ENDPOINT_URL, events=NOTIFICATION_EVENTS, enabled=BOOLEAN),
              auth=True, response=out.NOTIFICATION_ENDPOINT, errors=WRITE),
    Operation("/notification-endpoint/delete/{ownername}/{projectname}/{endpoint_id}",
              "delete", "Delete a notification endpoint", auth=True,
              response=out.NOTIFICATION_ENDPOINT, errors=WRITE),
    Operation("/notification-delivery/list/{ownername}/{projectname}", "get",
              "Deliveries to the notification endpoints (admins)",
              ("endpoint_id", "state", *PAGE), auth=True,
              response=out.page(out.NOTIFICATION_DELIVERY), errors=WRITE,
              orders=("id", "build_id")),
    Operation("/openapi.json", "get", "This description", response=out.OPENAPI_DOCUMENT,
              errors=()),
]  # fmt: skip


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _parameter(op: Operation, name: str, where: str) -> dict[str, Any]:
    schema = dict(PARAMETERS.get(name, {"type": "string", "maxLength": 200}))
    if name == "order":
        schema = {"type": "string", "enum": list(op.orders)}
    return {
        "name": name,
        "in": where,
        "required": where == "path" or name in op.required,
        "schema": schema,
    }


def _operation(op: Operation, method: str) -> dict[str, Any]:
    params = [_parameter(op, n, "path") for n in _path_params(op.path)]
    params += [_parameter(op, n, "query") for n in op.query]
    responses: dict[str, Any] = {
        "200": {
            "description": "Success",
            "content": {"application/json": {"schema": op.response}},
        }
    }
    if not op.response:
        raise ValueError(f"{op.method.upper()} {op.path} has no response schema")
    codes = set(op.errors) | {405, 500, 503}
    if method != "get":
        codes.add(413)
    if op.auth:
        codes.add(401)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": out.ERROR}},
        }
    result: dict[str, Any] = {
        "summary": op.summary if method == op.method else f"{op.summary} (POST alias)",
        "operationId": (method + op.path).replace("/", "_").replace("{", "").replace("}", ""),
        "parameters": params,
        "responses": responses,
    }
    if op.auth:
        result["security"] = [{"basicAuth": []}]
    if op.multipart:
        uploads = ("/build/create/upload", "/build/create/rpm-upload")
        schema = MULTIPART_UPLOAD if op.path in uploads else MULTIPART
        result["requestBody"] = {
            "required": "required" in schema,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    elif op.body is not None:
        result["requestBody"] = {
            "required": bool(op.body.get("required") or op.body.get("minProperties")),
            "content": {"application/json": {"schema": op.body}},
        }
    return result


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        methods = [op.method, "post"] if op.method in ("put", "delete") else [op.method]
        for method in methods:
            paths.setdefault(op.path, {})[method] = _operation(op, method)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Copr API v3",
            "version": "3",
            "description": "The API copr-cli and python-copr speak.  Routes declared PUT or "
            "DELETE also accept POST; a trailing slash is optional; path values may also "
            "come as query parameters.  Authenticate with HTTP Basic <login>:<token>.  No "
            "text may hold a NUL character (400).  A JSON body (or multipart json part) "
            "nested deeper than 64 levels or larger than the max_json_size setting (16 MiB "
            "by default) is a 400.  Names must also exist: a chroot must be "
            "enabled in the project, a project dir must belong to it (400 otherwise).",
        },
        "servers": [{"url": API_PREFIX}],
        "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        "paths": paths,
    }


@route("/")
def home() -> flask.Response:
    """What ``BaseProxy.home()`` of python-copr reads: which API this is."""
    return flask.jsonify({"version": 3})


@route("/openapi.json")
def openapi_json() -> flask.Response:
    return flask.jsonify(openapi_document())
