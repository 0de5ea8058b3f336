"""Input values checked and converted: the one set of coercers of the frontend.

Values come as text (query strings, form fields) or as JSON values (bodies); every
coercer accepts both, returns the typed value (None for an absent one unless it is
required) and raises :class:`InvalidInput` naming the field otherwise.  InvalidInput is
a 400 of the API layer, so a view, a logic function or a source parser may call these
alike: the client gets ``{"error": "Field 'x' must be ..."}``, a form shows the message
next to its field, and nothing is stored (the request's transaction is not committed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, overload

from copr_common.enums import StatusEnum
from copr_frontend.api.errors import BadRequest

MAX_INT = 2**31 - 1
"""The largest value an integer column holds."""

MAX_TEXT = 100_000
"""The longest text a field takes unless it says otherwise."""

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


class InvalidInput(BadRequest):
    """A value the caller sent that cannot be used (400); the message names the field."""


def _absent(value: Any) -> bool:
    return value is None or value == ""


@overload
def to_int(
    value: Any,
    name: str,
    *,
    required: Literal[True],
    minimum: int | None = None,
    maximum: int | None = None,
    limit: int = MAX_INT,
) -> int: ...


@overload
def to_int(
    value: Any,
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    limit: int = MAX_INT,
) -> int | None: ...


def to_int(
    value: Any,
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    limit: int = MAX_INT,
) -> int | None:
    """An integer (``5`` or ``"5"``; never a boolean); its magnitude at most ``limit``,
    the size of an integer column unless a caller holds larger ones.
    """
    if _absent(value):
        if required:
            raise InvalidInput(f"Missing required parameter {name!r}")
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InvalidInput(f"Field {name!r} must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"Field {name!r} must be an integer, got {value!r}") from None
    if not -limit <= number <= limit:
        raise InvalidInput(f"Field {name!r} is out of range: {number}")
    if minimum is not None and number < minimum:
        raise InvalidInput(f"Field {name!r} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InvalidInput(f"Field {name!r} must be at most {maximum}, got {number}")
    return number


def to_timestamp(value: Any, name: str) -> int | None:
    """A Unix time in whole seconds; builders may send fractions, which are dropped."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"Field {name!r} must be a Unix time, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Field {name!r} must be a Unix time, got {value!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= 2**62:
        raise InvalidInput(f"Field {name!r} must be a Unix time, got {value!r}")
    return int(seconds)


def to_bool(value: Any, name: str) -> bool | None:
    """A boolean: JSON true/false, 0/1, or text such as ``yes``, ``off``, ``true``."""
    if _absent(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"Field {name!r} must be a boolean, got {value!r}")


def to_text(value: Any, name: str, *, max_length: int = MAX_TEXT) -> str | None:
    """Text as given (a number is taken as its text); no NUL, at most ``max_length``."""
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidInput(f"Field {name!r} must be text")
    text = str(value)
    if len(text) > max_length:
        raise InvalidInput(f"Field {name!r} is too long (at most {max_length} characters)")
    if "\x00" in text:
        raise InvalidInput(f"Field {name!r} must not contain NUL characters")
    return text


def text_field(data: Mapping[str, Any], *names: str, required: bool = False) -> str:
    """The first of ``names`` given in ``data`` (copr-cli and python-copr name some fields
    differently), stripped; "" when none is given.
    """
    for name in names:
        text = to_text(data.get(name), name)
        if text is not None and text.strip():
            return text.strip()
    if required:
        raise InvalidInput(f"Missing required field {names[0]!r}")
    return ""


def to_list(value: Any, name: str) -> list[str] | None:
    """A list of strings: a JSON list, or text split on whitespace (and commas)."""
    if value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"Field {name!r} must not contain NUL characters")
        return value.replace(",", " ").split()
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise InvalidInput(f"Field {name!r} must be a list of strings")
            text = str(item).strip()
            if "\x00" in text:
                raise InvalidInput(f"Field {name!r} must not contain NUL characters")
            if text:
                items.append(text)
        return items
    raise InvalidInput(f"Field {name!r} must be a list of strings")


def to_choice(value: Any, name: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices``, by its exact name."""
    if _absent(value):
        return None
    text = str(value)
    if text not in choices:
        raise InvalidInput(f"Field {name!r} must be one of {', '.join(choices)}; got {text!r}")
    return text


def to_status(value: Any) -> StatusEnum | None:
    """A build state by its label (``succeeded``, ``failed``, ...)."""
    if _absent(value):
        return None
    try:
        return StatusEnum.from_label(str(value))
    except ValueError as error:
        raise InvalidInput(str(error)) from None
