"""Fixtures: real SRPMs made with rpmbuild, settings rooted in a temporary directory."""

from __future__ import annotations

import subprocess
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask

SPEC = """\
Name:           {name}
Version:        {version}
Release:        1
Summary:        A package for dist-git tests
License:        MIT
BuildArch:      noarch
Source0:        {name}-{version}.tar.gz
Patch0:         {name}-fix.patch

%description
{description}

%prep
%autosetup -p1

%install
mkdir -p %{{buildroot}}/usr/share/{name}
cp README %{{buildroot}}/usr/share/{name}/

%files
/usr/share/{name}/README
"""

PATCH = """\
--- a/README
+++ b/README
@@ -1 +1 @@
-{name} {version}
+{name} {version}, patched
"""


def rpmbuild(workdir: Path, spec: Path, mode: str = "-bs") -> Path:
    """Run rpmbuild in ``workdir`` and return the package it wrote."""
    result = subprocess.run(
        [
            "rpmbuild",
            mode,
            "--define",
            f"_topdir {workdir / 'top'}",
            "--define",
            f"_sourcedir {workdir}",
            "--define",
            f"_srcrpmdir {workdir / 'out'}",
            "--define",
            f"_rpmdir {workdir / 'out'}",
            "--define",
            "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
            "--nodeps",
            str(spec),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    built = sorted((workdir / "out").glob("*.rpm"))
    assert len(built) == 1, built
    return built[0]


MakeSrpm = Callable[..., Path]


@pytest.fixture
def make_srpm(tmp_path_factory: pytest.TempPathFactory) -> MakeSrpm:
    """``make_srpm(name, version)``: an SRPM with a tarball and a patch."""

    def make(
        name: str = "hello",
        version: str = "1.0",
        description: str = "Says hello.",
        spec_prefix: bytes = b"",
    ) -> Path:
        workdir = tmp_path_factory.mktemp(f"srpm-{name}-{version}")
        tree = workdir / f"{name}-{version}"
        tree.mkdir()
        (tree / "README").write_text(f"{name} {version}\n")
        with tarfile.open(workdir / f"{name}-{version}.tar.gz", "w:gz") as tar:
            tar.add(tree, arcname=tree.name)
        (workdir / f"{name}-fix.patch").write_text(PATCH.format(name=name, version=version))
        spec = workdir / f"{name}.spec"
        text = SPEC.format(name=name, version=version, description=description)
        spec.write_bytes(spec_prefix + text.encode())
        return rpmbuild(workdir, spec)

    return make


@pytest.fixture
def binary_rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("binary-rpm")
    spec = workdir / "tool.spec"
    spec.write_text(
        textwrap.dedent(
            """\
            Name: tool
            Version: 1
            Release: 1
            Summary: a binary package
            License: MIT
            BuildArch: noarch
            %description
            binary
            %install
            mkdir -p %{buildroot}/usr/share/tool
            echo hi > %{buildroot}/usr/share/tool/hi
            %files
            /usr/share/tool/hi
            """
        )
    )
    return rpmbuild(workdir, spec, "-bb")


@pytest.fixture
def settings(tmp_path: Path) -> DistGitSettings:
    return DistGitSettings(
        state_dir=tmp_path / "state",
        frontend_url="http://127.0.0.1:9",
        frontend_auth="backend-password",
        max_srpm_size=10 * 1024 * 1024,
    )


def _make_task(
    build_id: int = 1,
    *,
    pkg_name: str = "hello",
    branches: tuple[str, ...] = ("f41", "f42"),
    owner: str = "alice",
    project: str = "demo",
    srpm_url: str = "http://127.0.0.1:9/hello.src.rpm",
) -> ImportTask:
    return ImportTask.from_dict(
        {
            "build_id": build_id,
            "owner": owner,
            "project": project,
            "branches": list(branches),
            "pkg_name": pkg_name,
            "srpm_url": srpm_url,
            "sandbox": f"{owner}--submitter",
            "background": False,
        }
    )


MakeTask = Callable[..., ImportTask]


@pytest.fixture
def make_task() -> MakeTask:
    """``make_task(build_id, pkg_name=..., branches=...)``: a task as the frontend sends it."""
    return _make_task
