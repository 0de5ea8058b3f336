"""Package commands: add/edit per source type, list, get, delete, reset, build, monitor."""

from __future__ import annotations

import argparse
from typing import Any

from copr.v3 import next_page
from copr_cli.builds import print_build_info_and_wait
from copr_cli.context import Context
from copr_cli.errors import CoprUnknownResponseException
from copr_cli.options import ON_OFF, build_parent, buildopts_from_args, on_off, project_help
from copr_cli.output import Printer, add_output_format

SOURCE_FIELDS = {
    "pypi": {
        "pypi_package_name": "packagename",
        "pypi_package_version": "packageversion",
        "spec_generator": "spec_generator",
        "spec_template": "spec_template",
        "python_versions": "pythonversions",
    },
    "scm": {
        "clone_url": "clone_url",
        "committish": "committish",
        "subdirectory": "subdirectory",
        "spec": "spec",
        "scm_type": "scm_type",
        "source_build_method": "srpm_build_method",
    },
    "distgit": {"distgit": "instance", "namespace": "namespace", "committish": "committish"},
    "rubygems": {"gem_name": "gem_name"},
    "custom": {
        "script": "script",
        "script_chroot": "script_chroot",
        "script_builddeps": "script_builddeps",
        "script_resultdir": "script_resultdir",
        "script_repos": "script_repos",
    },
}


