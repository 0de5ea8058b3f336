"""The JSON of projects and project chroots as API v3 answers it."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from copr_frontend.context import settings
from copr_frontend.db import now
from copr_frontend.projects.models import Project, ProjectChroot

_DAY = 24 * 3600

PROJECT_JSON_LOADS: tuple[LoaderOption, ...] = (
    # Of a chroot the JSON names only the active ones: not their settings.
    selectinload(Project.chroots).load_only(
        ProjectChroot.project_id, ProjectChroot.mock_chroot_id, ProjectChroot.deleted
    ),
    joinedload(Project.forked_from),
)
"""Loader options for a page of projects to serialize: what :func:`project_to_json`
reads, in one more query (the chroots, with their mock chroots) for a whole page."""


def project_to_json(project: Project) -> dict[str, Any]:
    results = f"{settings().results_url}/{project.ownername}/{project.name}"
    delete_after_days = (
        max(0, math.ceil((project.delete_after - now()) / _DAY))
        if project.delete_after is not None
        else None
    )
    return {
        "id": project.id,
        "name": project.name,
        "ownername": project.ownername,
        "full_name": project.full_name,
        "homepage": project.homepage,
        "contact": project.contact,
        "description": project.description,
        "instructions": project.instructions,
        "devel_mode": project.devel_mode,
        "persistent": project.persistent,
        "unlisted_on_hp": project.unlisted_on_hp,
        "auto_prune": project.auto_prune,
        # Ours, not Copr's: see Project.keep_builds (null: no limit).
        "keep_builds": project.keep_builds,
        "chroot_repos": {c.name: f"{results}/{c.name}/" for c in project.active_chroots},
        "additional_repos": list(project.additional_repos),
        "enable_net": project.enable_net,
        "bootstrap": project.bootstrap,
        "isolation": project.isolation,
        "module_hotfixes": project.module_hotfixes,
        "appstream": project.appstream,
        "runtime_dependencies": list(project.runtime_dependencies),
        "packit_forge_projects_allowed": list(project.packit_forge_projects_allowed),
        "follow_fedora_branching": project.follow_fedora_branching,
        "repo_priority": project.repo_priority,
        "fedora_review": project.fedora_review,
        # Ours, not Copr's (real clients ignore it): see Project.require_real_buildroot.
        "require_real_buildroot": project.require_real_buildroot,
        # Ours too: builds fail on rpmlint errors.
        "rpmlint_fail_on_errors": project.rpmlint_fail_on_errors,
        # Ours: what a changed dependency rebuilds here (copr_frontend.builds.dependents).
        "rebuild_dependents": project.rebuild_dependents,
        # Ours: the project's opt-in to build e-mail (see copr_frontend.notifications.mail).
        "email_notifications": project.email_notifications,
        # Ours: bytes its builds' results take (see copr_frontend.quotas).
        "storage_usage": project.storage_usage,
        "delete_after_days": delete_after_days,
        "forked_from": project.forked_from.full_name if project.forked_from else None,
        "storage": "backend",
    }


def project_chroot_to_json(copr_chroot: ProjectChroot) -> dict[str, Any]:
    project = copr_chroot.project
    return {
        "mock_chroot": copr_chroot.name,
        "projectname": project.name,
        "ownername": project.ownername,
        "comps_name": copr_chroot.comps_name,
        "additional_repos": list(copr_chroot.repos),
        "additional_packages": list(copr_chroot.buildroot_pkgs),
        "additional_modules": list(copr_chroot.module_toggle),
        "with_opts": list(copr_chroot.with_opts),
        "without_opts": list(copr_chroot.without_opts),
        "delete_after_days": None,
        "isolation": copr_chroot.isolation,
        "bootstrap": copr_chroot.bootstrap,
        "bootstrap_image": copr_chroot.bootstrap_image,
        "follow_fedora_branching": project.follow_fedora_branching,
    }
