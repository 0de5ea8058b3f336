"""Build pages: a project's builds (filter, pages, cancel or delete many at once, cancel
every queued one), one build with its chroots and live log, and the actions on it
(cancel, resubmit, delete, cancel the rebuild wave that queued it).

``/coprs/build/<id>`` (what copr-cli prints) redirects to the build's page.  The live
log is read from the results server through :func:`build_log` (a JSON slice from a byte
offset), so the page follows ``builder-live.log`` while the task runs and shows the final
log once it ended, without the browser talking to another host.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import flask
import requests
from flask_babel import gettext

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.names import SRPM_BUILDS_DIR, srpm_build_dir
from copr_frontend import db
from copr_frontend.api.errors import ApiError
from copr_frontend.builds import logic
from copr_frontend.builds.cancellation import cancel_pending, cancel_wave_builds
from copr_frontend.builds.dependents import wave_progress
from copr_frontend.builds.models import Build
from copr_frontend.builds.options import parse_build_request
from copr_frontend.builds.removal import BuildRemovalError, delete_build
from copr_frontend.builds.serialize import (
    attestations_to_json,
    chroot_result_url,
    repo_url,
    rpmlint_to_json,
)
from copr_frontend.builds.transitions import cancel_build
from copr_frontend.context import settings
from copr_frontend.permissions.logic import can_admin, can_build
from copr_frontend.projects.models import Project
from copr_frontend.projects.views import before_arg
from copr_frontend.users.models import User
from copr_frontend.validation import MAX_INT
from copr_frontend.web.routing import (
    login_required,
    project_rights,
    project_route,
    purl,
    require_builder,
    web_user,
)

blueprint = flask.Blueprint("builds", __name__)

LOG_CHUNK = 256 * 1024
"""At most this much log text per request; the page asks again from the new offset."""
LOG_TIMEOUT = 10


def _state_arg() -> StatusEnum | None:
    value = flask.request.args.get("state", "")
    if not value:
        return None
    try:
        return StatusEnum.from_label(value)
    except ValueError:
        flask.abort(400, gettext("Unknown build state %(state)s.", state=value))


@project_route(blueprint, "/builds/", methods=["GET", "POST"])
def project_builds(project: Project) -> Any:
    if flask.request.method == "POST":
        return _bulk_action(project)
    state = _state_arg()
    builds, next_id = logic.list_builds(db.session(), project, state=state, before_id=before_arg())
    filters = {"state": state.label} if state else {}
    next_url = (
        purl("builds.project_builds", project, before=next_id, **filters) if next_id else None
    )
    return flask.render_template(
        "builds/list.html",
        project=project,
        rights=project_rights(project),
        builds=builds,
        state=state,
        next_url=next_url,
        states=[s for s in StatusEnum if s != StatusEnum.unknown],
    )


def _may_delete(user: User, build: Build) -> bool:
    session = db.session()
    own = build.user_id == user.id and can_build(session, user, build.project)
    return own or can_admin(session, user, build.project)


def _bulk_action(project: Project) -> Any:
    require_builder(project)
    user = login_required()
    action = flask.request.form.get("action")
    ids = [
        int(v) for v in flask.request.form.getlist("builds") if v.isdigit() and int(v) <= MAX_INT
    ]
    session = db.session()
    builds = [
        b
        for b in (session.get(Build, i) for i in ids)
        if b is not None and b.project_id == project.id
    ]
    if not builds:
        flask.flash(gettext("Select at least one build."), "error")
        return flask.redirect(purl("builds.project_builds", project), code=303)
    if action == "cancel":
        done = [b.id for b in builds if cancel_build(session, b)]
        message = gettext("Canceled builds: %(ids)s", ids=", ".join(map(str, done)) or "—")
    elif action == "delete":
        refused = [b.id for b in builds if not _may_delete(user, b)]
        if refused:
            flask.abort(
                403, gettext("You may not delete builds %(ids)s.", ids=", ".join(map(str, refused)))
            )
        try:
            for build in builds:
                delete_build(session, build)
        except BuildRemovalError as error:
            session.rollback()
            flask.flash(str(error), "error")
            return flask.redirect(purl("builds.project_builds", project), code=303)
        message = gettext("Deleted builds: %(ids)s", ids=", ".join(str(i) for i in ids))
    else:
        flask.abort(400, gettext("Unknown action."))
    session.commit()
    flask.flash(message)
    return flask.redirect(purl("builds.project_builds", project), code=303)


@project_route(blueprint, "/cancel_pending/", methods=["POST"])
def cancel_pending_builds(project: Project) -> Any:
    require_builder(project)
    session = db.session()
    builds = cancel_pending(session, project)
    session.commit()
    if builds:
        ids = ", ".join(str(b.id) for b in builds)
        flask.flash(gettext("Canceled builds: %(ids)s", ids=ids))
    else:
        flask.flash(gettext("No build was waiting for a builder."))
    return flask.redirect(purl("builds.project_builds", project), code=303)


def _build_or_404(project: Project | None, build_id: int) -> Build:
    build = logic.get_build_for_page(db.session(), build_id) if 0 < build_id <= MAX_INT else None
    if build is None or (project is not None and build.project_id != project.id):
        flask.abort(404, gettext("Build %(id)s does not exist.", id=build_id))
    return build


@blueprint.route("/coprs/build/<int:build_id>", strict_slashes=False)
def build_redirect(build_id: int) -> Any:
    build = _build_or_404(None, build_id)
    return flask.redirect(purl("builds.build_page", build.project, build_id=build.id), code=302)


def source_result_url(build: Build) -> str:
    return f"{repo_url(build.project, build.dir.name)}/{srpm_build_dir(build.id)}/"


def _tasks(build: Build) -> list[dict[str, Any]]:
    """The source build and each chroot task, as the build page lists them."""
    tasks = [
        {
            "name": SRPM_BUILDS_DIR,
            "label": gettext("source build"),
            "state": build.source_status,
            "started_on": build.started_on,
            "ended_on": None,  # the source build's end is not stored
            "result_url": source_result_url(build),
            "fail_reason": build.fail_reason,
        }
    ]
    for chroot in build.chroots:
        tasks.append(
            {
                "name": chroot.name,
                "label": chroot.name,
                "state": chroot.status,
                "started_on": chroot.started_on,
                "ended_on": chroot.ended_on,
                "result_url": chroot_result_url(chroot),
                "fail_reason": chroot.fail_reason,
                "rpmlint": rpmlint_to_json(chroot),
                "attestations": attestations_to_json(chroot),
            }
        )
    return tasks


def _default_log_task(tasks: list[dict[str, Any]]) -> str:
    for task in tasks:
        if task["state"] in (StatusEnum.running, StatusEnum.starting):
            return str(task["name"])
    idle = (StatusEnum.waiting, StatusEnum.pending, StatusEnum.skipped)
    chroots = [t for t in tasks[1:] if t["result_url"] and t["state"] not in idle]
    if chroots:
        return str(chroots[-1]["name"])
    return SRPM_BUILDS_DIR


@project_route(blueprint, "/build/<int:build_id>/")
def build_page(project: Project, build_id: int) -> Any:
    build = _build_or_404(project, build_id)
    tasks = _tasks(build)
    return flask.render_template(
        "builds/build.html",
        project=project,
        rights=project_rights(project),
        build=build,
        tasks=tasks,
        log_task=flask.request.args.get("log") or _default_log_task(tasks),
        queue_position=logic.queue_position(db.session(), build),
        source=source_summary(build),
        wave=_wave_summary(build),
    )


def _wave_summary(build: Build) -> dict[str, Any] | None:
    """What the build page says about the rebuild wave that queued ``build``, if one did:
    the build that started it, its progress, the cycles it broke, and whether the visitor
    may cancel it (who may build in the project of the build that started it).
    """
    wave = build.rebuild_wave
    if wave is None:
        return None
    session = db.session()
    return {
        "wave": wave,
        "trigger": build.triggered_by,
        "progress": wave_progress(session, wave),
        "cycles": [" → ".join([*cycle, cycle[0]]) for cycle in wave.cycles if cycle],
        "may_cancel": can_build(session, web_user(), wave.project),
    }


def source_summary(build: Build) -> list[tuple[str, str]]:
    """(label, value) pairs that say where the build's sources came from."""
    data = build.source_json or {}
    rows = [(gettext("Source type"), build.source_type.label)]
    for key in ("url", "pkg", "clone_url", "committish", "subdirectory", "spec",
                "srpm_build_method", "pypi_package_name", "pypi_package_version", "gem_name",
                "distgit", "namespace", "package_name", "chroot", "builddeps"):  # fmt: skip
        if data.get(key):
            rows.append((key, str(data[key])))
    if build.srpm_url:
        rows.append(("srpm_url", build.srpm_url))
    return rows


