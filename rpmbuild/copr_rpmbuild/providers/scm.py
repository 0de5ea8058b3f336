"""``scm`` sources: a git repository, a committish, a subdirectory and a spec.

Methods (``srpm_build_method``):

- ``rpkg`` (Copr's default) and ``spec``: the spec and its local sources sit in the
  subdirectory; remote ``Source`` URLs are downloaded as spectool would;
- ``make_srpm``: ``make -f <repo>/.copr/Makefile srpm outdir=... spec=...`` runs in the
  sandbox with network, from the subdirectory, and must leave one SRPM in ``outdir``;
- ``tito`` / ``tito_test``: ``tito build --srpm [--test]`` where tito is installed.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.lookaside import Lookaside, fetch_sources, split_repo_path
from copr_rpmbuild.providers.base import (
    SourceResult,
    inside,
    regular_file,
    single_spec,
    text_field,
)

METHODS = ("rpkg", "spec", "make_srpm", "tito", "tito_test")


def produce(ctx: BuildContext, source: dict[str, Any]) -> SourceResult:
    scm_type = text_field(source, "type", required=False) or "git"
    if scm_type != "git":
        raise BuildFailure(f"SCM type {scm_type!r} is not supported by this builder (use git)")
    clone_url = text_field(source, "clone_url")
    committish = text_field(source, "committish", required=False) or None
    subdirectory = text_field(source, "subdirectory", required=False)
    spec_name = text_field(source, "spec", required=False)
    method = text_field(source, "srpm_build_method", required=False) or "rpkg"
    if method not in METHODS:
        raise BuildFailure(f"unknown srpm_build_method {method!r}: use one of {', '.join(METHODS)}")

    repo = ctx.workspace / "repo"
    ctx.clone(clone_url, repo, committish)
    workdir = inside(repo, subdirectory, "subdirectory") if subdirectory else repo
    if not workdir.is_dir():
        raise BuildFailure(f"subdirectory {subdirectory!r} does not exist in {clone_url}")

    if method in ("rpkg", "spec"):
        spec = single_spec(workdir, spec_name, what=f"subdirectory {subdirectory or '/'}")
        _lookaside_sources(ctx, clone_url, spec.parent)
        return SourceResult(spec=spec, sourcedir=spec.parent)
    if method == "make_srpm":
        return _make_srpm(ctx, repo, workdir, spec_name)
    return _tito(ctx, workdir, test=method == "tito_test")


def _lookaside_sources(ctx: BuildContext, clone_url: str, directory: Path) -> None:
    """A dist-git checkout (a ``sources`` file, a known dist-git host) gets its lookaside
    files, as rpkg would fetch them."""
    host = urllib.parse.urlsplit(clone_url).hostname or ""
    for instance in ctx.settings.distgit_instances.values():
        if host in instance.clone_hostnames and (directory / instance.sources_file).is_file():
            namespace, name = split_repo_path(clone_url)
            lookaside = Lookaside(
                url=instance.lookaside_url,
                pattern=instance.lookaside_uri_pattern,
                name=name,
                namespace=namespace,
                default_hashtype=instance.default_hashtype,
            )
            fetch_sources(ctx, directory, lookaside, instance.sources_file)
            return


def _make_srpm(ctx: BuildContext, repo: Path, workdir: Path, spec_name: str) -> SourceResult:
    makefile = repo / ".copr" / "Makefile"
    if not makefile.is_file():
        raise BuildFailure("make_srpm needs .copr/Makefile in the repository root")
    outdir = ctx.subdir("make-srpm-out")
    box = ctx.sandbox(network=True)
    spec_arg = box.inside(inside(workdir, spec_name, "spec")) if spec_name else ""
    ctx.log.line("Running .copr/Makefile (target srpm) in the sandbox, with network")
    status = ctx.run_sandboxed(
        [
            "make",
            "-f",
            box.inside(makefile),
            "srpm",
            f"outdir={box.inside(outdir)}",
            f"spec={spec_arg}",
        ],
        cwd=workdir,
        network=True,
        describe="make srpm",
    )
    if status != 0:
        raise ctx.command_failed("'make srpm' of .copr/Makefile", status)
    return SourceResult(srpm=_one_srpm(ctx.checked(outdir), "make srpm"))


def _tito(ctx: BuildContext, workdir: Path, *, test: bool) -> SourceResult:
    tito = shutil.which(ctx.settings.tito_command)
    if tito is None:
        raise BuildFailure("srpm_build_method tito needs tito, which is not installed here")
    outdir = ctx.subdir("tito-out")
    box = ctx.sandbox(network=False)
    argv = [tito, "build", "--srpm", "--output", box.inside(outdir)]
    if test:
        argv.insert(2, "--test")
    status = ctx.run_sandboxed(argv, cwd=workdir, network=False, describe="tito build")
    if status != 0:
        raise ctx.command_failed("tito build", status)
    return SourceResult(srpm=_one_srpm(ctx.checked(outdir), "tito"))


def _one_srpm(outdir: Path, what: str) -> Path:
    srpms = sorted(p for p in outdir.glob("*.src.rpm") if regular_file(p))
    if len(srpms) != 1:
        found = ", ".join(p.name for p in srpms) or "none"
        raise BuildFailure(f"{what} must produce exactly one .src.rpm, found: {found}")
    return srpms[0]
