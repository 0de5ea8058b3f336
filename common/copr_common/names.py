"""Names of owners, projects, project dirs and result directories.

The results tree is ``results/<owner>/<dirname>/<chroot>/<build_id:08d>-<package>/`` and
``results/<owner>/<dirname>/srpm-builds/<build_id:08d>/``; a project's dirs are the project
name itself, ``<project>:pr:<n>`` for pull requests and ``<project>:custom:<suffix>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from copr_common.chroots import ChrootName

SRPM_BUILDS_DIR = "srpm-builds"

_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PROJECT = re.compile(r"[A-Za-z0-9_.+-]+")
_SUFFIX = re.compile(r"[A-Za-z0-9_.-]+")
_PACKAGE = re.compile(r"[A-Za-z0-9_.+-]+")
_BUILD_DIR = re.compile(r"(\d{8,})-(.+)")


class InvalidNameError(ValueError):
    """A name that cannot be used for an owner, project, dir or package."""


def validate_owner(owner: str) -> str:
    """A user name, or ``@group`` for a group-owned project."""
    plain = owner[1:] if owner.startswith("@") else owner
    if not _USER.fullmatch(plain):
        raise InvalidNameError(
            f"owner {owner!r} is invalid: use a user name or @group made of letters, digits, "
            "'_', '.', '-'"
        )
    return owner


def validate_project_name(name: str) -> str:
    if not name or not _PROJECT.fullmatch(name):
        raise InvalidNameError(
            f"project name {name!r} is invalid: use letters, digits, '_', '.', '+', '-'"
        )
    if name in {".", ".."}:
        raise InvalidNameError(f"project name {name!r} is reserved")
    if name.isdigit():
        raise InvalidNameError(f"project name {name!r} is invalid: it cannot be just a number")
    return name


MAX_PACKAGE_NAME_LENGTH = 100
"""Copr's limit: longer names do not fit its build directories and database columns."""


def validate_package_name(name: str) -> str:
    if not name or not _PACKAGE.fullmatch(name) or name in {".", ".."}:
        raise InvalidNameError(
            f"package name {name!r} is invalid: use letters, digits, '_', '.', '+', '-'"
        )
    return name


@dataclass(frozen=True)
class ProjectDirName:
    """A project's dir: ``project``, ``project:pr:<n>`` or ``project:custom:<suffix>``."""

    project: str
    kind: str = "main"  # "main" | "pr" | "custom"
    suffix: str = ""

    @classmethod
    def parse(cls, dirname: str) -> ProjectDirName:
        project, sep, rest = dirname.partition(":")
        validate_project_name(project)
        if not sep:
            return cls(project)
        kind, sep, suffix = rest.partition(":")
        if not sep or not suffix:
            raise InvalidNameError(
                f"project dir {dirname!r} is invalid: expected <project>:pr:<number> "
                "or <project>:custom:<suffix>"
            )
        if kind == "pr":
            if not suffix.isdigit():
                raise InvalidNameError(
                    f"project dir {dirname!r} is invalid: a pull-request dir ends with a number"
                )
            return cls(project, "pr", str(int(suffix)))
        if kind == "custom":
            if not _SUFFIX.fullmatch(suffix):
                raise InvalidNameError(
                    f"project dir {dirname!r} is invalid: the custom suffix may use letters, "
                    "digits, '_', '.', '-'"
                )
            return cls(project, "custom", suffix)
        raise InvalidNameError(
            f"project dir {dirname!r} is invalid: the kind must be 'pr' or 'custom', not {kind!r}"
        )

    @classmethod
    def pull_request(cls, project: str, number: int) -> ProjectDirName:
        if number < 0:
            raise InvalidNameError(f"pull-request number {number} is negative")
        return cls(validate_project_name(project), "pr", str(number))

    @classmethod
    def custom(cls, project: str, suffix: str) -> ProjectDirName:
        return cls.parse(f"{project}:custom:{suffix}")

    @property
    def is_main(self) -> bool:
        return self.kind == "main"

    def __str__(self) -> str:
        if self.kind == "main":
            return self.project
        return f"{self.project}:{self.kind}:{self.suffix}"


def build_dir_name(build_id: int, package_name: str) -> str:
    """``<build_id:08d>-<package>``: a build's directory inside a chroot dir."""
    if build_id < 0:
        raise InvalidNameError(f"build id {build_id} is negative")
    validate_package_name(package_name)
    return f"{build_id:08d}-{package_name}"


def parse_build_dir_name(name: str) -> tuple[int, str]:
    """The (build id, package name) of a ``<build_id:08d>-<package>`` directory."""
    match = _BUILD_DIR.fullmatch(name)
    if not match:
        raise InvalidNameError(f"{name!r} is not a build directory name (<08d id>-<package>)")
    return int(match.group(1)), validate_package_name(match.group(2))


def srpm_build_dir(build_id: int) -> str:
    """``srpm-builds/<build_id:08d>``: where a build's source (SRPM) phase puts results."""
    if build_id < 0:
        raise InvalidNameError(f"build id {build_id} is negative")
    return f"{SRPM_BUILDS_DIR}/{build_id:08d}"


def chroot_results_path(owner: str, dirname: str, chroot: str) -> PurePosixPath:
    """``<owner>/<dirname>/<chroot>``, relative to the results root."""
    validate_owner(owner)
    ProjectDirName.parse(dirname)
    ChrootName.parse(chroot)
    return PurePosixPath(owner, dirname, chroot)


def build_results_path(
    owner: str, dirname: str, chroot: str, build_id: int, package_name: str
) -> PurePosixPath:
    """``<owner>/<dirname>/<chroot>/<build_id:08d>-<package>``, relative to the results root."""
    return chroot_results_path(owner, dirname, chroot) / build_dir_name(build_id, package_name)


def srpm_results_path(owner: str, dirname: str, build_id: int) -> PurePosixPath:
    """``<owner>/<dirname>/srpm-builds/<build_id:08d>``, relative to the results root."""
    validate_owner(owner)
    ProjectDirName.parse(dirname)
    return PurePosixPath(owner, dirname, srpm_build_dir(build_id))


RELEASE_PACKAGES_DIR = "copr-release"
"""Where release packages are published: ``<chroot>/copr-release/`` holds the one the
chroot's repodata lists (with its release number), ``<project>/copr-release/<chroot>/``
the same package under the stable name of :func:`release_package_file`."""


def release_package_name(owner: str, project: str) -> str:
    """``copr-<owner>-<project>-release``: the package that enables a project.

    A group's ``@team`` is ``group_team`` in it, as in repo ids.
    """
    owner_part = "group_" + owner[1:] if owner.startswith("@") else owner
    return f"copr-{owner_part}-{project}-release"


def release_package_path(owner: str, project: str, chroot: str) -> PurePosixPath:
    """The chroot's current release package under a name that stays.

    ``<owner>/<project>/copr-release/<chroot>/<name>.noarch.rpm``, relative to the
    results root.
    """
    validate_owner(owner)
    validate_project_name(project)
    ChrootName.parse(chroot)
    name = f"{release_package_name(owner, project)}.noarch.rpm"
    return PurePosixPath(owner, project, RELEASE_PACKAGES_DIR, chroot, name)
