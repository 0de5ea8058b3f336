"""A spec's npm sources, packed from the local npm cache into rpmbuild's SOURCES.

The frontend's spec lists the web UI's front-end packages as ``SourceN`` URLs of the npm
registry (``https://registry.npmjs.org/<name>/-/<name>-<version>.tgz``).  ``make setup``
has already installed them (``npm ci`` from ``frontend/package-lock.json``), so npm's
cache holds the very tarballs; ``npm pack --offline`` writes them out byte for byte, its
integrity check included.  Building a source RPM thus needs no network.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

__all__ = ["NpmSourceError", "npm_sources", "pack_npm_sources"]

# registry.npmjs.org/<name>/-/<basename>-<version>.tgz; a scoped name keeps its "@scope/".
_REGISTRY_URL = re.compile(
    r"https://registry\.npmjs\.org/(?P<name>(?:@[^/]+/)?[^/]+)/-/[^/]+-(?P<version>[^/]+)\.tgz"
)


class NpmSourceError(RuntimeError):
    """An npm source that cannot be packed from the cache."""


def npm_sources(spec: Path) -> list[tuple[str, str, str]]:
    """``(name, version, file name)`` of each npm-registry ``SourceN`` of ``spec``."""
    parsed = subprocess.run(
        ["rpmspec", "-P", str(spec)], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in parsed.splitlines():
        key, _, value = line.partition(":")
        if not re.fullmatch(r"Source\d+", key.strip()):
            continue
        match = _REGISTRY_URL.fullmatch(value.strip())
        if match:
            found.append((match["name"], match["version"], value.strip().rsplit("/", 1)[1]))
    return found


def pack_npm_sources(spec: Path, sourcedir: Path) -> list[Path]:
    """Write the npm sources of ``spec`` into ``sourcedir``; the files written."""
    written = []
    for name, version, filename in npm_sources(spec):
        target = sourcedir / filename
        if target.is_file():
            written.append(target)
            continue
        result = subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--offline", "--silent",
             "--pack-destination", str(sourcedir)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not target.is_file():
            raise NpmSourceError(
                f"{name}@{version} is not in npm's cache (run `make setup`, which runs "
                f"npm ci in frontend/): {result.stderr.strip() or result.stdout.strip()}"
            )
        written.append(target)
    return written
