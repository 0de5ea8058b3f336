"""Forms of the web UI: the fields are the API v3 field names, and the rules are the API's.

A page's POST handler turns the submitted form into the same dict an API client sends and
calls the same validation and logic.  What the API would have answered with a 400 (or a
403/404/409 about an input) becomes a :class:`FormErrors`: each message goes next to the
field it names (``Field 'name' ...``, or ``name: ...`` when the API lists every
problem, shown without the ``name:``), the rest above the form, and the template refills
every field from :attr:`FormErrors.values`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import flask
from werkzeug.datastructures import MultiDict

from copr_frontend import db
from copr_frontend.api.errors import ApiError

# The API's messages name the field they are about in one of these ways.
_FIELD_PATTERNS = (
    re.compile(r"^(?:Field|Parameter|field|parameter) '([A-Za-z_]+)'"),
    re.compile(r"^Missing(?: required)? (?:field|parameter) '([A-Za-z_]+)'"),
    re.compile(r"^Missing or empty parameter '([A-Za-z_]+)'"),
)


# ... or, when the API lists every problem (``api.form.FieldErrors``), as ``<field>: ...``.
_LISTED_FIELD = re.compile(r"^([a-z_]+): ")


@dataclass
class FormErrors:
    """What is wrong with a submitted form, by field; ``general`` has the rest."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, message: str, known_fields: Iterable[str] = ()) -> None:
        known = set(known_fields)
        for line in message.splitlines() or [message]:
            name = field_of(line)
            listed = _LISTED_FIELD.match(line)
            if name is None and listed and listed.group(1) in known:
                # "<field>: " alone could be any text: only a field of this form counts.
                # Under its field's label the name would be said twice: it goes.
                name = listed.group(1)
                line = line[listed.end() :]
            if name is not None and (not known or name in known):
                self.fields.setdefault(name, []).append(line)
            elif line.strip():
                self.general.append(line)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def field_of(message: str) -> str | None:
    for pattern in _FIELD_PATTERNS:
        match = pattern.match(message.strip())
        if match:
            return match.group(1)
    return None


def form_data(form: MultiDict[str, str], lists: Iterable[str] = ()) -> dict[str, Any]:
    """The submitted form as an API request body: ``lists`` (checkbox groups such as
    ``chroots``) as lists, other fields as text (an emptied field is sent empty, so that
    an edit can clear it).
    """
    data: dict[str, Any] = {}
    multi = set(lists)
    for key in form:
        if key == "csrf_token":
            continue
        if key in multi:
            data[key] = [v for v in form.getlist(key) if v]
        else:
            data[key] = form.get(key, "").replace("\r\n", "\n")
    return data


@contextmanager
def collecting(errors: FormErrors, known_fields: Iterable[str] = ()) -> Iterator[None]:
    """Turn an API error raised inside the block into form errors; the transaction is
    rolled back, so nothing of a refused form is stored.
    """
    try:
        yield
    except ApiError as error:
        db.session().rollback()
        errors.add(error.message, known_fields)


def render_form(
    template: str, errors: FormErrors, status: int | None = None, **context: Any
) -> Any:
    """The form page again with its errors; 400 when something was wrong."""
    code = status if status is not None else (400 if errors else 200)
    values = flask.request.form if flask.request.method == "POST" else MultiDict()
    return flask.render_template(template, errors=errors, values=values, **context), code
