"""Package options (``timeout``, ``webhook_rebuild``, ``max_builds``, ``chroot_denylist``)
as API v3 ``/package/add|edit`` and the web UI's package forms both read them.
"""

from __future__ import annotations

from typing import Any

from copr_frontend.builds.options import MIN_TIMEOUT
from copr_frontend.validation import to_bool, to_int, to_list


def parse_package_options(data: dict[str, Any], *, timeout_max: int) -> dict[str, Any]:
    """The options of an API body or a form (``None`` for those not given), checked as the
    API checks them: a wrong value raises ``BadRequest`` naming its field.
    """
    return {
        "timeout": to_int(data.get("timeout"), "timeout", minimum=MIN_TIMEOUT, maximum=timeout_max),
        "webhook_rebuild": to_bool(data.get("webhook_rebuild"), "webhook_rebuild"),
        "max_builds": to_int(data.get("max_builds"), "max_builds", minimum=0, maximum=1000),
        "chroot_denylist": to_list(data.get("chroot_denylist"), "chroot_denylist"),
    }
