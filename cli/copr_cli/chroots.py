"""Chroot commands: edit-chroot, get-chroot, list-chroots, mock-config."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from copr_cli.context import Context
from copr_cli.options import ISOLATIONS, project_help
from copr_cli.output import Printer, add_output_format

CHROOT_PATH_HELP = "The project's chroot: 'owner/project/chroot' or 'project/chroot'."


def action_edit_chroot(ctx: Context, args: argparse.Namespace) -> None:
    owner, project, chroot = ctx.parse_chroot_path(args.coprchroot)
    bootstrap = "image" if args.bootstrap_image else args.bootstrap
    ctx.client.project_chroot_proxy.edit(
        ownername=owner,
        projectname=project,
        chrootname=chroot,
        comps=args.upload_comps,
        delete_comps=args.delete_comps,
        additional_packages=args.packages,
        additional_repos=args.repos,
        additional_modules=args.modules,
        with_opts=" ".join(args.rpmbuild_with) if args.rpmbuild_with else None,
        without_opts=" ".join(args.rpmbuild_without) if args.rpmbuild_without else None,
        bootstrap=bootstrap,
        bootstrap_image=args.bootstrap_image,
        isolation=args.isolation,
        reset_fields=args.reset,
    )
    print("Edit chroot operation was successful.")


def action_get_chroot(ctx: Context, args: argparse.Namespace) -> None:
    owner, project, chroot = ctx.parse_chroot_path(args.coprchroot)
    data = ctx.client.project_chroot_proxy.get(
        ownername=owner, projectname=project, chrootname=chroot
    )
    fields = [
        "additional_packages", "additional_repos", "additional_modules", "comps_name",
        "delete_after_days", "isolation", "mock_chroot", "ownername", "projectname",
        "with_opts", "without_opts", "follow_fedora_branching",
    ]  # fmt: skip
    printer = Printer(args.output_format, fields)
    printer.add(data)
    printer.finish()


def action_list_chroots(ctx: Context, args: argparse.Namespace) -> None:
    chroots = ctx.client.mock_chroot_proxy.get_list()
    for name, comment in chroots.items():
        print(name)
        if comment:
            print("\n".join("    " + line for line in str(comment).split("\n")))


def action_mock_config(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    config = ctx.client.project_chroot_proxy.get_build_config(owner, project, args.chroot)
    rootdir = f"{owner.replace('@', 'group_')}-{project}_{args.chroot}"
    print(mock_profile(config, args.chroot, rootdir))


def mock_profile(config: Mapping[str, Any], chroot: str, rootdir: str) -> str:
    """A mock config file for building locally like the project's chroot does."""
    lines = [
        "# This is development/testing only mock profile, not exactly the same as",
        "# is used on copr builders;  but it is basically similar.  If you need an",
        "# exact mock configuration (because you e.g. try to reproduce failed",
        "# build), such configuration is put alongside the built RPMs.",
        "",
        f"include('/etc/mock/{chroot}.cfg')",
        "",
        f"config_opts['root'] = '{rootdir}'",
    ]
    isolation = config.get("isolation")
    if isolation not in ("default", None):
        lines.append(f"config_opts['isolation'] = '{isolation}'")
    bootstrap = config.get("bootstrap")
    if bootstrap in ("on", "off"):
        lines.append(f"config_opts['use_bootstrap'] = {bootstrap == 'on'}")
        lines.append("config_opts['use_bootstrap_image'] = False")
    elif bootstrap in ("image", "custom_image"):
        lines.append("config_opts['use_bootstrap'] = True")
        lines.append("config_opts['use_bootstrap_image'] = True")
        if config.get("bootstrap_image"):
            lines.append(f'config_opts[\'bootstrap_image\'] = "{config["bootstrap_image"]}"')
    packages = config.get("additional_packages") or []
    if packages:
        lines.append(f"config_opts['chroot_additional_packages'] = '{' '.join(packages)}'")
    repos = config.get("repos") or []
    if repos:
        lines += ["", 'config_opts[\'dnf.conf\'] += """']
        for repo in repos:
            lines += ["", f"[{repo['id']}]", f'name="{repo["name"]}"', f"baseurl={repo['baseurl']}"]
            if repo.get("priority") is not None:
                lines.append(f"priority={repo['priority']}")
            if repo.get("module_hotfixes"):
                lines.append(f"module_hotfixes={repo['module_hotfixes']}")
            lines.append("gpgcheck=0")
            if repo.get("repo_gpgcheck") is not None:
                lines.append(f"repo_gpgcheck={int(repo['repo_gpgcheck'])}")
            lines += [
                "enabled=1", "skip_if_unavailable=1", "metadata_expire=0", "cost=1", "best=1",
            ]  # fmt: skip
        lines.append('"""')
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("edit-chroot", help="Change a project's chroot settings")
    parser.add_argument("coprchroot", help=CHROOT_PATH_HELP)
    comps = parser.add_mutually_exclusive_group()
    comps.add_argument("--upload-comps", metavar="FILEPATH", help="A comps.xml file to upload.")
    comps.add_argument("--delete-comps", action="store_true", help="Delete the chroot's comps.xml.")
    parser.add_argument("--packages", help="Space separated packages added to the buildroot.")
    parser.add_argument("--repos", help="Space separated additional repository URLs.")
    parser.add_argument(
        "--modules",
        help="Comma separated modules to enable or (with '!') disable, e.g. "
        "'module1:stream,!module2:stream'.",
    )
    parser.add_argument(
        "--rpmbuild-with", action="append", help="An rpmbuild --with option (repeatable)."
    )
    parser.add_argument(
        "--rpmbuild-without", action="append", help="An rpmbuild --without option (repeatable)."
    )
    parser.add_argument(
        "--isolation", choices=ISOLATIONS, help="Isolation of the buildroot commands."
    )
    parser.add_argument(
        "--bootstrap", choices=["unchanged", "default", "on", "off", "image"],
        help="Mock's bootstrap chroot; 'unchanged' keeps the project's setting, 'default' "
        "uses mock's default.",
    )  # fmt: skip
    parser.add_argument(
        "--bootstrap-image",
        help="Container image to initialize the bootstrap from (implies --bootstrap=image).",
    )
    parser.add_argument(
        "--reset", action="append",
        help="Reset this setting to its default (repeatable), e.g. additional_packages; see "
        "'get-chroot' for the names.",
    )  # fmt: skip
    parser.set_defaults(func=action_edit_chroot, needs_auth=True)

    parser = subparsers.add_parser("get-chroot", help="Show a project's chroot settings")
    parser.add_argument("coprchroot", help=CHROOT_PATH_HELP)
    add_output_format(parser)
    parser.set_defaults(func=action_get_chroot)

    parser = subparsers.add_parser("list-chroots", help="List the chroots one can build for")
    parser.set_defaults(func=action_list_chroots)

    parser = subparsers.add_parser(
        "mock-config", help="Print a mock config for building like a project's chroot"
    )
    parser.add_argument("project", help=project_help())
    parser.add_argument("chroot", help="The chroot, e.g. 'fedora-rawhide-x86_64'.")
    parser.set_defaults(func=action_mock_config)
