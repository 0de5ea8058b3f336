"""Key identities: one signing key per project, named ``<owner>#<project>@copr.<domain>``.

The identity is the e-mail part of the key's user id; owners of group projects keep their
``@`` (``@group#project@copr.example.org``), as Copr does.  It lives here because three
parties name keys the same way: keygen (which checks them), its client and the backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copr_common.names import InvalidNameError, validate_owner, validate_project_name

__all__ = ["InvalidIdentityError", "KeyIdentity", "key_identity"]

_DOMAIN = re.compile(r"^copr\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")
MAX_IDENTITY_LENGTH = 255


class InvalidIdentityError(ValueError):
    """A string that is not ``<owner>#<project>@copr.<domain>``."""


@dataclass(frozen=True)
class KeyIdentity:
    """The parts of one project's key identity."""

    owner: str
    project: str
    domain: str

    @classmethod
    def parse(cls, text: str) -> KeyIdentity:
        """Split and validate ``<owner>#<project>@copr.<domain>``."""
        if not isinstance(text, str) or not text:
            raise InvalidIdentityError(
                "key identity is empty: expected <owner>#<project>@copr.<domain>"
            )
        if len(text) > MAX_IDENTITY_LENGTH:
            raise InvalidIdentityError(
                f"key identity is {len(text)} characters long: at most {MAX_IDENTITY_LENGTH}"
            )
        if not text.isprintable() or any(ch.isspace() for ch in text):
            # Checked here too: a trailing newline slips through a regex ending in ``$``.
            raise InvalidIdentityError(
                f"key identity {text!r} is invalid: no spaces or control characters allowed"
            )
        local, at, domain = text.rpartition("@")
        domain = domain.lower()
        owner, hash_, project = local.partition("#")
        if not at or not hash_:
            raise InvalidIdentityError(
                f"key identity {text!r} is invalid: expected <owner>#<project>@copr.<domain>"
            )
        try:
            validate_owner(owner)
            validate_project_name(project)
        except InvalidNameError as error:
            raise InvalidIdentityError(f"key identity {text!r} is invalid: {error}") from None
        if domain.endswith(".") or not _DOMAIN.match(domain):
            raise InvalidIdentityError(
                f"key identity {text!r} is invalid: the domain must be copr.<domain>, "
                f"got {domain!r}"
            )
        return cls(owner=owner, project=project, domain=domain)

    def __str__(self) -> str:
        return f"{self.owner}#{self.project}@{self.domain}"

    @property
    def default_name_real(self) -> str:
        """The key's real name when the caller gives none: ``<owner>_<project>``."""
        return f"{self.owner}_{self.project}"


def key_identity(owner: str, project: str, domain: str) -> str:
    """The identity of ``owner/project``'s key; ``domain`` is e.g. ``copr.example.org``."""
    return str(KeyIdentity.parse(f"{owner}#{project}@{domain}"))
