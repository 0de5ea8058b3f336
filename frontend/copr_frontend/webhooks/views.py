r"""``/webhooks/...``: the receivers forges and scripts call, at Copr's URLs.

``POST /webhooks/<github|gitlab|bitbucket>/<copr_id>/<secret>/[<package>/]`` answers JSON:
``{"build_ids": [...], "message": "..."}`` with 200 — also when nothing matched, the
message says why — or ``{"error": "..."}`` with 404 (no such project or named package),
403 (wrong secret in the URL, or a signature that does not match the forge secret), 400
(a malformed payload) or 413 (a payload over ``webhook_max_payload``).

``POST /webhooks/custom/<copr_id>/<secret>/<package>/`` and
``/webhooks/custom-dir/<owner>/<dirname>/<secret>/<package>/`` build the package from its
own source (into the dir ``dirname``, e.g. ``project:custom:<suffix>``, for the second)
and answer as Copr does, in text: ``<build_id>\n``, or ``PROJECT_NOT_FOUND``,
``BAD_UUID``, ``PACKAGE_NOT_FOUND``, ``PACKAGE_NAME_REQUIRED``,
``CANT_CREATE_DIRECTORY``, ``NO_ACTIVE_CHROOTS_IN_PROJECT``.

Every refusal is decided before anything is written: a refused request stores nothing.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import flask
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from copr_common.enums import BuildSourceEnum
from copr_common.names import InvalidNameError, ProjectDirName
from copr_frontend import db
from copr_frontend.api.errors import ApiError
from copr_frontend.context import settings
from copr_frontend.packages.logic import get_package
from copr_frontend.projects.logic import get_or_create_dir, get_project
from copr_frontend.projects.models import Project
from copr_frontend.validation import MAX_INT
from copr_frontend.webhooks import logic
from copr_frontend.webhooks.forges import HookRequest, PayloadError, SignatureError, forges

log = logging.getLogger(__name__)

MAX_DIRNAME = 200
"""The longest project dir name a ``ProjectDir`` holds."""

webhooks = flask.Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _route(*rules: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """POST on each rule, with and without its trailing slash (a forge posts to exactly
    the URL it was given; a redirect would not do).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        for rule in rules:
            bare = rule.rstrip("/")
            for spelling in (bare, bare + "/"):
                webhooks.add_url_rule(
                    spelling, endpoint=f"{view.__name__}{rule}", view_func=view, methods=["POST"]
                )
        return view

    return decorator


def _json(code: int, **body: Any) -> flask.Response:
    response = flask.jsonify(body)
    response.status_code = code
    return response


def _text(code: int, text: str) -> flask.Response:
    return flask.Response(text + "\n", status=code, mimetype="text/plain")


def _project_by_id(copr_id: str) -> Project | None:
    if not copr_id.isdigit() or not 0 < int(copr_id) <= MAX_INT:
        return None
    return db.session().get(Project, int(copr_id))


def _secret_matches(project: Project, secret: str) -> bool:
    return bool(project.webhook_secret) and hmac.compare_digest(
        project.webhook_secret.encode(), secret.encode()
    )


def _hook_request() -> HookRequest:
    """The request's headers and body; the body at most ``webhook_max_payload`` bytes."""
    request = flask.request
    request.max_content_length = settings().webhook_max_payload
    body = request.get_data(cache=True)
    headers = {name.lower(): value for name, value in request.headers.items()}
    return HookRequest(headers, body, request.mimetype or "application/json")


def _with_retry(work: Callable[[], logic.Outcome]) -> logic.Outcome:
    """Run ``work`` once more when a concurrent hook made the same dir first."""
    try:
        return work()
    except IntegrityError:
        db.session().rollback()
        return work()


# --- forge receivers ------------------------------------------------------------------------


