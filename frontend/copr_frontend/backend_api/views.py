"""Routes of the backend API (``/backend/``).

Reads are open (builders fetch their task without credentials); writes need HTTP Basic
with the backend password.  Every response carries ``Copr-FE-BE-API-Version``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Generator, Iterator
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import flask
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.orm import Session

from copr_common.enums import BackendResultEnum
from copr_frontend import db
from copr_frontend.actions.logic import (
    action_to_json,
    finish_action,
    waiting_action_count,
    waiting_actions,
)
from copr_frontend.actions.models import Action
from copr_frontend.api.errors import AuthError, BadRequest, Conflict, ObjectNotFound
from copr_frontend.backend_api import queue, tasks
from copr_frontend.builds import timings
from copr_frontend.builds.logic import lock_build, lock_builds
from copr_frontend.builds.models import Build, CancelRequest
from copr_frontend.builds.transitions import (
    UpdateError,
    apply_update,
    find_task,
    import_completed,
    parse_status,
    reschedule,
    starting,
    task_canceled,
)
from copr_frontend.builds.uploads import forget_upload
from copr_frontend.context import settings
from copr_frontend.downloads import logic as downloads
from copr_frontend.validation import to_int, to_timestamp

FE_BE_API_VERSION = "6"

backend_api = flask.Blueprint("backend_api", __name__, url_prefix="/backend")

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


@backend_api.after_request
def _version_header(response: flask.Response) -> flask.Response:
    response.headers["Copr-FE-BE-API-Version"] = FE_BE_API_VERSION
    return response


def backend_authenticated(view: Callable[P, R]) -> Callable[P, R]:
    """Only the backend (and dist-git) may write: HTTP Basic with the backend password."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        auth = flask.request.authorization
        given = (auth.password or "") if auth is not None and auth.type == "basic" else ""
        if not given or not hmac.compare_digest(
            given.encode(), settings().backend_password.encode()
        ):
            raise AuthError("Backend password required (HTTP Basic)")
        return view(*args, **kwargs)

    return wrapper


def _route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[F], F]:
    bare = rule.rstrip("/")

    def decorator(view: F) -> F:
        for spelling in (bare, bare + "/"):
            backend_api.add_url_rule(spelling, view_func=view, methods=list(methods))
        return view

    return decorator


_WRITE = ("POST", "PUT")


def _json_object() -> dict[str, Any]:
    data = flask.request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    return data


# --- build queue ----------------------------------------------------------------------------


@_route("/pending-jobs/")
def pending_jobs() -> flask.Response:
    """Runnable tasks: source builds first, then RPM tasks; background ones last in each.

    Streamed: the queue of the whole site may hold 100,000 tasks.

    With ``?limit=N``: every starting and running task and the N pending tasks the
    backend would start first, each with its ``priority`` (:func:`queue.fair_page`).
    """
    limit = _page_limit(flask.request.args.get("limit"))
    rules = settings().builder_resource_tags  # read here: the body outlives the request
    return _json_array(_on_own_session(lambda session: tasks.pending_jobs(session, rules, limit)))


def _page_limit(given: str | None) -> int | None:
    if given is None:
        return None
    if not given.isascii() or not given.isdigit() or int(given) < 1:
        raise BadRequest(f"limit must be a positive integer, not {given!r}")
    if int(given) > queue.MAX_PAGE:
        raise BadRequest(f"limit must be at most {queue.MAX_PAGE}, not {given}")
    return int(given)


def _on_own_session(read: Callable[[Session], Iterator[Any]]) -> Generator[Any, None, None]:
    """The items of ``read`` on a session of their own, closed when they have all come.

    A streamed body is written after the request's context has been torn down, and
    the request's session closed with it.
    """
    with db.database().sessionmaker() as session:
        yield from read(session)


STREAM_CHUNK = 64 * 1024
"""Characters of a streamed JSON array gathered before they are sent."""


