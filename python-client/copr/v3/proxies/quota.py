"""``/api_3/quota``: an owner's storage usage and limit.  Not in python-copr 2.7: Copr
has no storage quotas.
"""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy


class QuotaProxy(BaseProxy):
    """Storage quotas (public)."""

    def get(self, ownername: str) -> Any:
        """``usage`` and ``limit`` in bytes (``limit`` None: no limit), ``limit_source``
        (``default`` or ``owner``: an admin's override), ``exceeded`` (new builds are
        refused), and ``projects``: each one's ``name`` and ``usage``.
        """
        return self._call("/quota/{ownername}", params={"ownername": ownername})
