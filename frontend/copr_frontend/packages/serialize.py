"""The JSON of a package as API v3 answers it (with its latest builds when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copr_frontend import db
from copr_frontend.builds.models import Build
from copr_frontend.builds.serialize import BUILD_JSON_LOADS, build_to_json
from copr_frontend.builds.sources import source_dict_for_api
from copr_frontend.context import settings
from copr_frontend.packages import logic
from copr_frontend.packages.links import spec_url
from copr_frontend.packages.models import Package


def package_to_json(
    package: Package, with_latest: bool = False, with_latest_succeeded: bool = False
) -> dict[str, Any]:
    return packages_to_json([package], with_latest, with_latest_succeeded)[0]


def packages_to_json(
    packages: Sequence[Package], with_latest: bool = False, with_latest_succeeded: bool = False
) -> list[dict[str, Any]]:
    """The JSON of ``packages``, their latest builds found in one query for all of them."""
    session = db.session()
    latest = logic.latest_builds(session, packages, options=BUILD_JSON_LOADS) if with_latest else {}
    succeeded = (
        logic.latest_builds(session, packages, succeeded=True, options=BUILD_JSON_LOADS)
        if with_latest_succeeded
        else {}
    )
    return [_package_json(p, latest.get(p.id), succeeded.get(p.id)) for p in packages]


def _package_json(
    package: Package, latest: Build | None, succeeded: Build | None
) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "projectname": package.project.name,
        "ownername": package.project.ownername,
        "source_type": package.source_type.label,
        "source_dict": source_dict_for_api(package.source_json),
        "auto_rebuild": package.webhook_rebuild,
        "max_builds": package.max_builds,
        "chroot_denylist": list(package.chroot_denylist),
        "timeout": package.timeout,
        "upstream_url": package.upstream_url,
        "spec_url": spec_url(package, settings().dist_git_url),
        "builds": {
            "latest": build_to_json(latest) if latest else None,
            "latest_succeeded": build_to_json(succeeded) if succeeded else None,
        },
    }
