"""The JSON of a package as API v3 answers it (with its latest builds when asked)."""

from __future__ import annotations

from typing import Any

from copr_frontend import db
from copr_frontend.builds.serialize import build_to_json
from copr_frontend.builds.sources import source_dict_for_api
from copr_frontend.packages import logic
from copr_frontend.packages.models import Package


def package_to_json(
    package: Package, with_latest: bool = False, with_latest_succeeded: bool = False
) -> dict[str, Any]:
    session = db.session()
    latest = logic.latest_build(session, package) if with_latest else None
    succeeded = (
        logic.latest_build(session, package, succeeded=True) if with_latest_succeeded else None
    )
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
        "builds": {
            "latest": build_to_json(latest) if latest else None,
            "latest_succeeded": build_to_json(succeeded) if succeeded else None,
        },
    }
