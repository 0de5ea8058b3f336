"""Account commands: ``whoami``, ``new-api-token``, ``new-webhook-secret``, and ours:
``quota`` (storage usage and limit) and ``mail-settings`` (e-mail when a build ends).
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
from pathlib import Path
from typing import Any

from copr.v3 import CoprConfigException, CoprException
from copr_cli.context import Context, log
from copr_cli.options import ON_OFF, on_off
from copr_cli.output import format_size


def action_whoami(ctx: Context, args: argparse.Namespace) -> None:
    try:
        print(ctx.username)
    except CoprException:
        log.error("Can't detect who are you.")
        raise


def action_new_api_token(ctx: Context, args: argparse.Namespace) -> None:
    path = Path(ctx.config_path)
    if not path.exists():
        raise CoprConfigException(f"File {path} not found.  Can't update.")
    # Checked before the token is replaced: a new token we cannot save would be lost.
    if not os.access(path, os.W_OK):
        raise CoprConfigException(f"File {path} is not writable.  Can't update.")
    if not (ctx.config.get("login") and ctx.config.get("token")):
        raise CoprConfigException(f"Current {path} doesn't specify login/token.  Can't update.")
    result = ctx.client.base_proxy.new_api_token()
    update_config_file(
        path,
        {"login": str(result.api_login), "token": str(result.api_token)},
        result.get("expiration"),
    )
    print(f"New API token was updated in {path}.")


def update_config_file(path: Path, values: dict[str, str], expiration: Any) -> None:
    """Set keys of ``[copr-cli]`` in place, keeping every other line and comment."""
    lines = path.read_text().splitlines()
    section = None
    seen: set[str] = set()
    for index, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            if section == "copr-cli":
                break
            section = header.group(1).strip()
            continue
        if section != "copr-cli":
            continue
        key = re.match(r"\s*([A-Za-z_]+)\s*[=:]", line)
        if key and key.group(1) in values:
            lines[index] = f"{key.group(1)} = {values[key.group(1)]}"
            seen.add(key.group(1))
        elif expiration is not None and re.match(r"\s*#\s*expiration date:", line):
            lines[index] = f"# expiration date: {expiration}"
    missing = [f"{key} = {value}" for key, value in values.items() if key not in seen]
    if missing:
        for index, line in enumerate(lines):
            if re.match(r"\s*\[copr-cli\]", line):
                lines[index + 1 : index + 1] = missing
                break
    text = "\n".join(lines) + "\n"
    # Refuse to write a file the config reader would not accept.
    check = configparser.ConfigParser()
    check.read_string(text)
    path.write_text(text)


def action_new_webhook_secret(ctx: Context, args: argparse.Namespace) -> None:
    answer = ""
    while answer not in ("y", "n"):
        try:
            reply = input(f"Generate a new webhook secret for {args.name} [y/n]? ")
        except EOFError:
            raise CoprException("No answer: standard input was closed.") from None
        reply = reply.strip().lower()
        answer = {"y": "y", "yes": "y", "n": "n", "no": "n"}.get(reply, "")
    if answer == "y":
        owner, project = ctx.parse_name(args.name)
        result = ctx.client.webhook_proxy.generate(owner, project)
        print(f"Generated new token: {result.webhook_secret}")


def action_quota(ctx: Context, args: argparse.Namespace) -> None:
    owner = args.owner or ctx.username
    quota = ctx.client.quota_proxy.get(owner)
    usage = format_size(int(quota.usage))
    if quota.limit is None:
        print(f"Storage of {owner}: {usage} used, no limit")
    else:
        source = "set for the owner" if quota.limit_source == "owner" else "the default"
        print(f"Storage of {owner}: {usage} used of {format_size(int(quota.limit))} ({source})")
    if quota.exceeded:
        print("The quota is used up: new builds are refused until builds or projects are deleted.")
    for project in quota.projects:
        print(f"  {project.name}: {format_size(int(project.usage))}")


def action_mail_settings(ctx: Context, args: argparse.Namespace) -> None:
    if args.mail is not None or args.build_mail is not None:
        result = ctx.client.user_proxy.edit_settings(
            mail=args.mail, email_notifications=on_off(args.build_mail)
        )
    else:
        result = ctx.client.user_proxy.get_settings()
    print(f"Address: {result.mail or '(none)'}")
    print(f"E-mail when a build ends: {'on' if result.email_notifications else 'off'}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "new-api-token",
        help="Generate a new API token and save it in the config. The old one stops working!",
    )
    parser.set_defaults(func=action_new_api_token, needs_auth=True)

    parser = subparsers.add_parser("whoami", help="Print the user name the client authenticates as")
    parser.set_defaults(func=action_whoami)

    parser = subparsers.add_parser(
        "new-webhook-secret", help="Regenerate the webhook secret of a project"
    )
    parser.add_argument("name", help="The project to generate a new webhook secret for.")
    parser.set_defaults(func=action_new_webhook_secret, needs_auth=True)

    parser = subparsers.add_parser(
        "quota", help="Show the storage an owner's builds take, and the owner's limit"
    )
    parser.add_argument("owner", nargs="?", help="A user or @group (default: you).")
    parser.set_defaults(func=action_quota)

    parser = subparsers.add_parser(
        "mail-settings",
        help="Show or change your address and whether you get e-mail when your build ends "
        "(in projects that send it)",
    )
    parser.add_argument("--mail", help="Your e-mail address ('' for none).")
    parser.add_argument(
        "--build-mail", choices=ON_OFF, help="E-mail when a build you submitted ends."
    )
    parser.set_defaults(func=action_mail_settings, needs_auth=True)
