"""RPM phase without mock: ``rpmbuild -ba`` of the dist-git spec inside the sandbox.

The host system is the buildroot, so ``BuildRequires`` are not installed: the build gets
what the builder machine has, and says so in the log and in ``buildroot.json``.
``%dist`` and ``%fedora``/``%rhel`` follow the chroot; ``%buildtag`` is
``.copr<build_id>``; ``%vendor`` and ``%packager`` come from the settings.
"""

from __future__ import annotations

from pathlib import Path

from copr_rpmbuild import rpmtools
from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import InfrastructureError
from copr_rpmbuild.macros import copr_macros
from copr_rpmbuild.task import BuildTask


def task_macros(settings: RpmbuildSettings, task: BuildTask) -> dict[str, str]:
    return {
        **rpmtools.distro_macros(task.chroot_name, settings.rawhide_version),
        **copr_macros(settings, task),
    }


def with_args(task: BuildTask) -> list[str]:
    args: list[str] = []
    for option in task.with_opts:
        args += ["--with", option]
    for option in task.without_opts:
        args += ["--without", option]
    return args


class BwrapBuilder:
    name = "bwrap"
    buildroot = "host"

    def describe(self, task: BuildTask) -> str:
        return (
            "Buildroot: the host system (rpmbuild sandboxed in bwrap), not a mock chroot of "
            f"{task.chroot}: it does not install BuildRequires, the build gets only what the "
            "builder machine has"
        )

    def missing_buildrequires(self, ctx: BuildContext, task: BuildTask, spec: Path) -> list[str]:
        box = ctx.sandbox(network=False)
        macros = task_macros(ctx.settings, task)
        return rpmtools.spec_buildrequires(box, ctx.limits, spec, macros, ctx.macros_file)

    def build(self, ctx: BuildContext, task: BuildTask, spec: Path, sourcedir: Path) -> Path:
        chroot = task.chroot_name
        host = rpmtools.host_arch()
        if chroot.arch not in (host, "noarch"):
            raise InfrastructureError(
                f"this builder ({host}) cannot build for {chroot.arch} without mock"
            )
        macros = task_macros(ctx.settings, task)
        load = ctx.macros_file
        box = ctx.sandbox(network=task.enable_net)
        ctx.log.line(f"rpmbuild runs in a {box.describe()}")
        if task.repos or task.buildroot_pkgs:
            ctx.log.line(
                "Repositories and buildroot packages of the task are not used by the host "
                "buildroot: "
                + ", ".join([r.baseurl for r in task.repos] + list(task.buildroot_pkgs))
            )
        ctx.log.line("Macros: " + ", ".join(f"%{k}={v!r}" for k, v in macros.items()))
        topdir = ctx.subdir("rpmbuild")
        argv = [
            "rpmbuild",
            "-ba",
            "--nodeps",
            "--load",
            box.inside(load),
            *rpmtools.define_args(macros),
            "--define",
            f"_topdir {box.inside(topdir)}",
            "--define",
            f"_sourcedir {box.inside(sourcedir)}",
            *with_args(task),
            box.inside(spec),
        ]
        status = ctx.run_sandboxed(
            argv, cwd=sourcedir, network=task.enable_net, describe="rpmbuild -ba"
        )
        if status != 0:
            raise ctx.command_failed("rpmbuild -ba", status)
        return topdir