@project_route(blueprint, "/cancel_build/<int:build_id>/", methods=["POST"])
def cancel(project: Project, build_id: int) -> Any:
    build = _build_or_404(project, build_id)
    require_builder(project)
    session = db.session()
    if cancel_build(session, build):
        session.commit()
        flask.flash(gettext("Build %(id)s was canceled.", id=build.id))
    else:
        flask.flash(gettext("Build %(id)s has already finished.", id=build.id), "error")
    return flask.redirect(purl("builds.build_page", project, build_id=build.id), code=303)


@project_route(blueprint, "/cancel_wave/<int:build_id>/", methods=["POST"])
def cancel_wave(project: Project, build_id: int) -> Any:
    """Cancel the unfinished builds of the rebuild wave that queued the build (as API v3's
    ``build/cancel-wave``): for who may build in the project whose build started it.
    """
    build = _build_or_404(project, build_id)
    wave = build.rebuild_wave
    if wave is None:
        flask.abort(404, gettext("Build %(id)s is not a rebuild of dependents.", id=build.id))
    require_builder(wave.project)
    session = db.session()
    canceled = cancel_wave_builds(session, wave)
    session.commit()
    if canceled:
        ids = ", ".join(str(b.id) for b in canceled)
        flask.flash(gettext("Canceled builds of wave %(wave)s: %(ids)s", wave=wave.id, ids=ids))
    else:
        flask.flash(gettext("No build of wave %(wave)s was left to cancel.", wave=wave.id))
    return flask.redirect(purl("builds.build_page", project, build_id=build.id), code=303)


