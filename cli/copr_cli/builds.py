"""Build commands: submit from every source, status, watch, cancel, delete, download."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from copr.v3 import CoprException, next_page
from copr_cli.context import Context
from copr_cli.download import (
    LOG_PATTERNS,
    REVIEW_PATTERNS,
    RPM_PATTERNS,
    SPEC_PATTERNS,
    download_tree,
)
from copr_cli.errors import BadArgument
from copr_cli.options import build_parent, buildopts_from_args, project_help
from copr_cli.output import Field, Printer, add_output_format, colorize
from copr_cli.progress import ProgressBar
from copr_cli.verify import VerificationFailed, verify_files
from copr_cli.watch import watch_builds


def print_build_info_and_wait(ctx: Context, builds: list[Any], args: argparse.Namespace) -> None:
    """What every build command prints after submitting (scripts parse it)."""
    print(f"Build was added to {builds[0].projectname}:")
    for build in builds:
        print(f"  {ctx.build_url(build.id)}")
    ids = [int(build.id) for build in builds]
    print(f"Created builds: {' '.join(map(str, ids))}")
    if not args.nowait:
        watch_builds(ctx, ids)


def _upload(path: str, upload: Callable[..., Any], options: dict[str, Any], **kwargs: Any) -> Any:
    """Upload ``path`` through ``upload`` with a progress bar on a terminal's stderr."""
    bar = ProgressBar(Path(path).stat().st_size)
    print(f"Uploading package {path}")
    sys.stdout.flush()
    try:
        return upload(path=path, buildopts={**options, "progress_callback": bar}, **kwargs)
    finally:
        bar.finish()


def action_build(ctx: Context, args: argparse.Namespace) -> None:
    owner, project, dirname = ctx.parse_dirname(args.copr_repo)
    options = buildopts_from_args(args)
    target = {"ownername": owner, "projectname": project, "project_dirname": dirname}
    # Check the project and the permission before uploading a possibly large SRPM.
    ctx.client.build_proxy.check_before_build(buildopts=options, **target)
    builds = []
    for pkg in args.pkgs:
        if Path(pkg).exists():
            builds.append(_upload(pkg, ctx.client.build_proxy.create_from_file, options, **target))
        elif not urlparse(pkg).scheme:
            raise CoprException(f"File {pkg} not found")
        else:
            builds.append(
                ctx.client.build_proxy.create_from_url(url=pkg, buildopts=options, **target)
            )
    print_build_info_and_wait(ctx, builds, args)


def action_upload_rpm(ctx: Context, args: argparse.Namespace) -> None:
    owner, project, dirname = ctx.parse_dirname(args.copr_repo)
    if not Path(args.rpm).exists():
        raise CoprException(f"File {args.rpm} not found")
    build = _upload(
        args.rpm,
        ctx.client.build_proxy.create_from_rpm_upload,
        buildopts_from_args(args),
        ownername=owner,
        projectname=project,
        project_dirname=dirname,
    )
    print_build_info_and_wait(ctx, [build], args)


def _submit(ctx: Context, args: argparse.Namespace, create: Any, data: dict[str, Any]) -> None:
    owner, project, dirname = ctx.parse_dirname(args.copr_repo)
    result = create(
        ownername=owner,
        projectname=project,
        project_dirname=dirname,
        buildopts=buildopts_from_args(args),
        **data,
    )
    print_build_info_and_wait(ctx, result if isinstance(result, list) else [result], args)


def action_build_pypi(ctx: Context, args: argparse.Namespace) -> None:
    _submit(ctx, args, ctx.client.build_proxy.create_from_pypi, {
        "pypi_package_name": args.packagename,
        "pypi_package_version": args.packageversion,
        "spec_generator": args.spec_generator,
        "spec_template": args.spec_template,
        "python_versions": args.pythonversions,
    })  # fmt: skip


