"""The RPM phase: dist-git sources at ``git_hash`` → SRPM and RPMs for the task's chroot.

The result dir gets the packages and ``results.json`` (``{"packages": [{name, epoch,
version, release, arch}, ...]}``), and — whether the build succeeds or not —
``buildroot.json``: ``{"buildroot": "mock" | "host", "buildrequires_not_installed": [...]}``.
A task with ``require_real_buildroot`` fails on a builder without mock.  A task with
``prebuilt_rpm_urls`` (a direct RPM upload) builds nothing: the RPMs are downloaded,
checked (intact, binary, for the chroot's architecture or noarch) and kept as results.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from copr_rpmbuild import rpmtools
from copr_rpmbuild.builders import choose_builder
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure, InfrastructureError, LimitExceeded
from copr_rpmbuild.fetch import FetchError
from copr_rpmbuild.lookaside import Lookaside, fetch_sources, split_repo_path
from copr_rpmbuild.providers.base import regular_file, single_spec
from copr_rpmbuild.rpmlint import lint_packages
from copr_rpmbuild.runner import disk_usage
from copr_rpmbuild.task import BuildTask

LOOKASIDE_PATTERN = "{namespace}/{name}/{filename}/{hashtype}/{hash}/{filename}"
BUILDROOT_FILE = "buildroot.json"


def fetch_distgit(ctx: BuildContext, task: BuildTask) -> tuple[Path, Path]:
    """Clone the task's dist-git repo and its lookaside sources; (spec, repo)."""
    if not task.git_repo:
        raise InfrastructureError("the task names no dist-git repository (git_repo)")
    repo = ctx.workspace / "repo"
    try:
        ctx.clone(task.git_repo, repo, task.git_hash)
    except FetchError as error:
        raise InfrastructureError(f"dist-git: {error}") from None
    namespace, name = split_repo_path(task.git_repo, ctx.settings.distgit_clone_url)
    lookaside = Lookaside(
        url=ctx.settings.distgit_lookaside_url,
        pattern=LOOKASIDE_PATTERN,
        name=name,
        namespace=namespace,
    )
    try:
        fetch_sources(ctx, repo, lookaside, "sources")
    except FetchError as error:
        raise InfrastructureError(f"dist-git lookaside: {error}") from None
    wanted = f"{task.package_name or name}.spec"
    spec = single_spec(repo, wanted if (repo / wanted).is_file() else "", what="dist-git repo")
    return spec, repo


def built_packages(directory: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(dirpath) / name
            if name.endswith(".rpm") and regular_file(path):
                found.append(path)
    return sorted(found, key=lambda p: p.name)


def record_buildroot(ctx: BuildContext, buildroot: str, missing: list[str]) -> None:
    """``buildroot.json``: what built the packages, and the BuildRequires it did not
    install (the backend reports both on the build chroot).
    """
    ctx.resultdir.mkdir(parents=True, exist_ok=True)
    record = {"buildroot": buildroot, "buildrequires_not_installed": missing}
    (ctx.resultdir / BUILDROOT_FILE).write_text(json.dumps(record, indent=4) + "\n")


def publish_prebuilt(ctx: BuildContext, task: BuildTask) -> dict[str, Any]:
    """A direct RPM upload: fetch the RPMs, check them, and pass them on as the results."""
    ctx.log.line(
        f"RPM phase: build {task.build_id} for {task.chroot}: publishing "
        f"{len(task.prebuilt_rpm_urls)} uploaded RPM(s) as they are; nothing is built"
    )
    arch = task.chroot_name.arch
    downloads = ctx.hostdir / "uploaded"
    downloads.mkdir(exist_ok=True)
    packages: list[Path] = []
    for url in task.prebuilt_rpm_urls:
        name = PurePosixPath(urlsplit(url).path).name
        if not name.endswith(".rpm") or name != PurePosixPath(name).name or name == ".rpm":
            raise InfrastructureError(f"the uploaded RPM's URL {url!r} names no .rpm file")
        try:
            path = ctx.download(url, downloads / name)
        except FetchError as error:
            raise InfrastructureError(f"cannot fetch the uploaded RPM: {error}") from None
        rpmtools.check_digests(path)
        nevra = rpmtools.query_package(path)
        if nevra.arch == "src":
            raise BuildFailure(f"the uploaded {name} is a source RPM, not a built package")
        if nevra.arch not in ("noarch", arch):
            raise BuildFailure(
                f"the uploaded {name} is built for {nevra.arch}, not for {task.chroot}"
            )
        ctx.log.line(f"Uploaded {name}: {nevra.name} {nevra.version}-{nevra.release} {nevra.arch}")
        packages.append(path)
    return _keep_results(ctx, task, packages)


def _keep_results(ctx: BuildContext, task: BuildTask, packages: list[Path]) -> dict[str, Any]:
    total = sum(p.stat().st_size for p in packages)
    if total > ctx.settings.max_result_size:
        raise LimitExceeded(
            f"the built packages take {total} bytes, over the limit of "
            f"{ctx.settings.max_result_size} bytes"
        )
    ctx.resultdir.mkdir(parents=True, exist_ok=True)
    nevras = []
    for package in packages:
        nevras.append(rpmtools.query_package(package).as_dict())
        shutil.copyfile(package, ctx.resultdir / package.name)
        ctx.log.line(f"Wrote {package.name}")
    lint, failure = lint_packages(ctx, task, [ctx.resultdir / p.name for p in packages])
    results = {"packages": nevras, "rpmlint": lint}
    (ctx.resultdir / "results.json").write_text(json.dumps(results, indent=4) + "\n")
    ctx.log.line(f"Result dir holds {disk_usage(ctx.resultdir)} bytes")
    if failure is not None:
        raise failure
    return results


def run_rpm_phase(ctx: BuildContext, task: BuildTask) -> dict[str, Any]:
    if task.prebuilt_rpm_urls:
        return publish_prebuilt(ctx, task)
    builder = choose_builder(ctx)
    ctx.log.line(f"RPM phase: build {task.build_id} for {task.chroot}")
    ctx.log.line(builder.describe(task))
    if task.require_real_buildroot and builder.buildroot != "mock":
        ctx.log.line("The project requires a real buildroot (a mock chroot)")
    spec, repo = fetch_distgit(ctx, task)
    missing = builder.missing_buildrequires(ctx, task, spec)
    record_buildroot(ctx, builder.buildroot, missing)
    if missing:
        ctx.log.line("BuildRequires not installed by this buildroot: " + ", ".join(missing))
    if task.require_real_buildroot and builder.buildroot != "mock":
        needed = f", which does not install BuildRequires: {', '.join(missing)}" if missing else ""
        raise BuildFailure(
            "the project requires a real buildroot (a mock chroot), but this builder has "
            f"only the host system{needed}"
        )
    outdir = builder.build(ctx, task, spec, repo)
    packages = built_packages(ctx.checked(outdir))
    if not any(not p.name.endswith(".src.rpm") for p in packages):
        raise BuildFailure("the build finished without making any binary RPM")
    return _keep_results(ctx, task, packages)