@project_route(blueprint, "/delete_build/<int:build_id>/", methods=["POST"])
def delete(project: Project, build_id: int) -> Any:
    build = _build_or_404(project, build_id)
    user = login_required()
    if not _may_delete(user, build):
        flask.abort(
            403, gettext("Only the project's admins and the build's submitter may delete it.")
        )
    session = db.session()
    try:
        delete_build(session, build)
    except BuildRemovalError as error:
        session.rollback()
        flask.flash(str(error), "error")
        return flask.redirect(purl("builds.build_page", project, build_id=build_id), code=303)
    session.commit()
    flask.flash(gettext("Build %(id)s was deleted.", id=build_id))
    return flask.redirect(purl("builds.project_builds", project), code=303)


@project_route(blueprint, "/new_build_rebuild/<int:build_id>/", methods=["POST"])
def resubmit(project: Project, build_id: int) -> Any:
    build = _build_or_404(project, build_id)
    user = require_builder(project)
    session = db.session()
    source_type, source_json = build.source_type, dict(build.source_json)
    if source_type == BuildSourceEnum.upload and build.srpm_url:
        # The upload is gone once imported; the SRPM in the results is the same file.
        source_type = BuildSourceEnum.link
        source_json = {"url": build.srpm_url, "pkg": build.srpm_url.rsplit("/", 1)[-1]}
    try:
        request = parse_build_request(session, project, logic.resubmit_options(build), settings())
        new = request.submit(session, user, (source_type, source_json), package=build.package)
    except ApiError as error:
        session.rollback()
        flask.flash(error.message, "error")
        return flask.redirect(purl("builds.build_page", project, build_id=build_id), code=303)
    new.resubmitted_from_id = build.id
    session.commit()
    flask.flash(gettext("Build %(old)s was resubmitted as %(new)s.", old=build.id, new=new.id))
    return flask.redirect(purl("builds.build_page", project, build_id=new.id), code=303)


