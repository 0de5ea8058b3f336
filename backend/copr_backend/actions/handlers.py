"""What each backend action does to the results tree.

The action's ``data`` is the JSON the frontend queued (it arrives JSON-encoded):

``createrepo``   ``ownername, projectname, project_dirnames, chroots, devel, appstream``
                 — make (or regenerate) the repodata of every chroot dir of every project
                 dir; with ``devel`` that of their ``devel/`` repos; with ``appstream``
                 an AppStream catalog too
``gen_gpg_key``  ``ownername, projectname`` — the project's key, and its ``pubkey.gpg``
``fork``         ``ownername, projectname, builds_map {chroot: {old dir: new dir}}`` and
                 ``old_value`` ``<owner>/<project>`` of the source — copy the source's build
                 dirs, re-sign their packages with the fork's key, update the repodata
``delete``       by ``object_type``:
    ``copr``     ``ownername, projectname, project_dirnames`` — every project dir
    ``build``    ``ownername, project_dirname, chroot_builddirs {chroot: [dir]}``
    ``builds``   ``ownername, project_dirnames {dirname: {chroot: [dir]}}``
    ``chroot``   ``ownername, projectname, chrootname`` — one chroot dir
``remove_dirs``  ``ownername, projectname, project_dirnames`` — pull-request or custom dirs
                 (never the project's main dir) with everything in them

Deleting builds regenerates the repodata of the chroots they were in, so the repodata
never lists a package that is gone.  Removing what is already gone is not an error (an
action may run twice after a restart).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copr_backend.createrepo import Createrepo, CreaterepoError
from copr_backend.results import ResultsTree, remove_tree
from copr_backend.signing import Signer, SignerError
from copr_common.chroots import ChrootNameError, parse_chroot
from copr_common.enums import ActionTypeEnum
from copr_common.names import (
    SRPM_BUILDS_DIR,
    InvalidNameError,
    ProjectDirName,
    parse_build_dir_name,
)

log = logging.getLogger(__name__)


class ActionError(RuntimeError):
    """The action cannot be done; the message goes back to the frontend."""


@dataclass
class ActionContext:
    """What action handlers act with: the results tree, the signer and createrepo."""

    tree: ResultsTree
    signer: Signer
    createrepo: Createrepo
    results_url: str = ""


def _data(action: dict[str, Any]) -> dict[str, Any]:
    raw = action.get("data") or "{}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ActionError("the action's data is not JSON") from None
    if not isinstance(data, dict):
        raise ActionError("the action's data is not a JSON object")
    return data


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ActionError(f"the action's data has no {key!r}")
    return value


def _project_dirnames(data: dict[str, Any]) -> list[str]:
    names = data.get("project_dirnames") or []
    if isinstance(names, dict):
        names = list(names)
    project = data.get("projectname")
    result = [str(n) for n in names]
    if isinstance(project, str) and project and project not in result:
        result.append(project)
    return result


def _checked_chroot(name: str) -> str:
    if name == SRPM_BUILDS_DIR:
        return name
    try:
        parse_chroot(name)
    except ChrootNameError as error:
        raise ActionError(str(error)) from None
    return name


def _checked_build_dir(chroot: str, name: str) -> str:
    try:
        if chroot == SRPM_BUILDS_DIR:
            if not (name.isdigit() and len(name) >= 8):
                raise InvalidNameError(f"{name!r} is not a source build dir")
        else:
            parse_build_dir_name(name)
    except InvalidNameError as error:
        raise ActionError(str(error)) from None
    return name


def createrepo(ctx: ActionContext, action: dict[str, Any]) -> str:
    data = _data(action)
    owner = _str(data, "ownername")
    chroots = [_checked_chroot(str(c)) for c in data.get("chroots") or []]
    devel = bool(data.get("devel"))
    done = 0
    for dirname in _project_dirnames(data):
        for chroot in chroots:
            directory = ctx.tree.chroot_dir(owner, dirname, chroot)
            ctx.createrepo.update(
                directory,
                full=True,
                devel_baseurl=_devel_url(ctx, directory, devel),
                appstream=bool(data.get("appstream")),
            )
            done += 1
    return f"{'devel ' if devel else ''}repodata made in {done} chroot dirs"


def _devel_url(ctx: ActionContext, chroot_dir: Path, devel: bool) -> str | None:
    """The chroot dir's URL, the base of its devel repo's packages; None for the main repo."""
    if not devel:
        return None
    return ctx.tree.url_of(chroot_dir, ctx.results_url) + "/"


def gen_gpg_key(ctx: ActionContext, action: dict[str, Any]) -> str:
    data = _data(action)
    owner, project = _str(data, "ownername"), _str(data, "projectname")
    ctx.signer.ensure_key(owner, project)
    ctx.signer.write_pubkey(owner, project, ctx.tree.project_dir(owner, project) / "pubkey.gpg")
    return f"key of {owner}/{project} ready"


def fork(ctx: ActionContext, action: dict[str, Any]) -> str:
    data = _data(action)
    owner, project = _str(data, "ownername"), _str(data, "projectname")
    source = str(action.get("old_value") or "")
    source_owner, _, source_project = source.partition("/")
    if not source_owner or not source_project:
        raise ActionError(f"the fork action names no source project (old_value {source!r})")
    builds_map = data.get("builds_map")
    if not isinstance(builds_map, dict):
        raise ActionError("the action's data has no 'builds_map' object")
    # Check every name before anything is copied.
    plan: list[tuple[str, Path, Path]] = []
    for chroot, dirs in builds_map.items():
        chroot = _checked_chroot(str(chroot))
        if not isinstance(dirs, dict):
            raise ActionError(f"builds_map[{chroot!r}] must map old to new build dirs")
        for old, new in dirs.items():
            old_dir = _checked_build_dir(chroot, str(old))
            new_dir = _checked_build_dir(chroot, str(new))
            source_chroot = ctx.tree.project_dir(source_owner, source_project) / chroot
            target_chroot = ctx.tree.project_dir(owner, project) / chroot
            plan.append((chroot, source_chroot / old_dir, target_chroot / new_dir))
    ctx.signer.ensure_key(owner, project)
    ctx.signer.write_pubkey(owner, project, ctx.tree.project_dir(owner, project) / "pubkey.gpg")
    copied, missing = 0, 0
    added: dict[Path, list[str]] = {}
    for chroot, old_path, new_path in plan:
        if not old_path.is_dir():
            log.warning("fork: %s is gone, not copied", old_path)
            missing += 1
            continue
        if new_path.exists():
            shutil.rmtree(new_path)
        new_path.mkdir(parents=True)
        # Build dirs are flat: plain files only, a link is never followed or copied.
        for item in old_path.iterdir():
            if item.is_file() and not item.is_symlink():
                shutil.copy2(item, new_path / item.name)
        ctx.signer.sign(owner, project, sorted(new_path.glob("*.rpm")))
        copied += 1
        if chroot != SRPM_BUILDS_DIR:
            added.setdefault(new_path.parent, []).append(new_path.name)
    for chroot_dir, new_dirs in added.items():
        ctx.createrepo.update(chroot_dir, new_dirs)
    return f"forked {copied} build dirs from {source}" + (
        f" ({missing} were gone)" if missing else ""
    )


def _delete_build_dirs(
    ctx: ActionContext, owner: str, dirname: str, builddirs: dict[str, Any]
) -> int:
    removed = 0
    touched: list[Path] = []
    for chroot, dirs in builddirs.items():
        chroot = _checked_chroot(str(chroot))
        names = [dirs] if isinstance(dirs, str) else list(dirs or [])
        chroot_dir = (
            ctx.tree.project_dir(owner, dirname) / SRPM_BUILDS_DIR
            if chroot == SRPM_BUILDS_DIR
            else ctx.tree.chroot_dir(owner, dirname, chroot)
        )
        for name in names:
            target = chroot_dir / _checked_build_dir(chroot, str(name))
            if remove_tree(target, ctx.tree.root):
                removed += 1
        if chroot != SRPM_BUILDS_DIR and (chroot_dir / "repodata").is_dir():
            touched.append(chroot_dir)
    for chroot_dir in touched:
        ctx.createrepo.update(chroot_dir, full=True)
        # A project that publishes by hand lists its packages in devel/ too.
        if (chroot_dir / "devel" / "repodata").is_dir():
            ctx.createrepo.update(
                chroot_dir, full=True, devel_baseurl=_devel_url(ctx, chroot_dir, True)
            )
    return removed


def delete(ctx: ActionContext, action: dict[str, Any]) -> str:
    data = _data(action)
    owner = _str(data, "ownername")
    kind = action.get("object_type")
    if kind == "copr":
        removed = 0
        for dirname in _project_dirnames(data):
            removed += remove_tree(ctx.tree.project_dir(owner, dirname), ctx.tree.root)
        return f"removed {removed} project dirs"
    if kind == "build":
        builddirs = data.get("chroot_builddirs")
        if not isinstance(builddirs, dict):
            raise ActionError("the action's data has no 'chroot_builddirs' object")
        dirname = str(data.get("project_dirname") or _str(data, "projectname"))
        removed = _delete_build_dirs(ctx, owner, dirname, builddirs)
        return f"removed {removed} build dirs"
    if kind == "builds":
        per_dir = data.get("project_dirnames")
        if not isinstance(per_dir, dict):
            raise ActionError("the action's data has no 'project_dirnames' object")
        removed = 0
        for dirname, builddirs in per_dir.items():
            if not isinstance(builddirs, dict):
                raise ActionError(f"project dir {dirname!r}: expected {{chroot: [dirs]}}")
            removed += _delete_build_dirs(ctx, owner, str(dirname), builddirs)
        return f"removed {removed} build dirs"
    if kind == "chroot":
        chroot = _checked_chroot(_str(data, "chrootname"))
        removed = 0
        for dirname in _project_dirnames(data):
            removed += remove_tree(ctx.tree.chroot_dir(owner, dirname, chroot), ctx.tree.root)
        return f"removed {removed} chroot dirs"
    raise ActionError(f"cannot delete objects of type {kind!r}")


def remove_dirs(ctx: ActionContext, action: dict[str, Any]) -> str:
    data = _data(action)
    owner, project = _str(data, "ownername"), _str(data, "projectname")
    names = data.get("project_dirnames")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ActionError("the action's data has no 'project_dirnames' list")
    # Check every name before anything is removed.
    for name in names:
        parsed = ProjectDirName.parse(name)
        if parsed.is_main or parsed.project != project:
            raise ActionError(f"{name!r} is not a pull-request or custom dir of {project}")
    removed = sum(remove_tree(ctx.tree.project_dir(owner, name), ctx.tree.root) for name in names)
    return f"removed {removed} project dirs"


HANDLERS: dict[ActionTypeEnum, Callable[[ActionContext, dict[str, Any]], str]] = {
    ActionTypeEnum.createrepo: createrepo,
    ActionTypeEnum.gen_gpg_key: gen_gpg_key,
    ActionTypeEnum.delete: delete,
    ActionTypeEnum.fork: fork,
    ActionTypeEnum.remove_dirs: remove_dirs,
}


def run_action(ctx: ActionContext, action: dict[str, Any]) -> str:
    """Do ``action``; its success message.  Raises :class:`ActionError` with the reason."""
    try:
        action_type = ActionTypeEnum(int(action["action_type"]))
    except (KeyError, TypeError, ValueError):
        raise ActionError(f"unknown action type {action.get('action_type')!r}") from None
    handler = HANDLERS.get(action_type)
    if handler is None:
        raise ActionError(f"this backend does not do {action_type.name} actions")
    try:
        return handler(ctx, action)
    except (InvalidNameError, ValueError) as error:
        raise ActionError(str(error)) from None
    except (SignerError, CreaterepoError, OSError) as error:
        raise ActionError(str(error)) from None
