"""Webhook and notification commands (not in copr-cli 2.6; see the README):

``get-webhooks``                    the receiver URLs and secrets of a project
``set-forge-secret``                the secret forges sign their requests with
``add-notification-endpoint``       an HTTPS endpoint that hears about the builds
``list-notification-endpoints``, ``edit-notification-endpoint``,
``delete-notification-endpoint``, ``list-notification-deliveries``
"""

from __future__ import annotations

import argparse
from typing import Any

from copr.v3 import next_page
from copr_cli.context import Context
from copr_cli.options import project_help
from copr_cli.output import Printer, add_output_format

EVENTS = ("build.started", "chroot.ended", "build.ended")
DELIVERY_STATES = ("pending", "delivered", "failed")
ENDPOINT_FIELDS = ["id", "url", "events", "enabled", "disabled_reason", "failures_in_row"]
DELIVERY_FIELDS = [
    "id", "endpoint_id", "event", "build_id", "chroot", "state", "attempts", "response_code",
    "last_error", "created_on", "last_attempt_on", "next_attempt_on", "delivered_on",
]  # fmt: skip


def action_get_webhooks(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    info = ctx.client.webhook_proxy.info(owner, project)
    print(f"Project ID: {info.id}")
    print(f"Webhook secret: {info.webhook_secret}")
    print(f"Forge secret: {info.forge_secret or '(none: signatures are not checked)'}")
    for name, url in info.urls.items():
        print(f"{name}: {url}")


def action_set_forge_secret(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    proxy = ctx.client.webhook_proxy
    if args.remove:
        proxy.set_forge_secret(owner, project, None)
        print(f"The forge secret of {owner}/{project} was removed.")
        return
    result = proxy.set_forge_secret(owner, project, args.secret, generate=args.secret is None)
    print(f"Forge secret of {owner}/{project}: {result.forge_secret}")


def action_add_endpoint(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    endpoint = ctx.client.notification_proxy.add_endpoint(
        owner, project, args.url, events=args.events, secret=args.secret
    )
    print(f"Notification endpoint {endpoint.id} added to {owner}/{project}: {endpoint.url}")
    print(f"Events: {', '.join(endpoint.events)}")
    print(f"Secret: {endpoint.secret}")
    print("(Shown only now. Each body is signed with it: X-Copr-Signature-256: sha256=<HMAC>.)")


def action_list_endpoints(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    printer = Printer(args.output_format, ENDPOINT_FIELDS, as_list=True)
    for endpoint in ctx.client.notification_proxy.get_endpoint_list(owner, project):
        printer.add(endpoint)
    printer.finish()


def action_edit_endpoint(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    endpoint = ctx.client.notification_proxy.edit_endpoint(
        owner, project, args.endpoint_id, url=args.url, events=args.events, enabled=args.enabled
    )
    state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
    print(f"Notification endpoint {endpoint.id} ({endpoint.url}) is {state}; events: "
          f"{', '.join(endpoint.events)}.")  # fmt: skip


def action_delete_endpoint(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    ctx.client.notification_proxy.delete_endpoint(owner, project, args.endpoint_id)
    print(f"Notification endpoint {args.endpoint_id} was deleted.")


def action_list_deliveries(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    page_size = min(args.limit, 1000)
    deliveries: Any = ctx.client.notification_proxy.get_delivery_list(
        owner, project, endpoint_id=args.endpoint, state=args.state,
        pagination={"limit": page_size},
    )  # fmt: skip
    printer = Printer(args.output_format, DELIVERY_FIELDS, as_list=True)
    shown = 0
    while deliveries and shown < args.limit:
        for delivery in deliveries:
            if shown >= args.limit:
                break
            printer.add(delivery)
            shown += 1
        deliveries = next_page(deliveries)
    printer.finish()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "get-webhooks", help="Show a project's webhook URLs, its webhook and forge secrets"
    )
    parser.add_argument("project", help=project_help())
    parser.set_defaults(func=action_get_webhooks, needs_auth=True)

    parser = subparsers.add_parser(
        "set-forge-secret",
        help="Set the secret forges sign webhook requests with (GitHub and Bitbucket "
        "'Secret', GitLab 'Secret token'); a random one unless given",
    )
    parser.add_argument("project", help=project_help())
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--secret", help="The secret to use (at least 16 characters).")
    which.add_argument(
        "--remove", action="store_true", help="Remove it: signatures are not checked then."
    )
    parser.set_defaults(func=action_set_forge_secret, needs_auth=True)

    events = argparse.ArgumentParser(add_help=False)
    events.add_argument(
        "--event", dest="events", action="append", choices=EVENTS,
        help="An event to send (repeat for more); default: all of them.",
    )  # fmt: skip

    parser = subparsers.add_parser(
        "add-notification-endpoint", parents=[events],
        help="Send a project's build events to an HTTPS endpoint",
    )  # fmt: skip
    parser.add_argument("project", help=project_help())
    parser.add_argument("url", help="The endpoint's https:// URL.")
    parser.add_argument(
        "--secret", help="The HMAC-SHA256 key of the signatures (default: a random one)."
    )
    parser.set_defaults(func=action_add_endpoint, needs_auth=True)

    parser = subparsers.add_parser(
        "list-notification-endpoints", help="List a project's notification endpoints"
    )
    parser.add_argument("project", help=project_help())
    add_output_format(parser)
    parser.set_defaults(func=action_list_endpoints, needs_auth=True)

    parser = subparsers.add_parser(
        "edit-notification-endpoint", parents=[events],
        help="Change a notification endpoint; --enable revives one disabled after failures",
    )  # fmt: skip
    parser.add_argument("project", help=project_help())
    parser.add_argument("endpoint_id", type=_positive, help="The endpoint's id.")
    parser.add_argument("--url", help="A new https:// URL.")
    toggle = parser.add_mutually_exclusive_group()
    toggle.add_argument("--enable", dest="enabled", action="store_true", default=None)
    toggle.add_argument("--disable", dest="enabled", action="store_false")
    parser.set_defaults(func=action_edit_endpoint, needs_auth=True)

    parser = subparsers.add_parser(
        "delete-notification-endpoint", help="Delete a notification endpoint"
    )
    parser.add_argument("project", help=project_help())
    parser.add_argument("endpoint_id", type=_positive, help="The endpoint's id.")
    parser.set_defaults(func=action_delete_endpoint, needs_auth=True)

    parser = subparsers.add_parser(
        "list-notification-deliveries",
        help="List what was delivered (or not) to a project's notification endpoints",
    )
    parser.add_argument("project", help=project_help())
    parser.add_argument("--endpoint", type=_positive, help="Only this endpoint's deliveries.")
    parser.add_argument("--state", choices=DELIVERY_STATES, help="Only deliveries in this state.")
    parser.add_argument(
        "--limit", type=_positive, default=100, help="Show at most this many (default 100)."
    )
    add_output_format(parser)
    parser.set_defaults(func=action_list_deliveries, needs_auth=True)
