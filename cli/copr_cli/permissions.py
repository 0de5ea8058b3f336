"""Permission commands: edit-permissions, list-permissions, request-permissions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from copr_cli.context import Context
from copr_cli.errors import BadArgument

MYSELF = "your user"


def permission_action(role: str, default: str, myself: bool) -> type[argparse.Action]:
    """An action collecting ``--admin USER[=VALUE]`` options into ``args.permissions``."""

    class PermissionAction(argparse.Action):
        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: str | Sequence[Any] | None,
            option_string: str | None = None,
        ) -> None:
            value = values if isinstance(values, str) else None
            permission = default
            if myself:
                user = MYSELF
                if value:
                    permission = value
            else:
                user = value or ""
                if "=" in user:
                    user, permission = user.rsplit("=", 1)
            permissions = namespace.permissions or {}
            namespace.permissions = permissions
            roles = permissions.setdefault(user, {})
            if role in roles:
                raise argparse.ArgumentError(self, f"requested more than once for {user}")
            roles[role] = permission

    return PermissionAction


def action_edit_permissions(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    if not args.permissions:
        raise BadArgument("neither --builder nor --admin specified")
    for user, roles in args.permissions.items():
        for role, value in roles.items():
            if value not in ("approved", "request", "nothing"):
                raise BadArgument(
                    f"--{role} for {user} can be 'approved', 'request' or 'nothing', "
                    f"not '{value}'"
                )
    ctx.client.project_proxy.set_permissions(owner, project, args.permissions)
    print("success")


def action_list_permissions(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    result = ctx.client.project_proxy.get_permissions(owner, project)
    for user, roles in result["permissions"].items():
        print(f"{user}:")
        for role, value in roles.items():
            print(f"  {role}: {value}")


def action_request_permissions(ctx: Context, args: argparse.Namespace) -> None:
    if not args.permissions:
        raise BadArgument("neither --builder nor --admin specified")
    owner, project = ctx.parse_name(args.project)
    request = {}
    for role, value in args.permissions[MYSELF].items():
        if value not in ("nothing", "request"):
            raise BadArgument(f"--{role} can be 'nothing' or 'request', not '{value}'")
        request[role] = value == "request"
    ctx.client.project_proxy.request_permissions(owner, project, request)
    print("success")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "edit-permissions", help="Change the roles of users in a project"
    )
    parser.add_argument("project", metavar="PROJECT", help="An existing project.")
    for role in ("admin", "builder"):
        parser.add_argument(
            f"--{role}", metavar="USERNAME[=VALUE]", dest="permissions",
            action=permission_action(role, "approved", myself=False),
            help=f"Set the {role} role of USERNAME; VALUE is 'approved' (the default), "
            "'request' or 'nothing'.",
        )  # fmt: skip
    parser.set_defaults(func=action_edit_permissions, needs_auth=True)

    parser = subparsers.add_parser("list-permissions", help="Print the roles in a project")
    parser.add_argument("project", metavar="PROJECT", help="An existing project.")
    parser.set_defaults(func=action_list_permissions)

    parser = subparsers.add_parser(
        "request-permissions", help="Request (or give up) your role in a project"
    )
    parser.add_argument("project", metavar="PROJECT", help="An existing project.")
    for role in ("admin", "builder"):
        parser.add_argument(
            f"--{role}", nargs="?", dest="permissions",
            action=permission_action(role, "request", myself=True),
            help=f"Request ('request', the default) or give up ('nothing') the {role} role.",
        )  # fmt: skip
    parser.set_defaults(func=action_request_permissions, needs_auth=True)
