"""Names the client's settings and its ``copr-sign-gpg`` share, without the settings model
(``copr-sign-gpg`` starts once per signed package: it does not import pydantic).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CLIENT_ENV_PREFIX", "DEFAULT_CLIENT_SETTINGS_FILE"]

CLIENT_ENV_PREFIX = "COPR_SIGN_"
DEFAULT_CLIENT_SETTINGS_FILE = Path("/etc/copr/sign.toml")
