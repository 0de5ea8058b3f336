"""RPM phase: dist-git sources (git over HTTP + lookaside) → SRPM and RPMs in the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    make_spec,
    make_tarball,
    publish_distgit,
    rpm_query,
    rpm_task,
    rpmbuild_srpm,
    unpack_srpm,
)

NEVRAS = [
    ("hello", None, "1.0", "1.fc41", "src"),
    ("hello", None, "1.0", "1.fc41", "x86_64"),
    ("hello-extras", None, "1.0", "1.fc41", "noarch"),
]


def _nevras(results: dict[str, object]) -> list[tuple[object, ...]]:
    packages = results["packages"]
    assert isinstance(packages, list)
    return sorted((p["name"], p["epoch"], p["version"], p["release"], p["arch"]) for p in packages)


def test_srpm_with_tarball_and_subpackage_builds_rpms(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    srpm = rpmbuild_srpm(tmp_path, make_spec(), [make_tarball(tmp_path)])
    files = unpack_srpm(srpm, tmp_path / "unpacked")
    spec = files.pop("package.spec").decode()
    url, commit = publish_distgit(http_server, tmp_path, "hello", spec, files)
    task_url = http_server.put_task(
        "backend/get-build-task/21-fedora-41-x86_64", rpm_task(21, "fedora-41-x86_64", url, commit)
    )

    result = builder.run("--task-url", task_url, "--chroot", "fedora-41-x86_64")

    log = builder.log()
    assert result.returncode == 0, log
    assert sorted(_nevras(builder.results())) == sorted(NEVRAS, key=str)
    for name in (
        "hello-1.0-1.fc41.src.rpm",
        "hello-1.0-1.fc41.x86_64.rpm",
        "hello-extras-1.0-1.fc41.noarch.rpm",
        "success",
        "builder-live.log",
        "task.json",
    ):
        assert name in builder.files()
    assert "bubblewrap sandbox" in log
    assert "does not install BuildRequires" in log
    tags = rpm_query(builder.resultdir / "hello-1.0-1.fc41.x86_64.rpm", "%{VENDOR}|%{PACKAGER}")
    assert tags == "Copr - user alice|Copr build system (submitted by alice)"
    assert "%buildtag='.copr21'" in log

    # The saved task reproduces the build: same NEVRAs from --task-file alone.
    saved = tmp_path / "saved-task.json"
    shutil.copy(builder.resultdir / "task.json", saved)
    first = _nevras(builder.results())
    again = builder.run("--task-file", str(saved), "--drop-resultdir")
    assert again.returncode == 0, builder.log()
    assert _nevras(builder.results()) == first
    assert json.loads(saved.read_text())["build_id"] == 21


def test_bind_mounts_reach_the_build_read_write(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    import tempfile

    from copr_rpmbuild.testing import hostile_spec, write_config

    # Reachable by the sandbox user (pytest's tmp dirs are root's alone).
    shared = Path(tempfile.mkdtemp(prefix="copr-rpmbuild-bind-", dir="/tmp"))
    shared.chmod(0o1777)
    try:
        write_config(builder.config, builder.config.parent, http_server)
        with builder.config.open("a") as config:
            config.write(f'[bind_mounts]\n"{shared}" = "/copr-shared"\n')
        spec = hostile_spec("counted", 'echo "run of %{name}" >> /copr-shared/runs')
        url, commit = publish_distgit(http_server, tmp_path, "counted", spec)
        task = tmp_path / "task.json"
        task.write_text(json.dumps(rpm_task(23, "fedora-41-x86_64", url, commit)))
        assert builder.run("--task-file", str(task)).returncode == 0, builder.log()
        assert (shared / "runs").read_text() == "run of counted\n"
    finally:
        shutil.rmtree(shared)


def test_bind_mounts_may_not_cover_the_sandbox_itself(tmp_path: Path) -> None:
    import pytest

    from copr_common.settings import SettingsError
    from copr_rpmbuild.config import load_config

    for inside in ("/usr/lib/x", "/builddir", "relative", "/"):
        config = tmp_path / "bad.toml"
        config.write_text(f'[bind_mounts]\n"/srv/cache" = "{inside}"\n')
        with pytest.raises(SettingsError, match="bind_mounts"):
            load_config(config)


BUILDREQUIRES_SPEC = """\
Name:           needy
Version:        1
Release:        1
Summary:        A package with build dependencies
License:        MIT
BuildArch:      noarch
BuildRequires:  gcc make

%description
It needs a compiler, which the host buildroot does not install.

%install
mkdir -p %{buildroot}/usr/share/needy
echo ok > %{buildroot}/usr/share/needy/done

%files
/usr/share/needy/done
"""


def test_host_buildroot_is_recorded_with_the_buildrequires_it_skipped(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    url, commit = publish_distgit(http_server, tmp_path, "needy", BUILDREQUIRES_SPEC)
    task = tmp_path / "task.json"
    task.write_text(json.dumps(rpm_task(22, "fedora-41-x86_64", url, commit, package_name="needy")))
    result = builder.run("--task-file", str(task))
    assert result.returncode == 0, builder.log()
    record = {"buildroot": "host", "buildrequires_not_installed": ["gcc", "make"]}
    written = json.loads((builder.resultdir / "buildroot.json").read_text())
    tools = written.pop("tools")
    assert written == record
    # What built it, for the backend's SBOM: copr-rpmbuild and the host's rpmbuild.
    assert set(tools) == {"copr-rpmbuild", "rpmbuild"}
    assert tools["rpmbuild"][0].isdigit()
    first_lines = builder.log().splitlines()[:6]
    assert any(
        "Buildroot: the host system" in line and "does not install BuildRequires" in line
        for line in first_lines
    ), first_lines
    assert "BuildRequires not installed by this buildroot: gcc, make" in builder.log()

    # A project that requires a real buildroot: the same build fails, and says why.
    task.write_text(
        json.dumps(
            rpm_task(
                23,
                "fedora-41-x86_64",
                url,
                commit,
                package_name="needy",
                require_real_buildroot=True,
            )
        )  # fmt: skip
    )
    result = builder.run("--task-file", str(task), "--drop-resultdir")
    assert result.returncode == 1, builder.log()
    assert (builder.resultdir / "fail-reason.txt").read_text() == (
        "RPM build failed: the project requires a real buildroot (a mock chroot), but this "
        "builder has only the host system, which does not install BuildRequires: gcc, make\n"
    )
    written = json.loads((builder.resultdir / "buildroot.json").read_text())
    assert {k: v for k, v in written.items() if k != "tools"} == record
    assert not [name for name in builder.files() if name.endswith(".rpm")]
