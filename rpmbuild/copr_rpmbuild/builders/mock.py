"""RPM phase with mock: the chroot config from ``mock-configs/`` plus the task's repos,
buildroot packages, network, isolation and bootstrap, rendered from ``copr-build.cfg.j2``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from copr_rpmbuild import runner
from copr_rpmbuild.builders.bwrap import task_macros, with_args
from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure, InfrastructureError
from copr_rpmbuild.task import BuildTask

TEMPLATE = "copr-build.cfg.j2"


def render_mock_config(settings: RpmbuildSettings, task: BuildTask) -> str:
    """The mock config for ``task``: its chroot's config plus the task's options."""
    configs = settings.mock_configs_dir
    if not (configs / TEMPLATE).is_file():
        raise InfrastructureError(f"the mock config template {configs / TEMPLATE} is missing")
    ours = configs / f"{task.chroot}.cfg"
    include = str(ours) if ours.is_file() else f"/etc/mock/{task.chroot}.cfg"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(configs)),
        autoescape=False,  # noqa: S701 - renders a Python config file, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(
        include=include,
        chroot=task.chroot,
        # mock's chroot defines %dist and the distro macros itself.
        macros={
            name: value
            for name, value in task_macros(settings, task).items()
            if name not in ("dist", "fedora", "rhel", "epel")
        },
        repos=bool(task.repos),
        repo_text=repo_sections(task),
        buildroot_pkgs=task.buildroot_pkgs,
        enable_net=task.enable_net,
        isolation=task.isolation or "default",
        bootstrap=task.bootstrap or "default",
        bootstrap_image=(task.model_extra or {}).get("bootstrap_image"),
    )


def repo_sections(task: BuildTask) -> str:
    """The task's repositories as package-manager config sections."""
    text = ""
    for repo in task.repos:
        fields = {
            "name": repo.name or repo.id,
            "baseurl": repo.baseurl,
            "gpgcheck": "0",
            "enabled": "1",
            "skip_if_unavailable": "1" if repo.id == "copr_base_devel" else "0",
            "metadata_expire": "0",
            "cost": "1",
            "best": "1",
        }
        if repo.priority is not None:
            fields["priority"] = str(repo.priority)
        if (repo.model_extra or {}).get("module_hotfixes") is True:
            # A project's packages may then replace modular ones in the buildroot.
            fields["module_hotfixes"] = "1"
        if not _plain(repo.id):
            raise InfrastructureError(f"repository id {repo.id!r} of the task is malformed")
        if any("\n" in value or "\r" in value for value in fields.values()):
            raise InfrastructureError(f"repository {repo.id!r} of the task has a line break")
        text += f"\n[{repo.id}]\n" + "".join(f"{k}={v}\n" for k, v in fields.items())
    return text


def _plain(name: str) -> bool:
    return bool(name) and all(ch.isalnum() or ch in "-_.:" for ch in name)


class MockBuilder:
    name = "mock"
    buildroot = "mock"

    def describe(self, task: BuildTask) -> str:
        return f"Buildroot: mock chroot {task.chroot} (BuildRequires are installed by mock)"

    def missing_buildrequires(self, ctx: BuildContext, task: BuildTask, spec: Path) -> list[str]:
        # mock installs them all, or the build fails saying which it could not.
        return []

    def build(self, ctx: BuildContext, task: BuildTask, spec: Path, sourcedir: Path) -> Path:
        config = ctx.hostdir / "mock.cfg"
        config.write_text(render_mock_config(ctx.settings, task))
        ctx.log.line(f"mock config {config}:")
        ctx.log.line(config.read_text())
        out = ctx.subdir("mock-results")
        base = ["mock", "-r", str(config), "--resultdir", str(out), *with_args(task)]
        status = runner.run(
            [*base, "--buildsrpm", "--spec", str(spec), "--sources", str(sourcedir)],
            ctx.limits,
            describe="mock --buildsrpm",
        )
        srpms = sorted(out.glob("*.src.rpm"))
        if status != 0:
            raise ctx.command_failed("mock --buildsrpm", status)
        if len(srpms) != 1:
            raise BuildFailure("mock --buildsrpm did not leave exactly one SRPM")
        status = runner.run(
            [*base, "--rebuild", str(srpms[0]), "--no-clean"],
            ctx.limits,
            describe="mock --rebuild",
        )
        if status != 0:
            raise ctx.command_failed("mock --rebuild", status)
        return out
