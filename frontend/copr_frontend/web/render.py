"""What templates use to show things: Markdown made safe, times, durations, state badges.

User text (project descriptions and instructions) is Markdown rendered to HTML and then
cleaned by an allow-list sanitizer (nh3): scripts, event handlers, ``javascript:`` links
and the like never reach the page.
"""

from __future__ import annotations

import time

import flask
import markdown as markdown_lib
import nh3
from flask_babel import gettext
from markupsafe import Markup

from copr_common.enums import StatusEnum
from copr_frontend.context import settings
from copr_frontend.packages.links import safe_link, spec_url
from copr_frontend.packages.models import Package

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "*": {"class"}}

# State → Bootstrap badge colours; each pair passes WCAG AA contrast.
_BADGES = {
    StatusEnum.succeeded: "text-bg-success",
    StatusEnum.forked: "text-bg-success",
    StatusEnum.failed: "text-bg-danger",
    StatusEnum.canceled: "text-bg-secondary",
    StatusEnum.skipped: "text-bg-light border",
    StatusEnum.running: "text-bg-primary",
    StatusEnum.starting: "text-bg-info",
    StatusEnum.pending: "text-bg-warning",
    StatusEnum.importing: "text-bg-info",
    StatusEnum.waiting: "text-bg-light border",
    StatusEnum.unknown: "text-bg-dark",
}


def markdown(text: str | None) -> Markup:
    """``text`` as sanitized HTML."""
    if not text:
        return Markup("")
    html = markdown_lib.markdown(text, extensions=["fenced_code", "tables"])
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


def state_label(state: StatusEnum | str) -> str:
    """The translated name of a state (the API keeps the English label)."""
    status = state if isinstance(state, StatusEnum) else StatusEnum.from_label(state)
    return _state_names()[status]


def _state_names() -> dict[StatusEnum, str]:
    # Translated once per request: a page may show a badge per build and chroot, and
    # each gettext() call costs more than the rest of a badge.
    names: dict[StatusEnum, str] | None = flask.g.get("copr_state_names")
    if names is None:
        names = {
            StatusEnum.failed: gettext("failed"),
            StatusEnum.succeeded: gettext("succeeded"),
            StatusEnum.canceled: gettext("canceled"),
            StatusEnum.running: gettext("running"),
            StatusEnum.pending: gettext("pending"),
            StatusEnum.skipped: gettext("skipped"),
            StatusEnum.starting: gettext("starting"),
            StatusEnum.importing: gettext("importing"),
            StatusEnum.forked: gettext("forked"),
            StatusEnum.waiting: gettext("waiting"),
            StatusEnum.unknown: gettext("unknown"),
        }
        flask.g.copr_state_names = names
    return names


def state_badge_class(state: StatusEnum) -> str:
    return _BADGES.get(state, "text-bg-dark")


def unix_time(value: int | None) -> str:
    """A Unix time as ``2026-01-31 12:00:00 UTC`` (the same in every language)."""
    if value is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


def duration(start: int | None, end: int | None) -> str:
    """``1 h 02 min 03 s`` from two Unix times (to now while ``end`` is unset)."""
    if start is None:
        return "—"
    seconds = max(0, (end if end is not None else int(time.time())) - start)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def package_spec_url(package: Package) -> str | None:
    return spec_url(package, settings().dist_git_url)


def init_app(app: flask.Flask) -> None:
    app.jinja_env.filters.update(
        markdown=markdown,
        unix_time=unix_time,
        state_label=state_label,
        state_badge_class=state_badge_class,
        safe_link=safe_link,
    )
    app.jinja_env.globals.update(
        duration=duration, StatusEnum=StatusEnum, package_spec_url=package_spec_url
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
