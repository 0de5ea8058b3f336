"""Packages of a project: add, edit, reset, delete, copy into a fork.  Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.names import InvalidNameError, validate_package_name
from copr_frontend.builds.models import Build
from copr_frontend.builds.removal import delete_build
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project

OPTION_FIELDS = ("webhook_rebuild", "max_builds", "chroot_denylist", "timeout")


class PackageError(ValueError):
    """A package operation that cannot be done; the message says why."""


class DuplicatePackageError(PackageError):
    """The project already has a package of that name."""


def get_package(session: Session, project: Project, name: str) -> Package | None:
    return session.scalar(
        select(Package).where(Package.project_id == project.id, Package.name == name)
    )


def add_package(
    session: Session,
    project: Project,
    name: str,
    source_type: BuildSourceEnum,
    source_json: dict[str, Any],
    **options: Any,
) -> Package:
    try:
        validate_package_name(name)
    except InvalidNameError as error:
        raise PackageError(str(error)) from None
    if len(name) > 200:
        raise PackageError(f"package name {name!r} is too long (at most 200 characters)")
    if get_package(session, project, name) is not None:
        raise DuplicatePackageError(f"Package {name} already exists in {project.full_name}.")
    package = Package(project=project, name=name, source_type=source_type, source_json=source_json)
    set_options(package, **options)
    session.add(package)
    session.flush()
    return package


def set_options(package: Package, **options: Any) -> None:
    for key, value in options.items():
        if key not in OPTION_FIELDS:
            raise PackageError(f"unknown package option {key!r}")
        if value is not None:
            setattr(package, key, value)


def reset_package(package: Package) -> None:
    """Forget the package's source: it must be given again before the next build."""
    package.source_type = BuildSourceEnum.unset
    package.source_json = {}


def latest_builds(
    session: Session,
    packages: Sequence[Package],
    *,
    succeeded: bool = False,
    options: Sequence[LoaderOption] = (),
) -> dict[int, Build]:
    """The newest build (the newest succeeded one) of each of ``packages`` by package id,
    in one query for all of them; ``options`` load what the caller reads of each build.
    """
    if not packages:
        return {}
    newest = (
        select(func.max(Build.id))
        .where(Build.package_id.in_([p.id for p in packages]))
        .group_by(Build.package_id)
    )
    if succeeded:
        newest = newest.where(Build.state == StatusEnum.succeeded)
    builds = session.scalars(select(Build).where(Build.id.in_(newest)).options(*options))
    return {build.package_id: build for build in builds if build.package_id is not None}


def delete_package(session: Session, package: Package) -> None:
    """Delete the package and its builds (whose results the backend removes)."""
    builds = list(session.scalars(select(Build).where(Build.package_id == package.id)))
    running = [b.id for b in builds if not b.state.is_finished]
    if running:
        raise PackageError(
            f"Package {package.name} has builds in progress ({', '.join(map(str, running))}): "
            "cancel them or wait until they finish"
        )
    for build in builds:
        delete_build(session, build)
    session.delete(package)
    session.flush()


def copy_package(
    session: Session, package: Package, target: Project, existing: Package | None
) -> Package:
    """``package`` of another project as a package of ``target`` (updating ``existing``)."""
    copy = existing or Package(project=target, name=package.name)
    copy.source_type = package.source_type
    copy.source_json = dict(package.source_json)
    copy.webhook_rebuild = package.webhook_rebuild
    copy.max_builds = package.max_builds
    copy.chroot_denylist = list(package.chroot_denylist)
    copy.timeout = package.timeout
    if existing is None:
        session.add(copy)
    return copy


# --- pages of the web UI: fixed numbers of queries -----------------------------------------


def list_packages_with_latest(
    session: Session, project: Project
) -> list[tuple[Package, Build | None]]:
    """The project's packages with each one's latest build: three queries in all."""
    packages = list(
        session.scalars(
            select(Package).where(Package.project_id == project.id).order_by(Package.name)
        )
    )
    if not packages:
        return []
    latest_ids = session.scalars(
        select(func.max(Build.id))
        .where(Build.package_id.in_([p.id for p in packages]))
        .group_by(Build.package_id)
    ).all()
    builds = {
        b.package_id: b
        for b in session.scalars(
            select(Build).where(Build.id.in_(latest_ids)).options(selectinload(Build.chroots))
        )
    }
    return [(p, builds.get(p.id)) for p in packages]
