"""The mock config copr-rpmbuild renders from mock-configs/ (mock itself is not on Debian:
the config is executed here the way mock reads it, with ``config_opts`` and ``include``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copr_rpmbuild.builders.mock import render_mock_config
from copr_rpmbuild.config import RpmbuildSettings
from copr_rpmbuild.errors import InfrastructureError
from copr_rpmbuild.task import BuildTask
from copr_rpmbuild.testing import rpm_task

MOCK_CONFIGS = Path(__file__).resolve().parents[2] / "mock-configs"


def _execute(text: str) -> tuple[dict[str, Any], list[str]]:
    included: list[str] = []
    opts: dict[str, Any] = {"macros": {}, "package_manager": "dnf", "dnf.conf": "[main]\n"}
    exec(  # noqa: S102 - mock configs are Python; this is how mock reads them
        compile(text, "mock.cfg", "exec"),
        {"config_opts": opts, "include": included.append},
    )
    return opts, included


def _task(**extra: Any) -> BuildTask:
    return BuildTask.model_validate(
        rpm_task(42, "fedora-41-x86_64", "http://dg/x.git", "abc", **extra)
    )


def test_rendered_config_carries_the_task() -> None:
    settings = RpmbuildSettings(mock_configs_dir=MOCK_CONFIGS)
    task = _task(
        enable_net=True,
        buildroot_pkgs=["gcc", "make"],
        isolation="nspawn",
        bootstrap="image",
        bootstrap_image="registry.example.org/fedora:41",
        repos=[
            {
                "id": "copr_base",
                "baseurl": "http://results/alice/demo/fedora-41-x86_64/",
                "name": "Copr repository",
                "priority": 5,
                "module_hotfixes": True,
            },
            {"id": "copr_base_devel", "baseurl": "http://results/devel/", "name": "devel"},
        ],
    )
    opts, included = _execute(render_mock_config(settings, task))
    assert included == [str(MOCK_CONFIGS / "fedora-41-x86_64.cfg")]
    assert opts["macros"]["%buildtag"] == ".copr42"
    assert "%dist" not in opts["macros"]  # the chroot's own config defines it
    assert opts["macros"]["%vendor"] == "Copr - user alice"
    assert opts["chroot_additional_packages"] == "gcc make"
    assert opts["rpmbuild_networking"] is True
    assert opts["use_host_resolv"] is True
    assert opts["isolation"] == "nspawn"
    assert opts["use_bootstrap_image"] is True
    assert opts["bootstrap_image"] == "registry.example.org/fedora:41"
    repos = opts["dnf.conf"]
    assert (
        "[copr_base]\nname=Copr repository\nbaseurl=http://results/alice/demo/fedora-41-x86_64/"
        in repos
    )
    assert "priority=5" in repos
    # Only the repo of a project with module_hotfixes says so.
    base, devel = repos.split("[copr_base_devel]")
    assert "module_hotfixes=1" in base
    assert "module_hotfixes" not in devel
    assert "skip_if_unavailable=1" in devel


def test_bind_mounts_go_to_mocks_bind_mount_plugin() -> None:
    settings = RpmbuildSettings(
        mock_configs_dir=MOCK_CONFIGS, bind_mounts={"/srv/ccache": "/var/cache/ccache"}
    )
    opts, _ = _execute(render_mock_config(settings, _task()))
    assert opts["plugin_conf"]["bind_mount_enable"] is True
    assert opts["plugin_conf"]["bind_mount_opts"]["dirs"] == [("/srv/ccache", "/var/cache/ccache")]
    plain, _ = _execute(
        render_mock_config(RpmbuildSettings(mock_configs_dir=MOCK_CONFIGS), _task())
    )
    assert "bind_mount_enable" not in plain["plugin_conf"]


def test_defaults_and_fallback_to_system_configs() -> None:
    settings = RpmbuildSettings(mock_configs_dir=MOCK_CONFIGS)
    task = BuildTask.model_validate(rpm_task(43, "opensuse-tumbleweed-x86_64", "http://dg/x", None))
    opts, included = _execute(render_mock_config(settings, task))
    assert included == ["/etc/mock/opensuse-tumbleweed-x86_64.cfg"]
    assert opts["rpmbuild_networking"] is False
    assert "isolation" not in opts
    assert "use_bootstrap" not in opts
    assert opts["dnf.conf"] == "[main]\n"


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ({"id": "x]\n[evil", "baseurl": "http://a/"}, "is malformed"),
        ({"id": "ok", "baseurl": "http://a/\ngpgcheck=0"}, "has a line break"),
    ],
)
def test_malformed_repos_are_refused(repo: dict[str, str], message: str) -> None:
    settings = RpmbuildSettings(mock_configs_dir=MOCK_CONFIGS)
    with pytest.raises(InfrastructureError, match=message):
        render_mock_config(settings, _task(repos=[repo]))


def test_missing_template(tmp_path: Path) -> None:
    settings = RpmbuildSettings(mock_configs_dir=tmp_path)
    with pytest.raises(InfrastructureError, match="template .* is missing"):
        render_mock_config(settings, _task())


def test_every_chroot_config_is_valid_python() -> None:
    for config in MOCK_CONFIGS.glob("*.cfg"):
        opts, included = _execute(config.read_text())
        assert len(included) == 1, config
        assert included[0].startswith("templates/"), config
        assert opts["target_arch"] == config.stem.rsplit("-", 1)[1]