# --- logs ------------------------------------------------------------------------------


def _log_base(build: Build, task: str) -> str | None:
    if task == SRPM_BUILDS_DIR:
        return source_result_url(build)
    chroot = build.chroot(task)
    if chroot is None:
        flask.abort(
            404, gettext("Build %(id)s has no chroot %(chroot)s.", id=build.id, chroot=task)
        )
    return chroot_result_url(chroot)


def _fetch(url: str, offset: int) -> bytes | None:
    """The bytes of ``url`` from ``offset`` (a Range request; a server that ignores it
    sends everything and the slice is cut here); None when it is not there.
    """
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, headers=headers, timeout=LOG_TIMEOUT)
    except requests.RequestException:
        return None
    if response.status_code == 416:
        return b""
    if response.status_code not in (200, 206):
        return None
    content = response.content
    return content if response.status_code == 206 else content[offset:]


def _fetch_final(url: str, offset: int) -> bytes | None:
    """An ended task's log: ``X.log.gz`` (decompressed here) or ``X.log``."""
    try:
        response = requests.get(url + ".gz", timeout=LOG_TIMEOUT)
    except requests.RequestException:
        response = None
    if response is not None and response.status_code == 200:
        body = response.content
        try:
            # Servers that send Content-Encoding: gzip are decoded by requests already.
            text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        except (OSError, EOFError, zlib.error):
            return None
        return text[offset:]
    return _fetch(url, offset)


def read_log(build: Build, task: str, name: str, offset: int) -> tuple[bytes | None, bool]:
    """A slice of a task's log and whether the task has ended (no more will come)."""
    base = _log_base(build, task)
    state = build.source_status if task == SRPM_BUILDS_DIR else build.chroot(task).status  # type: ignore[union-attr]
    finished = state.is_finished
    not_started = state in (StatusEnum.waiting, StatusEnum.pending, StatusEnum.importing)
    if base is None or (not_started and task != SRPM_BUILDS_DIR):
        return None, finished
    url = base + name
    data = _fetch_final(url, offset) if finished else _fetch(url, offset)
    if data is None and not finished:
        data = _fetch_final(url, offset)  # it may have ended since the page was read
    return data, finished


@blueprint.route("/coprs/build/<int:build_id>/log/<task>/")
def build_log(build_id: int, task: str) -> Any:
    """JSON ``{"text", "offset", "finished", "build_state", "states"}`` from ``offset``."""
    build = _build_or_404(None, build_id)
    name = flask.request.args.get("file", "builder-live.log")
    if name not in ("builder-live.log", "backend.log"):
        flask.abort(404)
    offset_text = flask.request.args.get("offset", "0")
    offset = int(offset_text) if offset_text.isdigit() and len(offset_text) < 13 else 0
    data, finished = read_log(build, task, name, offset)
    chunk = (data or b"")[:LOG_CHUNK]
    return flask.jsonify(
        {
            "text": chunk.decode("utf-8", errors="replace"),
            "offset": offset + len(chunk),
            "available": data is not None,
            "finished": finished and len(data or b"") <= LOG_CHUNK,
            "build_state": build.state.label,
            "states": {t["name"]: t["state"].label for t in _tasks(build)},
        }
    )


@blueprint.route("/coprs/build/<int:build_id>/log/<task>/<name>")
def build_log_text(build_id: int, task: str, name: str) -> Any:
    """The whole log as text a browser shows (the results server may offer ``.gz``)."""
    if name not in ("builder-live.log", "backend.log"):
        flask.abort(404)
    build = _build_or_404(None, build_id)
    data, _finished = read_log(build, task, name, 0)
    if data is None:
        flask.abort(404, gettext("This log is not there (yet)."))
    return flask.Response(
        data, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"}
    )
