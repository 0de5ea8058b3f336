"""Argument types and option groups several subcommands share."""

from __future__ import annotations

import argparse
from typing import Any

ON_OFF = ["on", "off"]
ON_OFF_MAP: dict[str | None, bool | None] = {"on": True, "off": False, None: None}
ISOLATIONS = ["simple", "nspawn", "default"]
REBUILD_DEPENDENTS = ["off", "direct", "transitive"]


def str2bool(value: str) -> bool:
    if value.lower() in ("yes", "true", "on", "t", "y", "1"):
        return True
    if value.lower() in ("no", "false", "off", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError("Boolean value expected.")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value!r}")
    return number


def on_off(value: str | None) -> bool | None:
    return ON_OFF_MAP[value]


def project_help(what: str = "The project") -> str:
    return f"{what}: 'project' (one of yours), 'owner/project' or '@group/project'."


def build_parent() -> argparse.ArgumentParser:
    """Options of every command that submits a build."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "copr_repo",
        help=project_help("The project to build in")
        + " 'project:<suffix>' puts the build into the side directory 'project:<suffix>'.",
    )
    parent.add_argument("--memory", dest="memory", help=argparse.SUPPRESS)
    parent.add_argument(
        "--timeout",
        dest="timeout",
        type=positive_int,
        help="Build timeout in seconds; a longer build is stopped and fails.",
    )
    parent.add_argument(
        "--nowait", action="store_true", default=False, help="Do not wait for the build(s)."
    )
    parent.add_argument(
        "-r",
        "--chroot",
        dest="chroots",
        metavar="CHROOT",
        action="append",
        help="Build only in this chroot (repeatable; wildcards allowed).",
    )
    parent.add_argument(
        "--exclude-chroot",
        dest="exclude_chroots",
        metavar="CHROOT",
        action="append",
        help="Do not build in this chroot (repeatable).",
    )
    parent.add_argument(
        "--background",
        action="store_true",
        default=False,
        help="Mark the build as a background job, with a lower priority.",
    )
    parent.add_argument(
        "--isolation",
        choices=ISOLATIONS,
        default="unchanged",
        help="Isolation of the buildroot commands (default: the project's setting).",
    )
    parent.add_argument(
        "--enable-net",
        choices=ON_OFF,
        help="Network access for this build (default: the project's setting).",
    )
    parent.add_argument(
        "--bootstrap",
        choices=["unchanged", "default", "on", "off", "image"],
        help="Mock's bootstrap chroot for this build; 'unchanged' keeps the project and "
        "chroot setting, 'default' uses mock's default.",
    )
    batch = parent.add_mutually_exclusive_group()
    batch.add_argument(
        "--after-build-id",
        metavar="BUILD_ID",
        help="Start after the batch holding build BUILD_ID has finished.",
    )
    batch.add_argument(
        "--with-build-id", metavar="BUILD_ID", help="Build in the same batch as BUILD_ID."
    )
    return parent


def buildopts_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``buildopts`` of ``copr.v3`` from the shared build options."""
    options: dict[str, Any] = {
        "timeout": args.timeout,
        "chroots": args.chroots,
        "background": args.background,
    }
    if args.enable_net is not None:
        options["enable_net"] = on_off(args.enable_net)
    for name in ("exclude_chroots", "bootstrap", "after_build_id", "with_build_id", "isolation"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    return options
