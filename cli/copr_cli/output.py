"""Printing results: ``--output-format json|text|text-row``, colours, project summaries."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Field = str | tuple[str, Callable[[Any], Any]]

OUTPUT_FORMAT_HELP = (
    "How to print the data: 'json' (recommended for scripts), 'text' (one 'key: value' "
    "per line) or 'text-row' (the values of one object on one line, tab separated)."
)

STATE_COLORS = {
    "importing": "34",
    "pending": "34",
    "starting": "33",
    "running": "33",
    "forked": "32",
    "skipped": "32",
    "failed": "31",
    "succeeded": "32",
}


def add_output_format(parser: argparse.ArgumentParser, default: str | None = "json") -> None:
    parser.add_argument(
        "--output-format",
        choices=["text", "json", "text-row"],
        default=default,
        help=OUTPUT_FORMAT_HELP,
    )


def colorize(state: str, enabled: bool) -> str:
    """``state`` in its ANSI colour when ``enabled`` (a terminal, no ``--no-color``)."""
    code = STATE_COLORS.get(state)
    if not enabled or code is None:
        return state
    return f"\033[{code}m{state}\033[0m"


def plain(value: Any) -> Any:
    """A JSON-ready copy (results may carry non-JSON attributes)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def json_dumps(value: Any) -> str:
    return json.dumps(plain(value), indent=4, sort_keys=True)


class Printer:
    """Prints objects field by field in one of the output formats.

    A field is a key, or ``(name, function)`` for a computed value.  A key the server
    did not send is left out rather than failing (an older server may lack it).
    """

    def __init__(self, output_format: str, fields: Sequence[Field], as_list: bool = False):
        self.output_format = output_format
        self.fields = fields
        self.as_list = as_list
        self.count = 0

    def _values(self, data: Mapping[str, Any]) -> list[tuple[str, Any]]:
        values = []
        for field in self.fields:
            try:
                if isinstance(field, tuple):
                    values.append((field[0], field[1](data)))
                else:
                    values.append((field, data[field]))
            except (KeyError, TypeError):
                continue
        return values

    def add(self, data: Mapping[str, Any]) -> None:
        values = self._values(data)
        if self.output_format == "json":
            text = json_dumps(dict(values))
            if self.as_list:
                print("[" if self.count == 0 else "    ,")
                text = "\n".join(f"    {line}" for line in text.split("\n"))
            print(text)
        elif self.output_format == "text":
            if self.count:
                print()
            for key, value in values:
                print(f"{key}: {value}")
        else:
            print("\t".join(str(value) for _, value in values))
        self.count += 1

    def finish(self) -> None:
        if self.output_format == "json" and self.as_list and self.count:
            print("]")


def print_project_info(project: Mapping[str, Any]) -> None:
    """The summary ``list`` and ``get`` print for a project."""
    print(f"Name: {project.get('name')}")
    print(f"  Description: {project.get('description')}")
    repos = project.get("chroot_repos") or {}
    if repos:
        print("  Repo(s):")
        for name, url in repos.items():
            print(f"    {name}: {url}")
    additional = project.get("additional_repos") or []
    if additional:
        print(f"  Additional repo: {' '.join(additional)}")
    print("")


def format_size(size: int) -> str:
    """Bytes for people in binary units, as the frontend sets quotas: ``0 B``, ``1.5 KiB``,
    ``10.0 GiB`` (the upload progress bar keeps copr-cli's decimal ``human_size``).
    """
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"
