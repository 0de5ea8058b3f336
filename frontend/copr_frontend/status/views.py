"""``/status/pending/``, ``/status/running/``, ``/status/importing/``, ``/status/stats/``
(charts of builds per day and per chroot) and ``/status/builders/``.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_babel import gettext

from copr_common.enums import StatusEnum
from copr_frontend import db
from copr_frontend.context import settings
from copr_frontend.db import now
from copr_frontend.status import logic

blueprint = flask.Blueprint("status", __name__)


def _tasks_page(states: tuple[StatusEnum, ...], key: str, heading: str) -> Any:
    tasks = logic.tasks_in(db.session(), states)
    return flask.render_template(
        "status/tasks.html", tasks=tasks, active=key, heading=heading, now=now()
    )


@blueprint.route("/status/")
def index() -> Any:
    return flask.redirect(flask.url_for("status.pending"))


@blueprint.route("/status/pending/")
def pending() -> Any:
    return _tasks_page((StatusEnum.pending,), "pending", gettext("Pending tasks"))


@blueprint.route("/status/running/")
def running() -> Any:
    return _tasks_page(
        (StatusEnum.starting, StatusEnum.running), "running", gettext("Running tasks")
    )


@blueprint.route("/status/importing/")
def importing() -> Any:
    return _tasks_page((StatusEnum.importing,), "importing", gettext("Importing builds"))


@blueprint.route("/status/stats/")
def stats() -> Any:
    session = db.session()
    current = now()
    return flask.render_template(
        "status/stats.html",
        active="stats",
        per_day=logic.builds_per_day(session, current),
        per_chroot=logic.tasks_per_chroot(session, current),
    )


@blueprint.route("/status/builders/")
def builders() -> Any:
    return flask.render_template(
        "status/builders.html",
        active="builders",
        workers=logic.builders(settings().redis_url),
        configured=bool(settings().redis_url),
        now=now(),
    )