def action_build_scm(ctx: Context, args: argparse.Namespace) -> None:
    _submit(ctx, args, ctx.client.build_proxy.create_from_scm, {
        "clone_url": args.clone_url,
        "committish": args.committish,
        "subdirectory": args.subdirectory,
        "spec": args.spec,
        "scm_type": args.scm_type,
        "source_build_method": args.srpm_build_method,
    })  # fmt: skip


def action_build_distgit(ctx: Context, args: argparse.Namespace) -> None:
    _submit(ctx, args, ctx.client.build_proxy.create_from_distgit, {
        "packagename": args.pkgname,
        "distgit": args.instance,
        "namespace": args.namespace,
        "committish": args.committish,
    })  # fmt: skip


def action_build_rubygems(ctx: Context, args: argparse.Namespace) -> None:
    _submit(ctx, args, ctx.client.build_proxy.create_from_rubygems, {"gem_name": args.gem_name})


def action_build_custom(ctx: Context, args: argparse.Namespace) -> None:
    _submit(ctx, args, ctx.client.build_proxy.create_from_custom, {
        "script": args.script,
        "script_chroot": args.script_chroot,
        "script_builddeps": args.script_builddeps,
        "script_resultdir": args.script_resultdir,
        "script_repos": args.script_repos,
    })  # fmt: skip


def read_script(path: str) -> str:
    """The content of ``--script`` (``-`` is standard input); a bad path is exit 2."""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise argparse.ArgumentTypeError(f"can't read {path!r}: {error}") from None


def action_status(ctx: Context, args: argparse.Namespace) -> None:
    build = ctx.client.build_proxy.get(args.build_id)
    print(colorize(str(build.state), ctx.color))


def action_cancel(ctx: Context, args: argparse.Namespace) -> None:
    # One id goes through build/cancel/<id> and prints the state, as copr-cli 2.6 does.
    if len(args.build_id) == 1:
        print(ctx.client.build_proxy.cancel(args.build_id[0]).state)
        return
    result = ctx.client.build_proxy.cancel_list(args.build_id)
    print(f"Build(s) {', '.join(map(str, result['builds']))} were canceled.")


def action_wave(ctx: Context, args: argparse.Namespace) -> None:
    wave = ctx.client.build_proxy.get_wave(args.wave_id)
    print(f"Rebuild wave {wave['id']} of {wave['project']}, started by build "
          f"{wave['trigger_build_id']}")  # fmt: skip
    print(f"Builds: {', '.join(map(str, wave['builds'])) or '(none)'}")
    for cycle in wave["cycles"]:
        print(f"Broke the cycle: {' -> '.join([*cycle, cycle[0]])}")


