"""E-mail addresses as users give them: checked before they are stored, so a mail is
never composed for an address no SMTP server could take.

Deliberately narrower than RFC 5322: ``local@domain`` with no spaces, quotes, angle
brackets or control characters, and a domain of dot-separated labels.  Display names
(``Alice <a@b>``) are not addresses here: the submitter's address goes into ``To:`` as
it is.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 200
"""The longest address stored (``users.mail``)."""

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class AddressError(ValueError):
    """Not an e-mail address this service sends to; the message says why."""


def check_address(text: str) -> str:
    """``text`` without surrounding blanks, if it is an address (else AddressError)."""
    address = text.strip()
    if not address or len(address) > MAX_ADDRESS:
        raise AddressError(f"an e-mail address has 1 to {MAX_ADDRESS} characters")
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or not _LOCAL.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
    ):
        raise AddressError(f"{address!r} is not an e-mail address (name@example.org)")
    return address
