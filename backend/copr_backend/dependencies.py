"""What a build chroot's packages provide and require, for the frontend's rebuilds of
dependents: the binary RPMs' Provides and file paths, and the SRPM's Requires (which,
in a source package, are its BuildRequires).  Read with the ``rpm`` command.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from copr_common.backend_api import DEPENDENCY_MAX_ITEM_LENGTH, DEPENDENCY_MAX_ITEMS

log = logging.getLogger(__name__)

RPM_TIMEOUT = 120


def _query(packages: list[Path], *options: str) -> set[str] | None:
    if not packages:
        return set()
    try:
        result = subprocess.run(
            ["rpm", "-qp", "--nosignature", "--nodigest", *options, *map(str, packages)],
            capture_output=True,
            text=True,
            timeout=RPM_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("cannot query %s: %s", packages, error)
        return None
    if result.returncode != 0:
        log.warning("rpm %s failed: %s", " ".join(options), result.stderr.strip())
        return None
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def _bounded(items: set[str]) -> list[str]:
    """What the frontend takes: longer items and the rest past the limit are dropped."""
    kept = sorted(
        i for i in items if len(i) <= DEPENDENCY_MAX_ITEM_LENGTH and i != "(contains no files)"
    )
    return kept[:DEPENDENCY_MAX_ITEMS]


def read_dependencies(destination: Path) -> dict[str, list[str]]:
    """``{"provides": [...], "requires": [...]}`` of the packages in ``destination``;
    empty when ``rpm`` could not read them (the frontend then keeps what it had).
    """
    srpms = sorted(destination.glob("*.src.rpm"))
    rpms = sorted(p for p in destination.glob("*.rpm") if p not in srpms)
    provides = _query(rpms, "--provides")
    files = _query(rpms, "--list")
    requires = _query(srpms, "--requires")
    if provides is None or files is None or requires is None or not rpms:
        return {}
    # rpmlib(...) names features of rpm itself, not a package to build against.
    requires = {r for r in requires if not r.startswith("rpmlib(")}
    return {"provides": _bounded(provides | files), "requires": _bounded(requires)}
