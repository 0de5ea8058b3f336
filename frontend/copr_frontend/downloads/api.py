"""API v3 ``/project/downloads``: a project's download counts per day, from the counting
job (``copr-frontend count-downloads``).
"""

from __future__ import annotations

import time
from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, route
from copr_frontend.api.lookup import project_or_404
from copr_frontend.api.params import get_params
from copr_frontend.downloads.logic import daily_totals, download_counts
from copr_frontend.validation import to_int

MAX_DAYS = 366
DEFAULT_DAYS = 30


def _optional_name(params: Any, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(str(value)) > 200:
        raise BadRequest(f"{name} is longer than 200 characters")
    return str(value)


@route("/project/downloads")
def project_downloads() -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    given = to_int(params.get("days"), "days")
    days = DEFAULT_DAYS if given is None else given
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be between 1 and {MAX_DAYS}")
    chroot = _optional_name(params, "chrootname")
    package = _optional_name(params, "packagename")
    now = time.time()
    counts = download_counts(
        db.session(), project, days=days, chroot=chroot, package=package, now=now
    )
    return flask.jsonify(
        {
            "ownername": project.ownername,
            "projectname": project.name,
            "days": daily_totals(counts, days, now),
            "counts": [
                {
                    "day": c.day,
                    "chroot": c.chroot,
                    "package": c.package or None,
                    "kind": c.kind,
                    "count": c.count,
                }
                for c in counts
            ],
        }
    )
