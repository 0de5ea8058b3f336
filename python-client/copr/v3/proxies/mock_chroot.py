"""``/api_3/mock-chroots``: the chroots this Copr can build for."""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy


class MockChrootProxy(BaseProxy):
    """Available chroots."""

    def get_list(self, pagination: dict[str, Any] | None = None) -> Any:
        """``{chroot_name: comment}`` of every active chroot (the listing is not paged)."""
        del pagination
        return self._call("/mock-chroots/list")