def _json_array(items: Generator[Any, None, None]) -> flask.Response:
    """``flask.jsonify(list(items))``, the same text, written while ``items`` come.

    The first item is read before the response starts, so that the query behind it
    failing is still an error response; a later failure cuts the body short, which a
    client sees as malformed JSON (and the backend then asks again).  In debug mode,
    where jsonify indents, the list is gathered and jsonify'd, for the same text.
    """
    app = flask.current_app
    provider = app.json
    if (
        not isinstance(provider, DefaultJSONProvider)
        or provider.compact is False
        or (provider.compact is None and app.debug)
    ):
        return flask.jsonify(list(items))
    first = next(items, _END)

    def chunks() -> Iterator[str]:
        if first is _END:
            yield "[]\n"
            return
        try:
            buffer = ["[", provider.dumps(first, separators=(",", ":"))]
            size = len(buffer[1])
            for item in items:
                text = provider.dumps(item, separators=(",", ":"))
                buffer += (",", text)
                size += len(text) + 1
                if size >= STREAM_CHUNK:
                    yield "".join(buffer)
                    buffer, size = [], 0
            buffer.append("]\n")
            yield "".join(buffer)
        finally:
            items.close()  # a client that went away: end the query now

    # No stream_with_context: the items read on their own session and the chunks need
    # nothing of the request.
    return app.response_class(chunks(), mimetype=provider.mimetype)


_END = object()


@_route("/get-build-task/<task_id>/")
def get_build_task(task_id: str) -> flask.Response:
    try:
        found = find_task(db.session(), task_id)
    except UpdateError as error:
        raise BadRequest(str(error)) from None
    if found is None or found[1] is None:
        raise ObjectNotFound(f"Build task {task_id} does not exist")
    task = tasks.build_task(found[1], settings())
    if task is None:
        raise ObjectNotFound(f"Build task {task_id}: the chroot is no longer in the project")
    return flask.jsonify(task)


@_route("/get-srpm-build-task/<build_id>/")
def get_srpm_build_task(build_id: str) -> flask.Response:
    build = db.session().get(Build, to_int(build_id, "build_id", required=True))
    if build is None:
        raise ObjectNotFound(f"Build {build_id} does not exist")
    return flask.jsonify(tasks.srpm_task(build, settings()))


@_route("/starting_build/", _WRITE)
@backend_authenticated
def starting_build() -> flask.Response:
    data = _json_object()
    session = db.session()
    build = lock_build(session, to_int(data.get("build_id"), "build_id", required=True))
    if build is None:
        return flask.jsonify({"can_start": False})
    can_start = starting(build, data)
    session.commit()
    return flask.jsonify({"can_start": can_start})


@_route("/update/", _WRITE)
@backend_authenticated
def update() -> flask.Response:
    """Reports about builds and actions: ``{"builds": [...], "actions": [...]}``.

    The whole request is checked before anything is stored: one malformed entry is a
    400 and nothing changes.  Stale and repeated reports are accepted and ignored.
    """
    data = _json_object()
    session = db.session()
    result: dict[str, list[int]] = {}

    parsed: dict[str, dict[int, dict[str, Any]]] = {}
    for kind in ("builds", "actions"):
        if kind not in data:
            continue
        entries = data[kind]
        if not isinstance(entries, list):
            raise BadRequest(f"{kind!r} must be a list of objects")
        by_id: dict[int, dict[str, Any]] = {}
        for entry in entries:
            if not isinstance(entry, dict) or "id" not in entry:
                raise BadRequest(f"every entry of {kind!r} must be an object with an 'id'")
            by_id.setdefault(to_int(entry["id"], f"{kind} id", required=True), entry)
        parsed[kind] = by_id

    builds = parsed.get("builds", {})
    existing_builds = lock_builds(session, builds)
    try:
        for build_id, entry in builds.items():
            if entry.get("status") is not None:
                parse_status(entry["status"])
            build = existing_builds.get(build_id)
            if build is not None:
                apply_update(session, build, entry, settings())
    except UpdateError as error:
        session.rollback()
        raise BadRequest(str(error)) from None
    if "builds" in parsed:
        result["updated_builds_ids"] = sorted(existing_builds)
        result["non_existing_builds_ids"] = sorted(set(builds) - set(existing_builds))

    actions = parsed.get("actions", {})
    existing_actions = {a.id: a for a in session.query(Action).filter(Action.id.in_(actions))}
    for action_id, entry in actions.items():
        try:
            outcome = BackendResultEnum(to_int(entry.get("result"), "result", required=True))
        except ValueError:
            session.rollback()
            raise BadRequest(
                f"action {action_id}: unknown result {entry.get('result')!r}"
            ) from None
        action = existing_actions.get(action_id)
        if action is not None and outcome != BackendResultEnum.waiting:
            ended_on = entry.get("ended_on")
            finish_action(
                action,
                outcome,
                str(entry["message"]) if entry.get("message") is not None else None,
                to_timestamp(ended_on, "ended_on"),
            )
    if "actions" in parsed:
        result["updated_actions_ids"] = sorted(existing_actions)
        result["non_existing_actions_ids"] = sorted(set(actions) - set(existing_actions))
    session.commit()
    for build in existing_builds.values():
        forget_upload(build)
    return flask.jsonify(result)


