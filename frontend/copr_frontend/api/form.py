"""Every problem of a request's fields in one answer, as Copr's API forms give them.

Copr answers a bad form with one ``<field>: <message>`` line per problem, and its clients
show each line (copr-cli prints them as ``- <field>: <message>``), so a user fixes all of
them at once rather than one per try::

    errors = FieldErrors()
    with errors.field("name"):
        name = to_text(data.get("name"), "name")
    with errors.field("chroots"):
        chroots = resolve(...)
    errors.check()   # raises one ApiError listing both, if both failed
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from copr_frontend.api.errors import ApiError


class FieldErrors:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str, int]] = []

    def add(self, name: str, message: str, code: int = 400) -> None:
        # The converters name the field themselves ("Field 'x' must be ..."); the line
        # names it already.
        prefix = f"Field {name!r} "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        self.problems.append((name, message, code))

    @contextmanager
    def field(self, name: str) -> Iterator[None]:
        """Record an :class:`ApiError` raised inside the block as a problem of ``name``."""
        try:
            yield
        except ApiError as error:
            self.add(name, error.message, error.code)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def check(self) -> None:
        """Raise one error listing every problem, if there is any.

        Its status is the problems' common one (a duplicate name alone stays a 409),
        else 400.
        """
        if not self.problems:
            return
        codes = {code for _name, _message, code in self.problems}
        message = "\n".join(f"{name}: {text}" for name, text, _code in self.problems)
        raise ApiError(message, codes.pop() if len(codes) == 1 else 400)
