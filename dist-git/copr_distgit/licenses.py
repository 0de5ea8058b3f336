"""The licence check of imports: the spec's License tag against the instance's policy.

With ``license_check`` on, the License tag must be an SPDX expression
(``GPL-2.0-or-later AND (MIT OR Apache-2.0)``) of identifiers the SPDX licence list knows
(``license-expression`` carries the list), and every identifier in it must be allowed:
on ``license_allowed`` when that list is given, never on ``license_denied``.  An import
that fails the check fails its build with a message naming the identifiers at fault, and
nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

__all__ = ["LicenseRefused", "check_license", "normalize_identifiers"]


class LicenseRefused(Exception):
    """The License tag breaks the policy; ``str()`` is the message for the build's owner."""


@cache
def _licensing() -> Licensing:
    # Loading the SPDX list takes a moment: once per process.
    return get_spdx_licensing()


def normalize_identifiers(identifiers: Iterable[str]) -> list[str]:
    """The SPDX spelling of each identifier (``mit`` → ``MIT``); ValueError for an unknown."""
    licensing = _licensing()
    normalized = []
    for identifier in identifiers:
        try:
            keys = licensing.license_keys(licensing.parse(identifier, validate=True, strict=True))
        except ExpressionError as error:
            raise ValueError(f"{identifier!r} is not an SPDX licence identifier: {error}") from None
        if len(keys) != 1:
            raise ValueError(f"{identifier!r} is an expression, not one licence identifier")
        normalized.append(str(keys[0]))
    return normalized


def check_license(
    license_tag: str, allowed: Iterable[str] = (), denied: Iterable[str] = ()
) -> list[str]:
    """The identifiers of ``license_tag``; :class:`LicenseRefused` when the policy says no."""
    if not license_tag.strip():
        raise LicenseRefused("the spec has no License tag")
    licensing = _licensing()
    try:
        keys = licensing.license_keys(licensing.parse(license_tag, validate=True, strict=True))
    except (ExpressionError, AttributeError) as error:
        # AttributeError: some malformed expressions trip the parser itself.
        raise LicenseRefused(
            f"License {license_tag!r} is not an SPDX licence expression ({error}); "
            "use SPDX identifiers joined by AND, OR, WITH, e.g. 'MIT AND Apache-2.0'"
        ) from None
    allowed_set, denied_set = set(allowed), set(denied)
    refused = [key for key in keys if key in denied_set]
    if allowed_set:
        refused += [key for key in keys if key not in allowed_set and key not in refused]
    if refused:
        raise LicenseRefused(
            f"License {license_tag!r}: {', '.join(refused)} "
            f"{'is' if len(refused) == 1 else 'are'} not accepted by this Copr instance"
        )
    return [str(key) for key in keys]
