"""Writes the generated reference pages before Sphinx reads the sources.

* ``_generated/settings.rst``: every setting of every service, from the settings models
  (through ``tools/settings_catalog.py``, the catalog ansible's variables come from too);
* ``_generated/api.rst``: API v3, from the OpenAPI document the frontend serves at
  ``/api_3/openapi.json`` (built offline: no app, no database);
* ``_generated/cli.rst``: copr-cli, from its man page (``copr-cli-manpage``'s roff).

Nothing here is written by hand, so the pages cannot drift from the code.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DOCS.parent / "tools"))

import settings_catalog  # noqa: E402  (found through the path above)

# reST's inline markup characters, escaped in text that is not inside ``literal``.
_SPECIAL = re.compile(r"([\\*`|_<>\[\]])")


def text(value: str) -> str:
    """Plain text (with ``literals`` kept) safe inside a reST paragraph."""
    parts = re.split(r"(``[^`]+``)", value)
    return "".join(p if p.startswith("``") else _SPECIAL.sub(r"\\\1", p) for p in parts)


def literal(value: Any) -> str:
    shown = value if isinstance(value, str) else json.dumps(value)
    # A literal cannot hold a backquote pair or be empty.
    return f"``{shown}``" if shown.strip() and "``" not in shown else f'"{text(shown)}"'


def heading(title: str, mark: str) -> list[str]:
    return [title, mark * len(title), ""]


# --- settings ----------------------------------------------------------------------------


def settings_page() -> str:
    out = heading("Settings of every service", "=")
    out += [
        "Each service reads a TOML file (path below), then environment variables named",
        "with the service's prefix and the setting in capitals (``COPR_FRONTEND_SECRET_KEY``).",
        "The ansible roles set each one from the variable ``copr_<service>_<setting>``.",
        "A command finds its file in its ``--config`` option, else in the environment",
        "variable ``<prefix>CONFIG`` (``COPR_BACKEND_CONFIG``), else at the path below when",
        "that exists; without a file, defaults and environment variables alone count.",
        "",
        "**Exit code 6** means the settings cannot be used: the file is missing or not",
        "valid TOML, a required setting is unset, a value is malformed or a key is unknown.",
        "Every service's commands exit with it and print one line per problem, naming the",
        "setting and where its value came from. It is none of copr-rpmbuild's build exit",
        "codes (0-5), so the backend never takes a builder's broken settings for a build",
        "result.",
        "",
        "This page is generated from the services' settings models.",
        "",
    ]
    for service in settings_catalog.SERVICES:
        out += heading(service.title, "-")
        out += [
            f"File ``{service.file}``, environment prefix ``{service.env_prefix}``, "
            f"model ``{service.model_path}``, written by the ansible role "
            f"``{service.role}``.",
            "",
        ]
        for setting in settings_catalog.settings_of(service):
            if setting.required:
                default = "required"
            elif setting.default is None:
                default = "default: unset"
            elif setting.secret and setting.default:
                default = "default: a development value (set your own)"
            else:
                default = f"default: {literal(setting.default)}"
            notes = " ".join(n for n in (setting.group, setting.description) if n)
            if setting.secret:
                notes = f"{notes} A secret.".strip()
            out += [
                f"``{setting.name}``",
                f"   *{text(setting.type)}*, {default}. "
                f"Ansible: ``copr_{service.key}_{setting.name}``.",
            ]
            if notes:
                out += [f"   {text(notes)}"]
            out += [""]
    return "\n".join(out) + "\n"


# --- API v3 ------------------------------------------------------------------------------


def _schema_type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    if kind is None and ("oneOf" in schema or "anyOf" in schema):
        return " or ".join(_schema_type(s) for s in schema.get("oneOf") or schema["anyOf"])
    return str(kind or "any") + (" or null" if schema.get("nullable") else "")


def _properties(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        mark = " (required)" if name in required else ""
        note = f" — {text(prop['description'])}" if prop.get("description") else ""
        out.append(f"  * ``{name}``: {text(_schema_type(prop))}{mark}{note}")
    return out


def api_page() -> str:
    from copr_frontend.api.openapi import openapi_document

    document = openapi_document()
    base = document["servers"][0]["url"]
    out = heading("API v3 reference", "=")
    out += [
        text(document["info"]["description"]),
        "",
        f"Every path below is under ``{base}``. This page is generated from the OpenAPI",
        f"document the frontend serves at ``{base}/openapi.json``.",
        "",
    ]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            out += heading(f"{method.upper()} {base}{path}", "-")
            out += [text(op.get("summary", "")), ""]
            params = op.get("parameters", [])
            if params:
                out += ["Parameters:", ""]
                for p in params:
                    mark = ", required" if p.get("required") else ""
                    out.append(
                        f"  * ``{p['name']}`` ({p['in']}{mark}): "
                        f"{text(_schema_type(p.get('schema', {})))}"
                    )
                out += [""]
            body = op.get("requestBody")
            if body:
                for media, content in body["content"].items():
                    fields = _properties(content.get("schema", {}))
                    out += [f"Request body (``{media}``):", ""]
                    out += [*(fields or ["  * any JSON object"]), ""]
            out += ["Responses:", ""]
            for status, answer in op.get("responses", {}).items():
                out.append(f"  * **{status}**: {text(answer.get('description', ''))}")
                for content in answer.get("content", {}).values():
                    fields = _properties(content.get("schema", {}))
                    if fields:
                        out += ["", *("  " + f for f in fields), ""]
            out += [""]
    return "\n".join(out) + "\n"


# --- copr-cli ------------------------------------------------------------------------------


def _roff_inline(line: str) -> str:
    """The inline roff of copr-cli-manpage (fonts, escapes) as reST."""
    line = line.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")
    out, font = [], "R"
    for part in re.split(r"(\\f[BIR])", line):
        if part in ("\\fB", "\\fI", "\\fR"):
            font = part[-1]
        elif part:
            if font == "B" and part.strip():
                out.append(literal(part))
            elif font == "I" and part.strip():
                out.append(f"*{text(part)}*")
            else:
                out.append(text(part))
    return "".join(out)


def cli_page() -> str:
    from copr_cli.main import setup_parser
    from copr_cli.manpage import render

    out = heading("copr-cli reference", "=")
    out += ["This page is the man page ``copr-cli(1)`` (``copr-cli-manpage``), as HTML.", ""]
    lines = render(setup_parser()).splitlines()
    index, preformatted = 0, False
    while index < len(lines):
        line = lines[index]
        index += 1
        if preformatted:
            if line == ".fi":
                preformatted = False
                out.append("")
            else:
                out.append("   " + line.replace("\\-", "-").replace("\\e", "\\"))
            continue
        if line.startswith(".TH"):
            continue
        if line.startswith(".SH "):
            out += ["", *heading(_roff_inline(line[4:]).replace("\\", ""), "-")]
        elif line.startswith(".SS "):
            name = line[4:].replace("\\-", "-")
            out += ["", *heading(name, "~")]
        elif line == ".PP":
            out.append("")
        elif line == ".nf":
            out += ["", "::", ""]
            preformatted = True
        elif line == ".TP":
            label = _roff_inline(lines[index])
            index += 1
            out += ["", label]
            body = []
            while index < len(lines) and not lines[index].startswith("."):
                body.append(_roff_inline(lines[index]))
                index += 1
            out.append("   " + (" ".join(body) or "\\ "))
        else:
            out.append(_roff_inline(line))
    return "\n".join(out) + "\n"


def write_pages(app: Sphinx) -> None:
    target = Path(app.srcdir) / "_generated"
    target.mkdir(exist_ok=True)
    for name, make in (("settings", settings_page), ("api", api_page), ("cli", cli_page)):
        path = target / f"{name}.rst"
        content = make()
        # Rewriting an unchanged page would make Sphinx read it again.
        if not path.exists() or path.read_text() != content:
            path.write_text(content)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
