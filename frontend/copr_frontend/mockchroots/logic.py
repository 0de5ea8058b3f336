"""Mock chroot management: add, alter, deactivate, list, seed defaults.  Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.chroots import ChrootName, ChrootNameError
from copr_frontend.mockchroots.models import MockChroot

# The default set `seed-chroots` adds; change it with its options as releases move on.
DEFAULT_FEDORA_RELEASES = ("42", "43")
DEFAULT_FEDORA_ARCHES = ("x86_64", "aarch64")
DEFAULT_EL_DISTROS = ("epel-9", "epel-10", "centos-stream-9", "centos-stream-10")
DEFAULT_EL_ARCHES = ("x86_64", "aarch64")


class MockChrootError(ValueError):
    """A chroot operation that cannot be done; the message says why."""


def default_distgit_branch(chroot: ChrootName) -> str:
    """``f41``, ``rawhide``, ``epel9``, ``c9s`` ... the branch dist-git imports into."""
    if chroot.os == "fedora":
        return "rawhide" if chroot.version == "rawhide" else f"f{chroot.version}"
    if chroot.os == "epel":
        return f"epel{chroot.version}"
    if chroot.os == "centos-stream":
        return f"c{chroot.version}s"
    return chroot.distro


def parse_name(name: str) -> ChrootName:
    try:
        return ChrootName.parse(name)
    except ChrootNameError as error:
        raise MockChrootError(str(error)) from None


def get_chroot(session: Session, name: str) -> MockChroot | None:
    return session.scalar(select(MockChroot).where(MockChroot.name == name))


def get_chroot_or_error(session: Session, name: str) -> MockChroot:
    chroot = get_chroot(session, name)
    if chroot is None:
        raise MockChrootError(f"chroot {name!r} does not exist")
    return chroot


def list_chroots(session: Session, *, active_only: bool = False) -> Sequence[MockChroot]:
    query = select(MockChroot).order_by(MockChroot.name)
    if active_only:
        query = query.where(MockChroot.is_active.is_(True))
    return session.scalars(query).all()


def create_chroot(
    session: Session,
    name: str,
    *,
    distgit_branch: str | None = None,
    comment: str = "",
    active: bool = True,
    tags: Iterable[str] = (),
) -> MockChroot:
    parsed = parse_name(name)
    if get_chroot(session, parsed.name) is not None:
        raise MockChrootError(f"chroot {parsed.name} already exists")
    chroot = MockChroot(
        name=parsed.name,
        os_release=parsed.os,
        os_version=parsed.version,
        arch=parsed.arch,
        is_active=active,
        distgit_branch=distgit_branch or default_distgit_branch(parsed),
        comment=comment,
        tags=list(tags),
    )
    session.add(chroot)
    session.flush()
    return chroot


def alter_chroot(
    session: Session,
    name: str,
    *,
    active: bool | None = None,
    distgit_branch: str | None = None,
    comment: str | None = None,
    tags: Iterable[str] | None = None,
) -> MockChroot:
    chroot = get_chroot_or_error(session, name)
    if active is not None:
        chroot.is_active = active
    if distgit_branch is not None:
        if not distgit_branch.strip():
            raise MockChrootError("the dist-git branch cannot be empty")
        chroot.distgit_branch = distgit_branch
    if comment is not None:
        chroot.comment = comment
    if tags is not None:
        chroot.tags = list(tags)
    session.flush()
    return chroot


def default_chroot_names(
    fedora_releases: Iterable[str] = DEFAULT_FEDORA_RELEASES,
    el_distros: Iterable[str] = DEFAULT_EL_DISTROS,
) -> list[str]:
    names = []
    for version in [*fedora_releases, "rawhide"]:
        names += [f"fedora-{version}-{arch}" for arch in DEFAULT_FEDORA_ARCHES]
    for distro in el_distros:
        names += [f"{distro}-{arch}" for arch in DEFAULT_EL_ARCHES]
    return names


def seed_chroots(session: Session, names: Iterable[str]) -> list[MockChroot]:
    """Create the chroots of ``names`` that do not exist yet; returns the new ones."""
    created = []
    for name in names:
        if get_chroot(session, parse_name(name).name) is None:
            created.append(create_chroot(session, name))
    return created
