"""The source phase: a task's source → one SRPM and ``results.json`` in the result dir.

``results.json`` holds the SRPM's ``name``, ``epoch``, ``version`` and ``release``, its
``url`` (the spec's ``URL`` tag, ``null`` without one), the
``exclusivearch``/``excludearch`` tags as built, and ``architecture_specific_tags``: per
distro of the build (``fedora-41``) the ``exclusivearch``, ``excludearch`` and
``buildarch`` values the spec gives under that distro's macros.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any

from copr_common.chroots import ChrootName
from copr_rpmbuild import rpmtools
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.macros import copr_macros
from copr_rpmbuild.providers import provider_for
from copr_rpmbuild.providers.base import regular_file
from copr_rpmbuild.task import SrpmTask

_REMOTE = ("http://", "https://", "ftp://")


def source_filename(value: str) -> str:
    """The local name of a Source value; ``url#/name`` names the file explicitly."""
    if "#/" in value:
        return PurePosixPath(value.rsplit("#/", 1)[1]).name
    return PurePosixPath(urllib.parse.urlsplit(value).path).name


def download_missing_sources(ctx: BuildContext, spec: Path, sourcedir: Path, load: Path) -> None:
    """Fetch each remote Source/Patch of ``spec`` not already in ``sourcedir`` (spectool -g)."""
    box = ctx.sandbox(network=False)
    values = rpmtools.spec_sources(box, ctx.limits, spec, {}, load)
    sourcedir = ctx.checked(sourcedir)
    for value in values:
        if not value.lower().startswith(_REMOTE):
            continue
        name = source_filename(value)
        if not name or name in (".", ".."):
            raise BuildFailure(f"cannot tell the file name of source {value!r}")
        if (sourcedir / name).exists():
            continue
        ctx.download(value.split("#", 1)[0], sourcedir / name)


def build_srpm_from_spec(ctx: BuildContext, spec: Path, sourcedir: Path) -> Path:
    load = ctx.macros_file
    download_missing_sources(ctx, spec, sourcedir, load)
    out = ctx.subdir("srpm-out")
    box = ctx.sandbox(network=False)
    ctx.log.line(f"Building the SRPM from {spec.name} (rpmbuild -bs, sandboxed, no network)")
    status = ctx.run_sandboxed(
        [
            "rpmbuild",
            "-bs",
            "--nodeps",
            "--load",
            box.inside(load),
            "--define",
            f"_topdir {box.inside(ctx.subdir('rpmbuild'))}",
            "--define",
            f"_sourcedir {box.inside(sourcedir)}",
            "--define",
            f"_srcrpmdir {box.inside(out)}",
            box.inside(spec),
        ],
        cwd=spec.parent,
        network=False,
        describe="rpmbuild -bs",
    )
    if status != 0:
        raise ctx.command_failed("rpmbuild -bs", status)
    srpms = [p for p in ctx.checked(out).glob("*.src.rpm") if regular_file(p)]
    if len(srpms) != 1:
        raise BuildFailure("rpmbuild -bs did not leave exactly one SRPM")
    return srpms[0]


def extract_spec(ctx: BuildContext, srpm: Path) -> Path:
    """The spec inside ``srpm``, unpacked in the sandbox."""
    target = ctx.subdir("srpm-spec")
    box = ctx.sandbox(network=False)
    status = ctx.run_sandboxed(
        [
            "sh",
            "-c",
            'rpm2cpio "$1" | cpio -idm --quiet --no-absolute-filenames "*.spec"',
            "sh",
            box.inside(srpm),
        ],
        cwd=target,
        network=False,
        describe="unpacking the spec",
    )
    specs = [p for p in ctx.checked(target).glob("*.spec") if regular_file(p)]
    if status != 0 or len(specs) != 1:
        raise BuildFailure(f"{srpm.name} does not hold exactly one spec file")
    return specs[0]


def arch_tags(
    ctx: BuildContext, spec: Path, distros: list[str]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The spec's arch tags as built (no distro's macros), and under each distro's."""
    macro_sets: dict[str, dict[str, str]] = {}
    for distro in distros:
        try:
            chroot = ChrootName.parse(f"{distro}-noarch")
        except ValueError:
            ctx.log.line(f"Skipping arch tags for {distro!r}: not a <os>-<version> name")
            continue
        macro_sets[distro] = rpmtools.distro_macros(chroot, ctx.settings.rawhide_version)
    built, *under = rpmtools.spec_arch_tags(
        ctx.sandbox(network=False), ctx.limits, spec, [{}, *macro_sets.values()], ctx.macros_file
    )
    return built, dict(zip(macro_sets, under, strict=True))


def run_srpm_phase(ctx: BuildContext, task: SrpmTask) -> dict[str, Any]:
    ctx.log.line(f"Source phase: source type {task.source_type.label}")
    ctx.task_macros = copr_macros(ctx.settings, task)
    ctx.log.line("Macros: " + ", ".join(f"%{k}={v!r}" for k, v in ctx.task_macros.items()))
    produced = provider_for(task.source_type)(ctx, task.source_json)
    if produced.spec is not None:
        spec = produced.spec
        srpm = build_srpm_from_spec(ctx, spec, produced.sourcedir or spec.parent)
    elif produced.srpm is not None:
        srpm = produced.srpm
        if not regular_file(srpm):
            raise BuildFailure(f"{srpm.name} is not a regular file")
        nevra, url = rpmtools.query_package(srpm), rpmtools.query_url(srpm)
        if nevra.arch != "src":
            raise BuildFailure(f"{srpm.name} is a binary RPM ({nevra.arch}), not a source RPM")
        spec = extract_spec(ctx, srpm)
    else:
        raise BuildFailure("the source provider produced neither an SRPM nor a spec")

    if produced.spec is not None:
        nevra, url = rpmtools.query_package(srpm), rpmtools.query_url(srpm)
        if nevra.arch != "src":
            raise BuildFailure(f"{srpm.name} is not a source RPM")
    built, under = arch_tags(ctx, spec, task.distributions)
    results: dict[str, Any] = {
        "name": nevra.name,
        "epoch": nevra.epoch,
        "version": nevra.version,
        "release": nevra.release,
        "url": url,
        "exclusivearch": built["exclusivearch"],
        "excludearch": built["excludearch"],
        "architecture_specific_tags": under,
    }
    ctx.resultdir.mkdir(parents=True, exist_ok=True)
    for item in (srpm, spec):
        if not regular_file(ctx.checked(item.parent) / item.name):
            raise BuildFailure(f"{item.name} is not a regular file")
        shutil.copyfile(item, ctx.resultdir / item.name)
    (ctx.resultdir / "results.json").write_text(json.dumps(results, indent=4) + "\n")
    ctx.log.line(f"SRPM: {srpm.name}")
    ctx.log.line("results.json: " + json.dumps(results))
    return results
