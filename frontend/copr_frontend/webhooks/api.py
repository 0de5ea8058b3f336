"""API v3 ``/webhook/info`` and ``/webhook/forge-secret``: what a project's forge
integration needs (the receiver URLs and the secrets), for its admins only.

``GET /webhook/info/<ownername>/<projectname>`` answers the project's webhook secret,
its forge secret (or null) and the receiver URL of every forge.
``PUT /webhook/forge-secret/<ownername>/<projectname>`` with ``{"forge_secret": "..."}``
sets the forge secret (at least 16 characters, as the forge's webhook settings hold
it), ``{"generate": true}`` makes a random one, ``{"forge_secret": null}`` removes it;
the answer is the info.  (``/webhook/generate`` — a new URL secret — lives with the
project routes, as in Copr.)
"""

from __future__ import annotations

import secrets
from typing import Any

import flask

from copr_frontend import db
from copr_frontend.api import BadRequest, route
from copr_frontend.api.auth import require_login
from copr_frontend.api.lookup import project_or_404, require_admin
from copr_frontend.api.params import get_params, json_body
from copr_frontend.context import settings
from copr_frontend.projects.models import Project
from copr_frontend.validation import to_bool, to_text
from copr_frontend.webhooks import logic
from copr_frontend.webhooks.forges import forges

MIN_FORGE_SECRET = 16
MAX_FORGE_SECRET = 200


def webhook_urls(project: Project) -> dict[str, str]:
    """The receiver URLs of ``project`` (``<PACKAGE_NAME>``, ``<SUFFIX>`` to fill in)."""
    base = f"{settings().public_url}/webhooks"
    secret = project.webhook_secret
    urls = {name: f"{base}/{name}/{project.id}/{secret}/" for name in forges()}
    urls["custom"] = f"{base}/custom/{project.id}/{secret}/<PACKAGE_NAME>/"
    urls["custom_dir"] = (
        f"{base}/custom-dir/{project.ownername}/{project.name}:custom:<SUFFIX>/{secret}/"
        "<PACKAGE_NAME>/"
    )
    return urls


def webhook_info(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "ownername": project.ownername,
        "projectname": project.name,
        "full_name": project.full_name,
        "webhook_secret": project.webhook_secret,
        "forge_secret": logic.forge_secret(db.session(), project),
        "urls": webhook_urls(project),
    }


@route("/webhook/info/<ownername>/<projectname>", "/webhook/info")
@require_login
def get_webhook_info(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    return flask.jsonify(webhook_info(project))


@route("/webhook/forge-secret/<ownername>/<projectname>", "/webhook/forge-secret", methods=["PUT"])
@require_login
def set_forge_secret(**_path: Any) -> flask.Response:
    params = get_params()
    project = project_or_404(params.get("ownername"), params.get("projectname"))
    require_admin(project)
    data = json_body()
    generate = to_bool(data.get("generate"), "generate")
    if "forge_secret" not in data and not generate:
        raise BadRequest("Send 'forge_secret' (text, or null to remove it) or 'generate': true")
    if generate:
        if data.get("forge_secret") is not None:
            raise BadRequest("Send either 'forge_secret' or 'generate', not both")
        secret: str | None = secrets.token_hex(20)
    else:
        secret = to_text(data.get("forge_secret"), "forge_secret", max_length=MAX_FORGE_SECRET)
        secret = secret.strip() if secret else None
        if secret is not None and len(secret) < MIN_FORGE_SECRET:
            raise BadRequest(f"Field 'forge_secret' must be at least {MIN_FORGE_SECRET} characters")
        if secret is not None and not secret.isprintable():
            raise BadRequest("Field 'forge_secret' must be printable text")
    logic.set_forge_secret(db.session(), project, secret)
    db.session().commit()
    return flask.jsonify(webhook_info(project))