def action_cancel_wave(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.client.build_proxy.cancel_wave(args.wave_id)
    if result["builds"]:
        print(f"Build(s) {', '.join(map(str, result['builds']))} were canceled.")
    else:
        print(f"No build of rebuild wave {result['wave_id']} was left to cancel.")


def action_cancel_pending(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    result = ctx.client.project_proxy.cancel_pending(owner, project)
    if result["builds"]:
        print(f"Build(s) {', '.join(map(str, result['builds']))} were canceled.")
    else:
        print(f"No build of {owner}/{project} was waiting for a builder.")


def action_watch_build(ctx: Context, args: argparse.Namespace) -> None:
    watch_builds(ctx, args.build_id, interval=args.interval)


def action_delete_build(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.client.build_proxy.delete_list(args.build_id)
    print(f"Build(s) {', '.join(map(str, result['builds']))} were deleted.")


def action_list_builds(ctx: Context, args: argparse.Namespace) -> None:
    owner, project = ctx.parse_name(args.project)
    builds = ctx.client.build_proxy.get_list(owner, project, pagination={"limit": 1000})
    output_format = args.output_format
    if not output_format:
        output_format = "text-row"
        sys.stderr.write(
            "The default setting will be changed from text-row to json in the following "
            "releases\n"
        )
    fields: list[Field] = ["id", ("name", _package_name), "state"]
    printer = Printer(output_format, fields, as_list=True)
    while builds:
        for build in builds:
            printer.add(build)
        builds = next_page(builds)
    printer.finish()


def _package_name(build: Any) -> Any:
    return build["source_package"]["name"]


def action_download_build(ctx: Context, args: argparse.Namespace) -> None:
    patterns: list[str] = []
    for flag, flag_patterns in (
        (args.rpms, RPM_PATTERNS),
        (args.spec, SPEC_PATTERNS),
        (args.logs, LOG_PATTERNS),
        (args.review, REVIEW_PATTERNS),
    ):
        if flag:
            patterns += flag_patterns
    chroots = ctx.client.build_chroot_proxy.get_list(args.build_id)
    for chroot in chroots:
        if args.chroots and chroot.name not in args.chroots:
            continue
        if not chroot.get("result_url"):
            sys.stderr.write(f"No data for build id: {args.build_id} and chroot: {chroot.name}.\n")
            continue
        destination = Path(args.dest) / str(chroot.name)
        url = str(chroot.result_url)
        written = download_tree(url, destination, patterns)
        if args.review:
            written += download_tree(url.rstrip("/") + "/fedora-review/", destination, patterns)
        print(f"{chroot.name}: {len(written)} file(s) in {destination}")


def action_verify_rpm(ctx: Context, args: argparse.Namespace) -> None:
    build = ctx.client.build_proxy.get(args.build_id)
    chroots = [
        c for c in ctx.client.build_chroot_proxy.get_list(args.build_id)
        if (not args.chroot or c.name == args.chroot) and c.get("attestations")
    ]  # fmt: skip
    if not chroots:
        where = f"chroot {args.chroot} of build" if args.chroot else "build"
        raise VerificationFailed(f"{where} {args.build_id} has no signed provenance")
    if len(chroots) > 1:
        names = ", ".join(str(c.name) for c in chroots)
        raise BadArgument(f"build {args.build_id} has several chroots ({names}): name one with -r")
    pubkey_url = f"{str(build.repo_url).rstrip('/')}/pubkey.gpg"
    for line in verify_files(chroots[0], pubkey_url, [Path(f) for f in args.files]):
        print(line)


def _positive_id(what: str) -> Any:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what}: {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"invalid {what}: {value!r}")
        return number

    return parse


positive_build_id = _positive_id("build ID")
positive_wave_id = _positive_id("wave ID")


def add_source_options(subparsers: Any) -> dict[str, argparse.ArgumentParser]:
    """Parent parsers of each source type (shared by build and package commands)."""
    pypi_optional = argparse.ArgumentParser(add_help=False)
    pypi_optional.add_argument(
        "--pythonversions", nargs="*", type=int, metavar="VERSION",
        help="Python versions to build for (default: 3 2).",
    )  # fmt: skip
    pypi_optional.add_argument(
        "--packageversion", metavar="PYPIVERSION",
        help="Version of the PyPI package (default: the latest).",
    )  # fmt: skip
    pypi_optional.add_argument(
        "--spec-generator", dest="spec_generator", choices=["pyp2rpm", "pyp2spec"],
        default="pyp2spec", help="Tool generating the spec file (default: pyp2spec).",
    )  # fmt: skip
    pypi_optional.add_argument(
        "--template", "-t", dest="spec_template",
        help="Spec template for pyp2rpm.",
    )  # fmt: skip
    pypi = argparse.ArgumentParser(add_help=False, parents=[pypi_optional])
    pypi.add_argument(
        "--packagename", required=True, metavar="PYPINAME",
        help="Name of the PyPI package to build (required).",
    )  # fmt: skip

    scm = argparse.ArgumentParser(add_help=False)
    scm.add_argument(
        "--clone-url", required=True, help="Clone URL of a git or svn repository (required)."
    )
    scm.add_argument(
        "--commit", dest="committish", default="", help="Branch, tag or commit to build."
    )
    scm.add_argument(
        "--subdir", dest="subdirectory", default="",
        help="Path of the package's directory inside the repository.",
    )  # fmt: skip
    scm.add_argument("--spec", default="", help="Path of the spec file inside the subdirectory.")
    scm.add_argument(
        "--type", dest="scm_type", choices=["git", "svn"], default="git",
        help="Version control system (default: git).",
    )  # fmt: skip
    scm.add_argument(
        "--method", dest="srpm_build_method", default="rpkg",
        choices=["rpkg", "tito", "tito_test", "make_srpm"],
        help="How the SRPM is made (default: rpkg).",
    )  # fmt: skip

    distgit = argparse.ArgumentParser(add_help=False)
    distgit.add_argument(
        "--commit", dest="committish", default=None,
        help="Branch, tag or commit to build from.",
    )  # fmt: skip
    distgit.add_argument(
        "--namespace", default=None,
        help="Namespace of the package in a namespaced DistGit (e.g. '@copr/copr').",
    )  # fmt: skip
    distgit.add_argument(
        "--distgit", dest="instance", default=None,
        help="The DistGit instance to build from, e.g. 'fedora'.",
    )  # fmt: skip

    rubygems = argparse.ArgumentParser(add_help=False)
    rubygems.add_argument("--gem", metavar="GEM", dest="gem_name", help="Name of the gem.")

    custom = argparse.ArgumentParser(add_help=False)
    custom.add_argument(
        "--script", required=True, metavar="SCRIPT", type=read_script,
        help="File with the script that prepares the sources ('-' for standard input).",
    )  # fmt: skip
    custom.add_argument("--script-chroot", help="The chroot the script runs in.")
    custom.add_argument(
        "--script-builddeps", type=lambda value: value.split(),
        help="Space separated packages the script needs.",
    )  # fmt: skip
    custom.add_argument(
        "--script-resultdir",
        help="Where the script leaves its results, relative to its working directory "
        "(default: '.').",
    )
    custom.add_argument(
        "--script-repos", help="Space separated repository URLs for the script's dependencies."
    )
    return {
        "pypi_optional": pypi_optional,
        "pypi": pypi,
        "scm": scm,
        "distgit": distgit,
        "rubygems": rubygems,
        "custom": custom,
    }


def register(subparsers: Any, sources: dict[str, argparse.ArgumentParser]) -> None:
    parent = build_parent()

    parser = subparsers.add_parser(
        "build", parents=[parent], help="Build SRPMs (files or URLs) or spec files in a project"
    )
    parser.add_argument("pkgs", nargs="+", help="SRPM or spec files, or their URLs.")
    parser.set_defaults(func=action_build, needs_auth=True)

    parser = subparsers.add_parser(
        "uploadrpm", parents=[parent],
        help="Publish an already built binary RPM in a project, without an SRPM build",
    )  # fmt: skip
    parser.add_argument("rpm", help="The local .rpm file to publish.")
    parser.set_defaults(func=action_upload_rpm, needs_auth=True)

    parser = subparsers.add_parser(
        "buildpypi", parents=[sources["pypi"], parent], help="Build a PyPI package in a project"
    )
    parser.set_defaults(func=action_build_pypi, needs_auth=True)

    parser = subparsers.add_parser(
        "buildgem", parents=[sources["rubygems"], parent],
        help="Build a gem from rubygems.org in a project",
    )  # fmt: skip
    parser.set_defaults(func=action_build_rubygems, needs_auth=True)

    parser = subparsers.add_parser(
        "buildcustom", parents=[sources["custom"], parent],
        help="Build from an SRPM a custom script makes",
    )  # fmt: skip
    parser.set_defaults(func=action_build_custom, needs_auth=True)

    parser = subparsers.add_parser(
        "buildscm", parents=[sources["scm"], parent],
        help="Build a package from a git or svn repository",
    )  # fmt: skip
    parser.set_defaults(func=action_build_scm, needs_auth=True)

    parser = subparsers.add_parser(
        "build-distgit", parents=[sources["distgit"], parent],
        help="Build a package from a DistGit repository",
        description="Build a package from a DistGit repository (see 'add-package-distgit').",
    )  # fmt: skip
    parser.add_argument(
        "--name", dest="pkgname", required=True, help="Name of the package in the DistGit."
    )
    parser.set_defaults(func=action_build_distgit, needs_auth=True)

    parser = subparsers.add_parser("status", help="Print the state of a build")
    parser.add_argument("build_id", type=positive_build_id, help="Build ID")
    parser.set_defaults(func=action_status)

    parser = subparsers.add_parser("download-build", help="Download the results of a build")
    parser.add_argument("build_id", type=positive_build_id, help="Build ID")
    parser.add_argument(
        "-r", "--chroot", dest="chroots", metavar="CHROOT", action="append",
        help="Only this chroot (repeatable).",
    )  # fmt: skip
    parser.add_argument(
        "--dest", "-d", dest="dest", default=".", help="Where to store the results (default: .)."
    )
    parser.add_argument("--rpms", action="store_true", help="Only the built RPM packages.")
    parser.add_argument("--spec", action="store_true", help="Only the spec file.")
    parser.add_argument("--review", action="store_true", help="Only the fedora-review files.")
    parser.add_argument("--logs", action="store_true", help="Only the log files.")
    parser.set_defaults(func=action_download_build)

    parser = subparsers.add_parser(
        "verify-rpm",
        help="Check RPM files against their build's provenance, signed by the project's key",
    )
    parser.add_argument("build_id", type=positive_build_id, help="Build ID")
    parser.add_argument("files", nargs="+", metavar="RPM", help="The package files to check.")
    parser.add_argument("-r", "--chroot", help="The build's chroot (needed when it has several).")
    parser.set_defaults(func=action_verify_rpm)

    parser = subparsers.add_parser(
        "cancel", help="Cancel builds (all of them, or none when one has already ended)"
    )
    parser.add_argument("build_id", nargs="+", type=positive_build_id, help="Build ID")
    parser.set_defaults(func=action_cancel, needs_auth=True)

    parser = subparsers.add_parser(
        "wave",
        help="Show a rebuild of dependents (a wave): what started it, its builds, its cycles",
    )
    parser.add_argument("wave_id", type=positive_build_id, help="Wave ID")
    parser.set_defaults(func=action_wave)

    parser = subparsers.add_parser(
        "cancel-wave",
        help="Cancel the rebuilds of dependents one build started (its 'triggered_by' wave)",
    )
    parser.add_argument("wave_id", type=positive_wave_id, help="Wave ID")
    parser.set_defaults(func=action_cancel_wave, needs_auth=True)

    parser = subparsers.add_parser(
        "cancel-pending",
        help="Cancel every build of a project that no builder has taken yet",
    )
    parser.add_argument("project", help=project_help())
    parser.set_defaults(func=action_cancel_pending, needs_auth=True)

    parser = subparsers.add_parser(
        "watch-build", help="Follow the state of builds, and of their chroots, until they end"
    )
    parser.add_argument("build_id", nargs="+", type=positive_build_id, help="Build ID")
    parser.add_argument(
        "--interval", type=float, default=30.0, metavar="SECONDS",
        help="Seconds between two polls of the server (default: 30).",
    )  # fmt: skip
    parser.set_defaults(func=action_watch_build)

    parser = subparsers.add_parser("delete-build", help="Delete builds")
    parser.add_argument("build_id", nargs="+", type=positive_build_id, help="Build ID")
    parser.set_defaults(func=action_delete_build, needs_auth=True)

    parser = subparsers.add_parser("list-builds", help="List the builds of a project")
    parser.add_argument("project", help=project_help())
    add_output_format(parser, default=None)
    parser.set_defaults(func=action_list_builds)
