"""``/api_3/user/settings``: the caller's e-mail address and their opt-in to e-mail when
a build they submitted ends.  Not in python-copr 2.7.
"""

from __future__ import annotations

from typing import Any

from copr.v3.proxies import BaseProxy
from copr.v3.requests import PUT


class UserProxy(BaseProxy):
    """The authenticated user's own settings."""

    def get_settings(self) -> Any:
        """``name``, ``mail`` and ``email_notifications``."""
        return self._call("/user/settings", authenticate=True)

    def edit_settings(
        self, mail: str | None = None, email_notifications: bool | None = None
    ) -> Any:
        """Change the address (``""``: none) and the opt-in; None leaves one as it is.
        The mail is sent where the build's project sends it (its ``email_notifications``).
        """
        data = {"mail": mail, "email_notifications": email_notifications}
        return self._call("/user/settings/edit", PUT, data=data, authenticate=True)