def _forge_hook(forge: ModuleType, copr_id: str, secret: str, package_name: str | None) -> Any:
    session = db.session()
    project = _project_by_id(copr_id)
    if project is None:
        return _json(404, error=f"Project {copr_id} does not exist")
    if not _secret_matches(project, secret):
        return _json(403, error=f"Wrong webhook secret for project {project.full_name}")
    try:
        hook = _hook_request()
    except RequestEntityTooLarge:
        return _json(413, error="The payload is larger than this Copr accepts")
    forge_secret = logic.forge_secret(session, project)
    if forge_secret:
        try:
            forge.verify(hook, forge_secret)
        except SignatureError as error:
            return _json(403, error=str(error))
    try:
        event = forge.parse(hook)
    except PayloadError as error:
        return _json(400, error=f"Bad {forge.LABEL} payload: {error}")
    if package_name is not None and get_package(session, project, package_name) is None:
        return _json(404, error=f"No package {package_name} in {project.full_name}")

    def work() -> logic.Outcome:
        return logic.handle_event(session, settings(), project, forge.NAME, event, package_name)

    outcome = _with_retry(work)
    session.commit()
    log.info("%s webhook for %s: %s", forge.LABEL, project.full_name, outcome.message)
    return _json(200, build_ids=[b.id for b in outcome.builds], message=outcome.message)


def _register_forges() -> None:
    for name, forge in forges().items():

        def view(
            copr_id: str, secret: str, package_name: str | None = None, _forge: ModuleType = forge
        ) -> Any:
            return _forge_hook(_forge, copr_id, secret, package_name)

        view.__name__ = f"{name}_hook"
        _route(f"/{name}/<copr_id>/<secret>/", f"/{name}/<copr_id>/<secret>/<package_name>/")(view)


_register_forges()


# --- custom receivers -----------------------------------------------------------------------


def _custom_build(project: Project, package_name: str, dirname: str | None) -> flask.Response:
    session = db.session()
    package = get_package(session, project, package_name)
    if package is None:
        return _text(404, "PACKAGE_NOT_FOUND")
    if package.source_type == BuildSourceEnum.unset:
        return _text(400, "PACKAGE_HAS_NO_SOURCE")
    if not project.active_chroots:
        return _text(400, "NO_ACTIVE_CHROOTS_IN_PROJECT")
    if flask.request.headers.get("X-GitHub-Event") == "ping":
        return _text(200, "SKIPPED")
    try:
        payload = _hook_request().body
    except RequestEntityTooLarge:
        return _text(413, "PAYLOAD_TOO_LARGE")
    try:
        project_dir = get_or_create_dir(session, project, dirname) if dirname else None
        build = logic.queue_custom_build(session, settings(), package, payload, project_dir)
    except ApiError as error:
        session.rollback()
        log.warning("custom webhook of %s: %s", project.full_name, error.message)
        return _text(400, f"BUILD_REQUEST_ERROR: {error.message}")
    session.commit()
    # The build id, so that a CI job knows which build to wait for.
    return _text(200, str(build.id))


@_route("/custom/<copr_id>/<secret>/", "/custom/<copr_id>/<secret>/<package_name>/")
def custom_hook(copr_id: str, secret: str, package_name: str | None = None) -> flask.Response:
    project = _project_by_id(copr_id)
    if project is None:
        return _text(404, "PROJECT_NOT_FOUND")
    if not _secret_matches(project, secret):
        return _text(403, "BAD_UUID")
    if not package_name:
        return _text(400, "PACKAGE_NAME_REQUIRED")
    return _custom_build(project, package_name, None)


@_route("/custom-dir/<ownername>/<dirname>/<secret>/<package_name>/")
def custom_dir_hook(ownername: str, dirname: str, secret: str, package_name: str) -> flask.Response:
    project = get_project(db.session(), ownername, dirname.partition(":")[0])
    if project is None:
        return _text(404, "PROJECT_NOT_FOUND")
    if not _secret_matches(project, secret):
        return _text(403, "BAD_UUID")
    try:
        ProjectDirName.parse(dirname)
    except InvalidNameError:
        return _text(400, "CANT_CREATE_DIRECTORY")
    if len(dirname) > MAX_DIRNAME:
        return _text(400, "CANT_CREATE_DIRECTORY")
    return _custom_build(project, package_name, dirname)


def register(app: flask.Flask) -> None:
    from copr_frontend.api.errors import register_error_handlers

    app.register_blueprint(webhooks)
    register_error_handlers(app, webhooks.url_prefix or "/webhooks")
