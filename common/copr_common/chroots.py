"""Chroot names: ``<os>-<version>-<arch>``, e.g. ``fedora-41-x86_64``.

The arch is the last dash-separated part and the version the one before it; whatever is
left is the OS name, which may itself hold dashes (``centos-stream-9-x86_64``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

_OS = re.compile(r"[a-z][a-z0-9+._-]*")
_VERSION = re.compile(r"[a-z0-9][a-z0-9._]*")
_ARCH = re.compile(r"[a-z0-9][a-z0-9_]*")

# OS name → the dist tag prefix rpm puts in release strings on that distribution.
_DIST_PREFIXES = {
    "fedora": "fc",
    "epel": "el",
    "centos-stream": "el",
    "rhel": "el",
    "almalinux": "el",
    "rocky": "el",
    "oraclelinux": "el",
    "mageia": "mga",
}


class ChrootNameError(ValueError):
    """A chroot name that does not have the ``<os>-<version>-<arch>`` form."""


@dataclass(frozen=True, order=True)
class ChrootName:
    """A parsed chroot name: OS, version and arch."""

    os: str
    version: str
    arch: str

    @classmethod
    def parse(cls, name: str) -> ChrootName:
        parts = name.rsplit("-", 2)
        if len(parts) != 3 or not all(parts):
            raise ChrootNameError(
                f"chroot {name!r} is not of the form <os>-<version>-<arch> (e.g. fedora-41-x86_64)"
            )
        os_name, version, arch = parts
        for what, value, pattern in (
            ("OS name", os_name, _OS),
            ("version", version, _VERSION),
            ("arch", arch, _ARCH),
        ):
            if not pattern.fullmatch(value):
                raise ChrootNameError(
                    f"chroot {name!r} has an invalid {what} {value!r}: use lower-case "
                    "letters, digits, '.', '_'" + (", '+' or '-'" if what == "OS name" else "")
                )
        return cls(os_name, version, arch)

    def __str__(self) -> str:
        return f"{self.os}-{self.version}-{self.arch}"

    @property
    def name(self) -> str:
        return str(self)

    @property
    def distro(self) -> str:
        """``<os>-<version>``: the part dnf copr's repo URL and dist-git branches key on."""
        return f"{self.os}-{self.version}"

    def dist_tag(self, rawhide_version: int | None = None) -> str:
        """The ``%dist`` value for this chroot (``.fc41``, ``.el9``), or "" if unknown.

        Rawhide has no number in its name, so the caller says which release it is.
        """
        prefix = _DIST_PREFIXES.get(self.os)
        if prefix is None:
            return ""
        version = self.version
        if version == "rawhide":
            if rawhide_version is None:
                return ""
            version = str(rawhide_version)
        major = version.split(".", 1)[0]
        if not major.isdigit():
            return ""
        return f".{prefix}{major}"


def parse_chroot(name: str) -> ChrootName:
    return ChrootName.parse(name)


def is_valid_chroot(name: str) -> bool:
    try:
        ChrootName.parse(name)
    except ChrootNameError:
        return False
    return True


def match_chroots(patterns: Iterable[str], available: Iterable[str]) -> list[str]:
    """The names in ``available`` that any shell-style pattern matches, in their order.

    A pattern without wildcards that matches nothing is an error: the user named a chroot
    that does not exist, and silently building for fewer chroots would hide it.
    """
    names = list(available)
    chosen: set[str] = set()
    for pattern in patterns:
        hits = fnmatch.filter(names, pattern)
        if not hits and not any(c in pattern for c in "*?["):
            raise ChrootNameError(f"chroot {pattern!r} does not exist or is not enabled")
        chosen.update(hits)
    return [name for name in names if name in chosen]