def action_add_or_edit_package(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    data: dict[str, Any] = {} if args.source_type == "distgit" else {"package_name": args.name}
    for field, attribute in SOURCE_FIELDS[args.source_type].items():
        data[field] = getattr(args, attribute)
    data.update(
        {
            "max_builds": args.max_builds,
            "timeout": args.timeout,
            "chroot_denylist": args.chroot_denylist,
            "webhook_rebuild": on_off(args.webhook_rebuild),
        }
    )
    proxy = ctx.client.package_proxy
    if args.create:
        proxy.add(owner, project, args.name, args.source_type, data)
    else:
        proxy.edit(owner, project, args.name, args.source_type, data)
    print("Create or edit operation was successful.")


def _with_builds(ctx: Context, package: Any, args: argparse.Namespace) -> Any:
    """The package with its builds as copr-cli has always printed them."""
    if "builds" not in package:
        raise CoprUnknownResponseException(
            "The server did not send the package's builds: it is too old for this client."
        )
    provided = package.pop("builds")
    for key in ("latest_succeeded", "latest"):
        if key in provided:
            package[f"{key}_build"] = provided[key]
    if args.with_all_builds:
        owner, project = ctx.parse_name(args.copr)
        package["builds"] = ctx.client.build_proxy.get_list(
            ownername=owner, projectname=project, packagename=package.name
        )
    return package


def action_list_packages(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    fields = [
        "id", "auto_rebuild", "name", "ownername", "projectname", "source_dict",
        "source_type", "latest_succeeded_build", "latest_build",
    ]  # fmt: skip
    if args.with_all_builds:
        fields.insert(1, "builds")
    packages = ctx.client.package_proxy.get_list(
        ownername=owner,
        projectname=project,
        with_latest_build=args.with_latest_build,
        with_latest_succeeded_build=args.with_latest_succeeded_build,
        pagination={"limit": 1000},
    )
    printer = Printer(args.output_format, fields, as_list=True)
    while packages:
        for package in packages:
            printer.add(_with_builds(ctx, package, args))
        packages = next_page(packages)
    printer.finish()


def action_list_package_names(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    packages = ctx.client.package_proxy.get_list(
        ownername=owner, projectname=project, pagination={"limit": 1000}
    )
    while packages:
        for package in packages:
            print(package.name)
        packages = next_page(packages)


def action_get_package(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    package = ctx.client.package_proxy.get(
        ownername=owner,
        projectname=project,
        packagename=args.name,
        with_latest_build=args.with_latest_build,
        with_latest_succeeded_build=args.with_latest_succeeded_build,
    )
    fields = [
        "auto_rebuild", "id", "latest_build", "latest_succeeded_build", "name", "ownername",
        "projectname", "source_dict", "source_type",
    ]  # fmt: skip
    if args.with_all_builds:
        fields.insert(1, "builds")
    printer = Printer(args.output_format, fields)
    printer.add(_with_builds(ctx, package, args))
    printer.finish()


def action_delete_package(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    ctx.client.package_proxy.delete(ownername=owner, projectname=project, packagename=args.name)
    print(f"Package {args.name} was successfully deleted.")


def action_reset_package(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.copr)
    ctx.client.package_proxy.reset(ownername=owner, projectname=project, packagename=args.name)
    print("Package's default source was successfully reseted.")


def action_build_package(ctx: Context, args: argparse.Namespace) -> None:
    owner, project, dirname = ctx.parse_dirname(args.copr_repo)
    build = ctx.client.package_proxy.build(
        ownername=owner,
        projectname=project,
        packagename=args.name,
        buildopts=buildopts_from_args(args),
        project_dirname=dirname,
    )
    print_build_info_and_wait(ctx, [build], args)


MONITOR_DEFAULT_FIELDS = ["name", "chroot", "build_id", "state", "pkg_version"]
MONITOR_EXTRA_FIELDS = ["url_build_log", "url_backend_log"]
MONITOR_FIELDS = [*MONITOR_DEFAULT_FIELDS, *MONITOR_EXTRA_FIELDS, "url_build"]


def monitor_fields(value: str) -> list[str]:
    fields = [field.strip() for field in value.split(",")]
    unknown = [field for field in fields if field not in MONITOR_FIELDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"Unknown field(s) specified in --fields: {unknown}, allowed: {MONITOR_FIELDS}"
        )
    return fields


def action_monitor(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    fields = args.fields or MONITOR_DEFAULT_FIELDS
    extra = sorted(set(fields) & set(MONITOR_EXTRA_FIELDS)) or None
    data = ctx.client.monitor_proxy.monitor(
        ownername=owner, projectname=project, project_dirname=args.dirname,
        additional_fields=extra,
    )  # fmt: skip
    printer = Printer(args.output_format, fields, as_list=True)
    for package in data["packages"]:
        for chroot_name, chroot in package["chroots"].items():
            row = {"name": package["name"], "chroot": chroot_name, **chroot}
            if "url_build" in fields:
                row["url_build"] = ctx.build_url(chroot["build_id"])
            printer.add({key: value for key, value in row.items() if key in fields})
    printer.finish()


def register(subparsers: Any, sources: dict[str, argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--name", metavar="PKGNAME", required=True, help="Name of the package (required)."
    )
    common.add_argument("copr", help=project_help("The package's project"))
    common.add_argument(
        "--webhook-rebuild", choices=ON_OFF, help="Rebuild on pushes announced by webhooks."
    )
    common.add_argument(
        "--max-builds",
        help="Keep only this many newest builds of the package (0, the default, keeps all).",
    )
    common.add_argument(
        "--timeout", help="Seconds a build of the package may take (default 18000, 5 hours)."
    )
    common.add_argument(
        "--chroot-denylist",
        help="Comma separated chroot patterns never to build in, e.g. 'fedora-*,epel-*-i386'.",
    )

    edit_pypi = argparse.ArgumentParser(add_help=False, parents=[sources["pypi_optional"]])
    edit_pypi.add_argument(
        "--packagename", required=False, metavar="PYPINAME", help="Name of the PyPI package."
    )
    variants = {
        "pypi": ("PyPI", sources["pypi"], edit_pypi),
        "scm": ("SCM", sources["scm"], sources["scm"]),
        "distgit": ("DistGit", sources["distgit"], sources["distgit"]),
        "rubygems": ("RubyGems", sources["rubygems"], sources["rubygems"]),
        "custom": ("custom script", sources["custom"], sources["custom"]),
    }
    command_names = {"rubygems": "rubygems"}
    for source, (label, add_parent, edit_parent) in variants.items():
        name = command_names.get(source, source)
        parser = subparsers.add_parser(
            f"add-package-{name}", parents=[add_parent, common],
            help=f"Add a package built from {label} sources",
        )  # fmt: skip
        parser.set_defaults(
            func=action_add_or_edit_package, source_type=source, create=True, needs_auth=True
        )
        parser = subparsers.add_parser(
            f"edit-package-{name}", parents=[edit_parent, common],
            help=f"Change a package built from {label} sources",
        )  # fmt: skip
        parser.set_defaults(
            func=action_add_or_edit_package, source_type=source, create=False, needs_auth=True
        )

    with_builds = argparse.ArgumentParser(add_help=False)
    with_builds.add_argument(
        "--with-latest-build", action="store_true", help="Also show the latest build."
    )
    with_builds.add_argument(
        "--with-latest-succeeded-build", action="store_true",
        help="Also show the latest succeeded build.",
    )  # fmt: skip
    with_builds.add_argument(
        "--with-all-builds", action="store_true", help="Also show all builds of the package."
    )

    parser = subparsers.add_parser(
        "list-packages", parents=[with_builds], help="List the packages of a project"
    )
    parser.add_argument("copr", help=project_help())
    add_output_format(parser)
    parser.set_defaults(func=action_list_packages)

    parser = subparsers.add_parser(
        "list-package-names", help="List the names of a project's packages"
    )
    parser.add_argument("copr", help=project_help())
    parser.set_defaults(func=action_list_package_names)

    parser = subparsers.add_parser("get-package", parents=[with_builds], help="Show a package")
    parser.add_argument("copr", help=project_help())
    parser.add_argument("--name", metavar="PKGNAME", required=True, help="The package's name.")
    add_output_format(parser)
    parser.set_defaults(func=action_get_package)

    parser = subparsers.add_parser("delete-package", help="Delete a package and its builds")
    parser.add_argument("copr", help=project_help())
    parser.add_argument("--name", metavar="PKGNAME", required=True, help="The package's name.")
    parser.set_defaults(func=action_delete_package, needs_auth=True)

    parser = subparsers.add_parser("reset-package", help="Forget the default source of a package")
    parser.add_argument("copr", help=project_help())
    parser.add_argument("--name", metavar="PKGNAME", required=True, help="The package's name.")
    parser.set_defaults(func=action_reset_package, needs_auth=True)

    parser = subparsers.add_parser(
        "build-package", parents=[build_parent()], help="Build a package from its default source"
    )
    parser.add_argument("--name", metavar="PKGNAME", required=True, help="The package's name.")
    parser.set_defaults(func=action_build_package, needs_auth=True)

    parser = subparsers.add_parser(
        "monitor", help="Show the latest build of every package in every chroot"
    )
    parser.add_argument("project", help=project_help())
    parser.add_argument(
        "--dirname", help="The project directory, e.g. 'foo:pr:125' (default: the project's)."
    )
    add_output_format(parser)
    parser.add_argument(
        "--fields", type=monitor_fields,
        help=f"Comma separated fields to print, in order; of {', '.join(MONITOR_FIELDS)}.",
    )  # fmt: skip
    parser.set_defaults(func=action_monitor)
