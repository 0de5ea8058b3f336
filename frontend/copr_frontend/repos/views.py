"""``.repo`` files: ``/coprs/<owner>/<project>/repo/<distro>-<version>/dnf.repo?arch=A``.

The group form ``/coprs/g/<group>/...`` and ``@group`` in the owner part both work; any
``<name>.repo`` file name is accepted (older clients ask for ``<owner>-<project>-...``).
A 404 for a chroot the project does not have carries ``Copr-Error-Data``: base64 of
``{"available chroots": [...]}``, which the dnf plugin shows to the user.

The main section is ``[copr:<host>:<owner>:<dir>]``, the host without a port (as Copr
names it, and as the plugin's ``disable``/``remove`` look it up).  The plugin names the
file after a first line that starts ``[copr:``; otherwise after the hub it was given,
port included — and ``dnf copr list --hub URL`` only lists files named after the hub
with its port.  So when the frontend's URL has a port the file starts with a comment,
and the plugin names it ``_copr:<host>:<port>:<owner>:<project>.repo``.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import flask

from copr_common.names import InvalidNameError, ProjectDirName
from copr_frontend import db
from copr_frontend.context import settings
from copr_frontend.projects.logic import get_project, get_project_dir
from copr_frontend.projects.models import Project

repos = flask.Blueprint("repos", __name__)


def _text(body: str, code: int, headers: dict[str, str] | None = None) -> flask.Response:
    response = flask.Response(body, status=code, mimetype="text/plain")
    response.headers.update(headers or {})
    return response


def repo_id_owner(ownername: str) -> str:
    return "group_" + ownername[1:] if ownername.startswith("@") else ownername


def render_repo_file(project: Project, dirname: str, distro: str, arch: str | None) -> str:
    conf = settings()
    public = urlsplit(conf.public_url)
    host = public.hostname or "localhost"
    owner = project.ownername
    os_name, _, version = distro.rpartition("-")
    # Rawhide has no number dnf could put in $releasever; numbered releases use it so a
    # system upgrade keeps the repo working.
    release = version if version == "rawhide" else "$releasever"
    root = f"{conf.results_url}/{owner}/{dirname}"
    lines = [f"# Copr project {owner}/{dirname} at {public.netloc}"] if public.port else []
    lines += [
        f"[copr:{host}:{repo_id_owner(owner)}:{dirname}]",
        f"name=Copr repo for {dirname} owned by {owner}",
        f"baseurl={root}/{os_name}-{release}-$basearch/",
        "type=rpm-md",
        "skip_if_unavailable=True",
        "gpgcheck=1",
        f"gpgkey={root}/pubkey.gpg",
        "repo_gpgcheck=0",
        "enabled=1",
        "enabled_metadata=1",
    ]
    if project.repo_priority is not None:
        lines.append(f"priority={project.repo_priority}")
    if project.module_hotfixes:
        lines.append("module_hotfixes=1")
    for index, dependency in enumerate(project.runtime_dependencies, start=1):
        lines += ["", *_dependency_section(dependency, index, os_name, release, host)]
    return "\n".join(lines) + "\n"


def _dependency_section(url: str, index: int, os_name: str, release: str, host: str) -> list[str]:
    conf = settings()
    if url.startswith("copr://"):
        owner_project = url.removeprefix("copr://").strip("/")
        baseurl = f"{conf.results_url}/{owner_project}/{os_name}-{release}-$basearch/"
        name = f"coprdep:{host}:{owner_project.replace('/', ':').replace('@', 'group_')}"
        gpg = [f"gpgkey={conf.results_url}/{owner_project}/pubkey.gpg", "gpgcheck=1"]
    else:
        baseurl = url
        name = f"coprdep:{index}"
        gpg = ["gpgcheck=0"]
    return [f"[{name}]", f"name=Runtime dependency #{index} - {url}", f"baseurl={baseurl}",
            "skip_if_unavailable=False", "enabled=1", *gpg]  # fmt: skip


@repos.route("/coprs/g/<group>/<project>/repo/<distro>/<filename>")
def group_repo_file(group: str, project: str, distro: str, filename: str) -> flask.Response:
    return repo_file(f"@{group}", project, distro, filename)


@repos.route("/coprs/<owner>/<project>/repo/<distro>/<filename>")
def repo_file(owner: str, project: str, distro: str, filename: str) -> flask.Response:
    if not filename.endswith(".repo"):
        return _text(f"{filename} is not a .repo file\n", 404)
    arch = flask.request.args.get("arch") or None
    try:
        dirname = ProjectDirName.parse(project)
    except InvalidNameError as error:
        return _text(f"{error}\n", 404)
    session = db.session()
    found = get_project(session, owner, dirname.project)
    if found is None or get_project_dir(session, found, str(dirname)) is None:
        return _text(f"Project {owner}/{project} does not exist\n", 404)
    active = found.active_chroots
    matching = [c for c in active if c.mock_chroot.distro == distro]
    if arch is not None and matching:
        same_arch = [c for c in matching if c.mock_chroot.arch == arch]
        matching = same_arch or matching
    if not matching:
        available = [c.name for c in active]
        error_data = base64.b64encode(json.dumps({"available chroots": available}).encode())
        return _text(
            f"Chroot {distro}{'-' + arch if arch else ''} does not exist in {owner}/{project}\n",
            404,
            {"Copr-Error-Data": error_data.decode()},
        )
    return _text(render_repo_file(found, str(dirname), distro, arch), 200)
