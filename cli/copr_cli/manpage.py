"""``copr-cli.1`` generated from the argparse parser, so the man page never drifts.

Run ``copr-cli-manpage > copr-cli.1`` (or ``python -m copr_cli.manpage``).
"""

from __future__ import annotations

import argparse
import datetime
import sys

from copr_cli import __version__

AUTHENTICATION = (
    "Commands that change something need an API token. Get one from the API page of "
    "the Copr web UI (<copr_url>/api/) and save it as ~/.config/copr:\n\n"
    "[copr-cli]\nlogin = <api login>\nusername = <your user name>\ntoken = <api token>\n"
    "copr_url = https://copr.example.org\n\n"
    "Set 'encrypted = False' to talk to a server over plain http. An expired token gives "
    "exit code 7; 'copr-cli new-api-token' replaces a still valid one and updates the file."
)

EXIT_STATUS = [
    ("0", "success"),
    ("1", "the request failed (network error, unknown project or build, server error)"),
    ("2", "a bad argument"),
    ("3", "another error"),
    ("4", "a watched build failed or was canceled"),
    ("5", "an unknown response from the server"),
    ("6", "a configuration error"),
    ("7", "an authentication error (no token, an expired token, no permission)"),
]


def escape(text: str) -> str:
    """Text safe for roff: backslashes, leading dots/quotes and dashes escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _option_label(action: argparse.Action) -> str:
    if not action.option_strings:
        # A tuple metavar (nargs > 1) has no one name: the dest names it then.
        label = action.metavar if isinstance(action.metavar, str) else None
        return f"\\fI{escape(label or action.dest)}\\fR"
    names = ", ".join(f"\\fB{escape(name)}\\fR" for name in action.option_strings)
    if action.nargs == 0:
        return names
    if action.choices:
        value = "{" + ",".join(str(choice) for choice in action.choices) + "}"
    else:
        metavar = action.metavar
        value = metavar if isinstance(metavar, str) else action.dest.upper()
    return f"{names} \\fI{escape(value)}\\fR"


def _options(parser: argparse.ArgumentParser) -> list[str]:
    out: list[str] = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(
            action, argparse._SubParsersAction | argparse._HelpAction
        ):
            continue
        out += [".TP", _option_label(action)]
        help_text = (action.help or "").replace("%(prog)s", parser.prog)
        if "%(default)s" in help_text:
            help_text = help_text.replace("%(default)s", str(action.default))
        out.append(escape(" ".join(help_text.split())))
    return out


def _subcommands(
    parser: argparse.ArgumentParser,
) -> list[tuple[str, str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                found.append((name, helps.get(name, ""), subparser))
    return found


def render(parser: argparse.ArgumentParser, date: datetime.date | None = None) -> str:
    """The man page (roff, section 1) of ``parser`` and all its subcommands."""
    day = (date or datetime.date.today()).isoformat()
    prog = parser.prog
    lines = [
        f'.TH {escape(prog.upper())} 1 "{day}" "{escape(prog)} {__version__}" "User Commands"',
        ".SH NAME",
        f"{escape(prog)} \\- {escape(parser.description or '')}",
        ".SH SYNOPSIS",
        f"\\fB{escape(prog)}\\fR [\\fIOPTIONS\\fR] \\fIACTION\\fR [\\fIACTION OPTIONS\\fR]",
        ".SH OPTIONS",
        *_options(parser),
        ".SH ACTIONS",
    ]
    for name, help_text, subparser in _subcommands(parser):
        usage = " ".join(subparser.format_usage().split()[1:])
        lines += [
            f".SS {escape(name)}",
            escape(help_text if help_text.endswith((".", "!", "?")) else help_text + "."),
            ".PP",
            f"Usage: \\fB{escape(usage)}\\fR",
        ]
        if subparser.description and subparser.description != help_text:
            lines += [".PP", escape(" ".join(subparser.description.split()))]
        lines += _options(subparser)
    lines += [".SH AUTHENTICATION"]
    for paragraph in AUTHENTICATION.split("\n\n"):
        if paragraph.startswith("[copr-cli]"):
            lines += [".PP", ".nf", escape(paragraph), ".fi"]
        else:
            lines += [".PP", escape(paragraph)]
    lines += [".SH EXIT STATUS"]
    for code, meaning in EXIT_STATUS:
        lines += [".TP", f"\\fB{code}\\fR", escape(meaning)]
    lines += [".SH FILES", ".TP", "\\fI~/.config/copr\\fR", "The configuration (see above)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the man page to stdout (or to the file given as the only argument)."""
    from copr_cli.main import setup_parser

    args = sys.argv[1:] if argv is None else argv
    text = render(setup_parser())
    if args:
        with open(args[0], "w") as file:  # noqa: PTH123 - a plain output path
            file.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
