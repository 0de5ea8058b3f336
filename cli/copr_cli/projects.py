"""Project commands: list, get, create, modify, delete, fork, regenerate-repos."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from copr.v3 import CoprException, CoprNoResultException
from copr_cli.context import Context, log
from copr_cli.options import (
    ISOLATIONS,
    ON_OFF,
    REBUILD_DEPENDENTS,
    on_off,
    project_help,
    str2bool,
)
from copr_cli.output import print_project_info

BOOTSTRAP_MAP = {"default": "default", "on": "on", "off": "off", "image": "image", None: "default"}


def action_list(ctx: Context, args: argparse.Namespace) -> None:
    owner = args.username
    if not owner:
        try:
            owner = ctx.username
        except CoprException:
            log.error(
                "The 'username|@groupname' not specified.  Either specify it, or "
                "authenticate to list your projects."
            )
            raise
    projects = ctx.client.project_proxy.get_list(owner)
    if not projects:
        sys.stderr.write(f"No copr retrieved for user: '{owner}'\n")
        return
    for project in projects:
        print_project_info(project)


def action_get(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    print_project_info(ctx.client.project_proxy.get(owner, project))


def _common_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "description": args.description,
        "instructions": args.instructions,
        "chroots": args.chroots,
        "additional_repos": args.repos,
        "devel_mode": args.disable_createrepo,
        "unlisted_on_hp": on_off(args.unlisted_on_hp),
        "enable_net": on_off(args.enable_net),
        "auto_prune": on_off(args.auto_prune),
        "isolation": args.isolation,
        "follow_fedora_branching": on_off(args.follow_fedora_branching),
        "delete_after_days": args.delete_after_days,
        "multilib": on_off(args.multilib),
        "module_hotfixes": on_off(args.module_hotfixes),
        "appstream": on_off(args.appstream),
        "runtime_dependencies": args.runtime_dependencies,
        "packit_forge_projects_allowed": args.packit_forge_projects_allowed,
        "repo_priority": args.repo_priority,
        "require_real_buildroot": on_off(args.require_real_buildroot),
        "rpmlint_fail_on_errors": on_off(args.rpmlint_fail_on_errors),
        "rebuild_dependents": args.rebuild_dependents,
        "keep_builds": args.keep_builds,
        "email_notifications": on_off(args.email_notifications),
    }


def action_create(ctx: Context, args: argparse.Namespace) -> None:
    owner, name = ctx.parse_name(args.name)
    ctx.client.project_proxy.add(
        ownername=owner,
        projectname=name,
        persistent=args.persistent,
        bootstrap=BOOTSTRAP_MAP[args.bootstrap],
        fedora_review=args.fedora_review,
        storage=args.storage,
        **_common_settings(args),
    )
    print(f"New project was successfully created: {ctx.project_url(owner, name)}")


def action_modify(ctx: Context, args: argparse.Namespace) -> None:
    owner, name = ctx.parse_name(args.name)
    ctx.client.project_proxy.edit(
        ownername=owner,
        projectname=name,
        bootstrap=None if args.bootstrap is None else BOOTSTRAP_MAP[args.bootstrap],
        fedora_review=on_off(args.fedora_review),
        **_common_settings(args),
    )


def action_delete(ctx: Context, args: argparse.Namespace) -> None:
    owner, name = ctx.parse_name(args.copr)
    project = ctx.client.project_proxy.delete(ownername=owner, projectname=name)
    print(f"Project {project.name} has been deleted.")


def action_fork(ctx: Context, args: argparse.Namespace) -> None:
    src_owner, src_name = ctx.parse_name(args.src)
    dst_owner, dst_name = ctx.parse_name(args.dst)
    try:
        existing = ctx.client.project_proxy.get(ownername=dst_owner, projectname=dst_name)
    except CoprNoResultException:
        existing = None
    project = ctx.client.project_proxy.fork(
        ownername=src_owner,
        projectname=src_name,
        dstownername=dst_owner,
        dstprojectname=dst_name,
        confirm=args.confirm,
    )
    if existing is None:
        print(
            f"Forking project {src_owner}/{src_name} for you into {project.full_name}.\n"
            "Please be aware that it may take a few minutes to duplicate backend data."
        )
    else:
        print(
            f"Updating packages in {project.full_name} from {src_owner}/{src_name}.\n"
            "Please be aware that it may take a few minutes to duplicate backend data."
        )


def action_regenerate_repos(ctx: Context, args: argparse.Namespace) -> None:
    owner, name = ctx.parse_name(args.copr)
    project = ctx.client.project_proxy.regenerate_repos(owner, name)
    print(
        "Submitted action to regenerate repository metadata for the "
        f"'{project.full_name}' project."
    )


def _add_settings(parser: argparse.ArgumentParser, creating: bool) -> None:
    """Options ``create`` and ``modify`` share; ``modify`` defaults to "don't change"."""

    def default(value: str) -> str | None:
        return value if creating else None

    keep = "" if creating else " (default: don't change)"
    parser.add_argument(
        "--chroot", dest="chroots", metavar="CHROOT", action="append",
        help="A chroot to build for (repeatable).",
    )  # fmt: skip
    parser.add_argument("--description", help="Description of the project.")
    parser.add_argument("--instructions", help="Instructions for the project's users.")
    parser.add_argument(
        "--disable_createrepo", type=str2bool, help="Do not regenerate repodata after builds."
    )
    parser.add_argument(
        "--enable-net", choices=ON_OFF, default=default("off"),
        help="Network access for the project's builds" + (" (default: off)" if creating else keep),
    )  # fmt: skip
    parser.add_argument(
        "--unlisted-on-hp", choices=ON_OFF, help="Do not list the project on the home page."
    )
    parser.add_argument(
        "--auto-prune", choices=ON_OFF, default=default("on"),
        help="Delete obsolete builds automatically (admins only)" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--isolation", choices=ISOLATIONS, default=default("default"),
        help="Isolation of the buildroot commands" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--bootstrap", choices=["default", "on", "off", "image"],
        help="Mock's bootstrap chroot: 'on', 'off', 'image' (from a container image), or "
        "'default' (mock's configuration)" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--delete-after-days", default=None, metavar="DAYS",
        help="Delete the project after DAYS days" + ("" if creating else "; -1 disables"),
    )  # fmt: skip
    parser.add_argument(
        "--module-hotfixes", choices=ON_OFF, default=default("off"),
        help="Let the project's packages override packages of active module streams" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--multilib", choices=ON_OFF, default=default("off"),
        help="Offer 32-bit packages to 64-bit multilib systems" + keep,
    )  # fmt: skip
    if creating:
        parser.add_argument(
            "--fedora-review", action="store_true", default=False,
            help="Run fedora-review after each build (its failure does not fail the build).",
        )  # fmt: skip
    else:
        parser.add_argument(
            "--fedora-review", choices=ON_OFF,
            help="Run fedora-review after each build" + keep,
        )  # fmt: skip
    parser.add_argument(
        "--appstream", choices=ON_OFF, default=default("off"),
        help="Generate AppStream metadata (slows large projects down)" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--require-real-buildroot", choices=ON_OFF, default=default("off"),
        help="Build only in mock chroots: on a builder with only its host system (which does "
        "not install BuildRequires) builds fail instead of succeeding" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--rpmlint-fail-on-errors", choices=ON_OFF, default=default("off"),
        help="Fail builds whose packages rpmlint finds errors in (rpmlint runs on every "
        "build; its report is rpmlint.txt in the results)" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--rebuild-dependents", choices=REBUILD_DEPENDENTS, default=default("off"),
        help="When a build changes what its package provides, rebuild the packages here "
        "that BuildRequire it: 'direct' only those, 'transitive' their dependents too"
        + keep,
    )  # fmt: skip
    parser.add_argument(
        "--keep-builds", type=int, default=None, metavar="N",
        help="Keep only the newest N finished builds of each package in each chroot; "
        "older ones are pruned daily" + ("" if creating else "; 0 removes the limit"),
    )  # fmt: skip
    parser.add_argument(
        "--email-notifications", choices=ON_OFF, default=default("off"),
        help="E-mail the submitter when a build ends (to users who asked for build e-mail "
        "with 'copr-cli mail-settings')" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--follow-fedora-branching", choices=ON_OFF, default=default("on"),
        help="Add the chroots of a newly branched Fedora automatically" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--repo-priority", default=None,
        help="The dnf 'priority=' of the project's repositories" + keep,
    )  # fmt: skip
    parser.add_argument(
        "--repo", dest="repos", action="append", metavar="REPO_BASEURL",
        help="A repository enabled when building (repeatable).",
    )  # fmt: skip
    parser.add_argument(
        "--runtime-repo-dependency", dest="runtime_dependencies", action="append",
        metavar="REPO_BASEURL",
        help="A repository enabled together with the project's, e.g. by 'dnf copr enable' "
        "(repeatable).",
    )  # fmt: skip
    parser.add_argument(
        "--packit-forge-project-allowed", dest="packit_forge_projects_allowed",
        action="append", metavar="FORGE_PROJECT",
        help="A forge project (e.g. github.com/packit/ogr, wildcards allowed) that may build "
        "here through Packit (repeatable).",
    )  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("list", help="List the projects of a user or group")
    parser.add_argument(
        "username", metavar="username|@groupname", nargs="?",
        help="Whose projects to list (default: yours).",
    )  # fmt: skip
    parser.set_defaults(func=action_list)

    parser = subparsers.add_parser("get", help="Show a project")
    parser.add_argument("project", help=project_help())
    parser.set_defaults(func=action_get)

    parser = subparsers.add_parser("create", help="Create a new project")
    parser.add_argument("name", help="Name of the project to create ('[owner/]name').")
    parser.add_argument(
        "--initial-pkgs", dest="initial_pkgs", action="append",
        help="Accepted for compatibility with older copr-cli; not used.",
    )  # fmt: skip
    parser.add_argument(
        "--persistent", action="store_true",
        help="Make the project and its builds undeletable (admins only).",
    )  # fmt: skip
    parser.add_argument(
        "--storage", choices=["backend", "pulp"],
        help="Where the project's results are stored (admins only).",
    )  # fmt: skip
    _add_settings(parser, creating=True)
    parser.set_defaults(func=action_create, needs_auth=True)

    parser = subparsers.add_parser("modify", help="Change an existing project")
    parser.add_argument("name", help="Name of the project to change ('[owner/]name').")
    _add_settings(parser, creating=False)
    parser.set_defaults(func=action_modify, needs_auth=True)

    parser = subparsers.add_parser("delete", help="Delete a project with all its builds")
    parser.add_argument("copr", help=project_help("The project to delete"))
    parser.set_defaults(func=action_delete, needs_auth=True)

    parser = subparsers.add_parser("fork", help="Fork a project with its builds")
    parser.add_argument("src", help=project_help("The project to fork"))
    parser.add_argument("dst", help="Name of the new project ('[owner/]name').")
    parser.add_argument(
        "--confirm", action="store_true", help="Confirm forking into an existing project."
    )
    parser.set_defaults(func=action_fork, needs_auth=True)

    parser = subparsers.add_parser(
        "regenerate-repos",
        help="Regenerate the repository metadata of a project (useful when automatic "
        "regeneration is disabled)",
    )
    parser.add_argument("copr", help=project_help())
    parser.set_defaults(func=action_regenerate_repos, needs_auth=True)