@_route("/reschedule_build_chroot/", _WRITE)
@backend_authenticated
def reschedule_build_chroot() -> flask.Response:
    data = _json_object()
    session = db.session()
    build_id = to_int(data.get("build_id"), "build_id", required=True)
    build = lock_build(session, build_id)
    if build is None:
        return flask.jsonify({"result": "noop", "msg": f"Build {build_id} wasn't found"})
    chroot = data.get("chroot")
    outcome, message = reschedule(
        build, str(data.get("task_id") or ""), str(chroot) if chroot else None
    )
    session.commit()
    return flask.jsonify({"result": outcome, "msg": message})


_TASK_ID = re.compile(r"[1-9][0-9]{0,17}(-[A-Za-z0-9._+]+(-[A-Za-z0-9._+]+)*)?")


@_route("/queued-tasks/")
def queued_tasks() -> flask.Response:
    """Which of the ``task_id`` arguments the whole ``pending-jobs`` feed would list:
    what a backend keeps a builder or a record for asks here when its page is cut.
    """
    asked = flask.request.args.getlist("task_id")
    if len(asked) > queue.MAX_ASKED:
        raise BadRequest(f"at most {queue.MAX_ASKED} task_id arguments, not {len(asked)}")
    for task_id in asked:
        if not task_id.isascii() or not _TASK_ID.fullmatch(task_id):
            raise BadRequest(f"task_id must be <build_id> or <build_id>-<chroot>, not {task_id!r}")
    return flask.jsonify(queue.queued_tasks(db.session(), asked))


@_route("/build-tasks/cancel-requests/")
def cancel_requests() -> flask.Response:
    requests = db.session().query(CancelRequest).order_by(CancelRequest.id)
    return flask.jsonify([r.what for r in requests])


@_route("/build-tasks/canceled/<task_id>/", _WRITE)
@backend_authenticated
def build_task_canceled(task_id: str) -> flask.Response:
    """The body is a JSON boolean: whether the backend was running the task."""
    was_running = flask.request.get_json(silent=True)
    if not isinstance(was_running, bool):
        raise BadRequest("The request body must be JSON true or false (was the task running)")
    session = db.session()
    try:
        task_canceled(session, task_id, was_running)
    except UpdateError as error:
        raise BadRequest(str(error)) from None
    session.commit()
    return flask.jsonify("success")


# --- actions --------------------------------------------------------------------------------


@_route("/pending-actions/")
def pending_actions() -> flask.Response:
    """Waiting actions as ``[{"id", "priority"}]``, in the order to start them.

    The actions of one project (one ``owner/project`` results dir) run one at a time, in
    the order they were queued: only the oldest waiting one is listed, the next one once
    the backend has reported it.  So a delete of the project runs after everything queued
    before it and nothing those made survives it (a ``pubkey.gpg`` written by a late
    ``gen_gpg_key``, say), and whatever is queued after it (a re-created project of the
    same name) starts from the deleted tree.  Different projects' actions run side by
    side, by priority.
    """
    waiting = waiting_actions(db.session())
    first: dict[str, int] = {}
    for action in waiting:
        namespace = _namespace(action)
        if namespace is not None:
            first[namespace] = min(action.id, first.get(namespace, action.id))
    data = [
        {"id": action.id, "priority": action.priority}
        for action in waiting
        if (namespace := _namespace(action)) is None or first[namespace] == action.id
    ]
    return flask.jsonify(data)


def _namespace(action: Action) -> str | None:
    """``owner/project`` an action is about: from its data (the project row may be gone)."""
    owner, name = action.data.get("ownername"), action.data.get("projectname")
    if owner and name:
        return f"{owner}/{name}"
    return action.project.full_name if action.project is not None else None


@_route("/pending-action-count/")
def pending_action_count() -> flask.Response:
    return flask.jsonify(waiting_action_count(db.session()))


