"""Which builders a build chroot may run on: its builder tags.

The backend leases a builder whose tags include all of a task's (a resalloc ticket asks
for them, an ssh host must have them), so tags are how a build gets a bigger machine:
Copr's ``on_demand_powerful``.  A task's tags come, in this order and without repeats,
from its mock chroot (an admin's ``copr-frontend alter-chroot --tag``), its project's
chroot and its package (``copr-frontend builder-tags``), and from what the build asks
for: the ``builder_resource_tags`` rules match a build's ``memory_reqs`` and ``timeout``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from copr_frontend.builds.models import BuildChroot
from copr_frontend.packages.models import Package
from copr_frontend.projects.logic import get_project, project_chroot
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.settings import ResourceTagRule


def resource_tags(
    rules: Sequence[ResourceTagRule], memory_reqs: int | None, timeout: int | None
) -> list[str]:
    """The tags of the rules a build asking for ``memory_reqs`` MiB and ``timeout`` s matches."""
    return _unique(tag for rule in rules if rule.matches(memory_reqs, timeout) for tag in rule.tags)


def builder_tags(chroot: BuildChroot, rules: Sequence[ResourceTagRule]) -> list[str]:
    """Every builder tag the task of ``chroot`` asks for."""
    build = chroot.build
    copr_chroot = project_chroot(build.project, chroot.name)
    return combined_tags(
        chroot.mock_chroot.tags,
        copr_chroot.builder_tags if copr_chroot is not None else None,
        build.package.builder_tags if build.package is not None else None,
        rules,
        build.memory_reqs,
        build.timeout,
    )


def combined_tags(
    mock_chroot_tags: Iterable[str] | None,
    project_chroot_tags: Iterable[str] | None,
    package_tags: Iterable[str] | None,
    rules: Sequence[ResourceTagRule],
    memory_reqs: int | None,
    timeout: int | None,
) -> list[str]:
    """A task's tags from what its sources give (None: nothing), in this order."""
    return _unique(
        [
            *(mock_chroot_tags or []),
            *(project_chroot_tags or []),
            *(package_tags or []),
            *resource_tags(rules, memory_reqs, timeout),
        ]
    )


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


# A tag travels to resalloc and into ssh host matching: a plain word.
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")


def checked_tags(tags: Iterable[str]) -> list[str]:
    """``tags`` without repeats; ValueError naming the first that is not a plain word."""
    for tag in tags:
        if not _TAG.match(tag):
            raise ValueError(
                f"builder tag {tag!r} is not a word of letters, digits, '_', '.' and '-' "
                "(at most 50, starting with a letter or digit)"
            )
    return _unique(tags)


def set_builder_tags(
    session: Session,
    ownername: str,
    projectname: str,
    tags: Iterable[str],
    *,
    chroot: str | None = None,
    package: str | None = None,
) -> list[str]:
    """Give the project's ``chroot`` or ``package`` (exactly one) these builder tags."""
    if (chroot is None) == (package is None):
        raise ValueError("name a chroot or a package of the project (one of them)")
    project = get_project(session, ownername, projectname)
    if project is None:
        raise ValueError(f"project {ownername}/{projectname} does not exist")
    wanted = checked_tags(tags)
    target: ProjectChroot | Package | None
    if chroot is not None:
        target = project_chroot(project, chroot)
        if target is None:
            enabled = ", ".join(sorted(c.name for c in project.chroots if not c.deleted))
            raise ValueError(
                f"project {project.full_name} has no chroot {chroot} (it has: {enabled or 'none'})"
            )
    else:
        target = next((p for p in project.packages if p.name == package), None)
        if target is None:
            raise ValueError(f"project {project.full_name} has no package {package}")
    target.builder_tags = wanted
    return wanted
