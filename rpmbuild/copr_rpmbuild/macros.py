"""The macros Copr defines for every build, in both phases.

``%copr_username`` and ``%copr_projectname`` (a spec may branch on them, even in its
preamble, so the source phase needs them too), ``%buildtag`` ``.copr<build_id>``,
``%vendor`` (by default Copr's ``Copr - user <owner>`` / ``Copr - group @<group>``) and
``%packager``.
"""

from __future__ import annotations

from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.task import BuildTask, SrpmTask


def copr_macros(settings: RpmbuildSettings, task: BuildTask | SrpmTask) -> dict[str, str]:
    owner = task.project_owner
    values = {
        "owner": owner,
        "owner_kind": "group" if owner.startswith("@") else "user",
        "project": task.project_name,
        "submitter": task.submitter or owner,
    }
    return {
        "buildtag": f".copr{task.build_id}",
        "vendor": settings.vendor.format(**values),
        "packager": settings.packager.format(**values),
        "copr_username": owner,
        "copr_projectname": task.project_name,
    }