@_route("/action/<action_id>/")
def get_action(action_id: str) -> flask.Response:
    action = db.session().get(Action, to_int(action_id, "action_id", required=True))
    if action is None:
        raise ObjectNotFound(f"Action {action_id} does not exist")
    return flask.jsonify(action_to_json(action))


# --- dist-git -------------------------------------------------------------------------------


@_route("/importing/")
def importing() -> flask.Response:
    return flask.jsonify([tasks.import_task(b) for b in tasks.importing_builds(db.session())])


@_route("/get-import-task/<build_id>/")
def get_import_task(build_id: str) -> flask.Response:
    build = db.session().get(Build, to_int(build_id, "build_id", required=True))
    if build is None:
        raise ObjectNotFound(f"Build {build_id} does not exist")
    return flask.jsonify(tasks.import_task(build))


@_route("/import-completed/", _WRITE)
@backend_authenticated
def import_completed_view() -> flask.Response:
    """``{"build_id", "branch_commits": {branch: hash}, "pkg_version"?, "error"?, "timings"?}``.

    An empty ``branch_commits`` means the import failed; dist-git's ``"error"`` is kept as
    the build's ``fail_reason``.
    """
    data = _json_object()
    commits = data.get("branch_commits") or {}
    if not isinstance(commits, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in commits.items()
    ):
        raise BadRequest("'branch_commits' must map branch names to commit hashes")
    try:
        import_timings = timings.parse(data.get("timings"), timings.IMPORT_STAGES)
    except timings.TimingsError as malformed:
        raise BadRequest(str(malformed)) from None
    session = db.session()
    build = lock_build(session, to_int(data.get("build_id"), "build_id", required=True))
    if build is None:
        return flask.jsonify({"updated": False})
    version = data.get("pkg_version")
    error = data.get("error")
    updated = import_completed(
        build,
        commits,
        str(version) if version else None,
        str(error) if error else None,
        import_timings,
    )
    session.commit()
    return flask.jsonify({"updated": updated})


# --- download statistics --------------------------------------------------------------------

_MAX_SHIPPED_LINES = 10000
_MAX_LINE = 16384


def _shipped_log(value: Any) -> str:
    log = value if isinstance(value, str) else ""
    if not log or len(log) > 1000 or not downloads.source_of(log):
        raise BadRequest("'log' must name a shipped log as host:path (at most 1000 characters)")
    return log


@_route("/access-log/")
def access_log_offset() -> flask.Response:
    """``?log=host:path&inode=N&size=N`` → ``{"offset"}``: where the backend ships on from."""
    args = flask.request.args
    log = _shipped_log(args.get("log"))
    inode = to_int(args.get("inode"), "inode", required=True, minimum=0)
    size = to_int(args.get("size"), "size", required=True, minimum=0)
    return flask.jsonify({"offset": downloads.start_offset(db.session(), log, inode, size)})


@_route("/access-log/", _WRITE)
@backend_authenticated
def access_log_lines() -> flask.Response:
    """The lines a backend read from its results server's access log: counted once."""
    data = _json_object()
    log = _shipped_log(data.get("log"))
    inode = to_int(data.get("inode"), "inode", required=True, minimum=0)
    size = to_int(data.get("size"), "size", required=True, minimum=0)
    start = to_int(data.get("start"), "start", required=True, minimum=0)
    end = to_int(data.get("end"), "end", required=True, minimum=start, maximum=size)
    lines = data.get("lines")
    if (
        not isinstance(lines, list)
        or len(lines) > _MAX_SHIPPED_LINES
        or not all(isinstance(line, str) and len(line) <= _MAX_LINE for line in lines)
    ):
        raise BadRequest(
            f"'lines' must be a list of at most {_MAX_SHIPPED_LINES} strings "
            f"of at most {_MAX_LINE} characters"
        )
    session = db.session()
    try:
        counted = downloads.count_shipped(
            session, log, inode=inode, size=size, start=start, end=end, lines=lines,
            results_path=urlsplit(settings().results_url).path,
        )  # fmt: skip
    except downloads.PositionConflict as error:
        raise Conflict(f"The lines of {log} from {start} are not the next ones: {error}") from None
    session.commit()
    return flask.jsonify({"counted": counted})


def register(app: flask.Flask) -> None:
    from copr_frontend.api.errors import register_error_handlers

    app.register_blueprint(backend_api)
    register_error_handlers(app, backend_api.url_prefix or "/backend")


__all__ = ["backend_api", "register"]
