"""Every package builds its SRPM from the tree, rpmlint-clean, and its spec installs what
its pyproject and units say; tito builds each from a fresh clone as a release would."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from deploy_files import ROOT, files_section, load_tool, packages, parsed_spec, spec_path, units

TITO = ROOT / ".venv-release" / "bin" / "tito"
# Every folder that is released as an RPM; copr-local runs from a checkout only.
RELEASED = {
    "common": "python-copr-common",
    "frontend": "copr-frontend",
    "backend": "copr-backend",
    "dist-git": "copr-dist-git",
    "keygen": "copr-keygen",
    "keygen-client": "copr-keygen-client",
    "rpmbuild": "copr-rpmbuild",
    "mock-configs": "copr-mock-configs",
    "cli": "copr-cli",
    "python-client": "python-copr",
    "selinux": "copr-selinux",
}
# The npm packages the frontend's spec carries as sources (the web UI's own, not axe-core).
WEB_PACKAGES = ("bootstrap", "chart.js")


def test_every_service_has_a_spec() -> None:
    assert {folder.name: name for name, folder in packages().items()} == RELEASED


@pytest.fixture(scope="module")
def srpms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outdir = tmp_path_factory.mktemp("srpms")
    srpm = load_tool("srpm")
    return {name: srpm.build_srpm(name, folder, outdir) for name, folder in packages().items()}


def rpmlint(path: Path) -> subprocess.CompletedProcess[str]:
    # One file per run: rpmlint 2.4 mixes up the specs of several SRPMs in one run.
    return subprocess.run(
        ["rpmlint", "-c", str(ROOT / "rpmlint.toml"), str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(RELEASED.values()))
def test_srpm_builds_and_is_rpmlint_clean(name: str, srpms: dict[str, Path]) -> None:
    srpm = srpms[name]
    assert srpm.name.startswith(f"{name}-")
    assert srpm.name.endswith(".src.rpm")
    listed = subprocess.run(
        ["rpm", "-qpl", str(srpm)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert f"{name}.spec" in listed
    # rpmlint checks an SRPM's spec with it.
    result = rpmlint(srpm)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b0 errors, 0 warnings", result.stdout), result.stdout


def test_srpm_tarball_holds_the_folder(srpms: dict[str, Path], tmp_path: Path) -> None:
    """The tarball is the package's folder under <name>-<version>/, as tito makes it."""
    payload = subprocess.run(
        ["rpm2cpio", str(srpms["copr-frontend"])], capture_output=True, check=True
    ).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=payload, cwd=tmp_path, check=True)
    listing = subprocess.run(
        ["tar", "tzf", str(tmp_path / "copr-frontend-0.1.0.tar.gz")],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert "copr-frontend-0.1.0/pyproject.toml" in listing
    assert "copr-frontend-0.1.0/systemd/copr-frontend.service" in listing
    assert not [p for p in listing if not p.startswith("copr-frontend-0.1.0/")]
    assert not [p for p in listing if "__pycache__" in p]


def test_frontend_srpm_carries_the_locked_web_packages(
    srpms: dict[str, Path], tmp_path: Path
) -> None:
    """The npm tarballs in the SRPM are the very ones package-lock.json pins (integrity)."""
    lock = json.loads((ROOT / "frontend" / "package-lock.json").read_text())["packages"]
    payload = subprocess.run(
        ["rpm2cpio", str(srpms["copr-frontend"])], capture_output=True, check=True
    ).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=payload, cwd=tmp_path, check=True)
    for package in WEB_PACKAGES:
        locked = lock[f"node_modules/{package}"]
        tarball = tmp_path / f"{package}-{locked['version']}.tgz"
        algorithm, _, digest = locked["integrity"].partition("-")
        assert algorithm == "sha512"
        actual = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        assert actual == digest, package


def test_frontend_installs_every_served_web_file() -> None:
    """The spec and the ansible role (venv install) put each served file where the frontend
    looks for it when there is no checkout."""
    from copr_frontend.web import assets

    spec = parsed_spec("copr-frontend")
    assert f"{assets.INSTALLED}/$file" in spec
    role = (ROOT / "ansible/roles/frontend/defaults/main/role.yml").read_text()
    tasks = (ROOT / "ansible/roles/frontend/tasks/main.yml").read_text()
    assert f"dest: {assets.INSTALLED}/{{{{ item }}}}" in tasks
    for relative in assets.FILES.values():
        assert relative in spec, relative
        assert f"  - {relative}\n" in role, relative


@pytest.mark.parametrize(
    "name", sorted(n for n, folder in packages().items() if (folder / "pyproject.toml").exists())
)
def test_spec_agrees_with_pyproject(name: str) -> None:
    project = tomllib.loads((packages()[name] / "pyproject.toml").read_text())["project"]
    version = re.search(r"^Version:\s*(\S+)", parsed_spec(name), re.MULTILINE)
    assert version is not None
    assert version.group(1) == project["version"]
    installed = files_section(name)
    for script in project.get("scripts", {}):
        assert f"/usr/bin/{script}" in installed, script


@pytest.mark.parametrize("name", sorted(n for n in packages() if units(n)))
def test_spec_installs_every_unit(name: str) -> None:
    text = spec_path(name).read_text()
    installed = files_section(name)
    for unit in units(name):
        assert f"/usr/lib/systemd/system/{unit.name}" in installed, unit.name
        assert f"systemd/{unit.name}" in text or "systemd/$unit" in text, unit.name


def test_tito_builds_every_package_from_a_fresh_clone(tmp_path: Path) -> None:
    """``tito build --srpm --test`` in each package's folder of a clone of HEAD."""
    if not TITO.exists():
        pytest.fail("tito is missing: run `make setup` (it makes .venv-release)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    outdir = tmp_path / "out"
    # A HOME of its own (tito's settings), with npm's cache where make setup filled it.
    npm_cache = subprocess.run(
        ["npm", "config", "get", "cache"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {**os.environ, "HOME": str(tmp_path), "npm_config_cache": npm_cache}
    for name, folder in packages().items():
        result = subprocess.run(
            [str(TITO), "build", "--srpm", "--test", "-o", str(outdir)],
            cwd=clone / folder.name, capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        made = list(outdir.glob(f"{name}-[0-9]*.git.*.src.rpm"))
        assert len(made) == 1, f"{name}: {sorted(p.name for p in outdir.iterdir())}"
        if name == "copr-frontend":
            listed = subprocess.run(
                ["rpm", "-qpl", str(made[0])], capture_output=True, text=True, check=True
            ).stdout.split()
            lock = json.loads((ROOT / "frontend/package-lock.json").read_text())["packages"]
            wanted = {f"{n}-{lock[f'node_modules/{n}']['version']}.tgz" for n in WEB_PACKAGES}
            assert wanted <= set(listed), listed
    shutil.rmtree(clone)
