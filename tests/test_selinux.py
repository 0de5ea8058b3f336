"""The SELinux modules build with the reference policy's devel Makefile, and their file
contexts label what the packages install and the units create."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_files import ROOT, all_units, context_of, file_contexts, files_section, load_tool

SELINUX = ROOT / "selinux"
DEVEL_MAKEFILE = Path("/usr/share/selinux/devel/Makefile")
# Daemon packages: each of their commands runs in a domain of its own.
DOMAINS = {
    "copr-frontend": "copr_frontend_exec_t",
    "copr-backend": "copr_backend_exec_t",
    "copr-dist-git": "copr_distgit_exec_t",
    "copr-keygen": "copr_keygen_exec_t",
    "copr-rpmbuild": "copr_rpmbuild_exec_t",
}
unitrun = load_tool("unitrun")


def modules() -> list[str]:
    match = re.search(r"^MODULES := (.+)$", (SELINUX / "Makefile").read_text(), re.MULTILINE)
    assert match
    return match.group(1).split()


def test_every_module_is_built(tmp_path: Path) -> None:
    if not DEVEL_MAKEFILE.exists():
        pytest.fail(f"{DEVEL_MAKEFILE} is missing: run `make setup` (selinux-policy-dev)")
    build = tmp_path / "selinux"
    shutil.copytree(SELINUX, build, ignore=shutil.ignore_patterns("tmp", "*.pp"))
    result = subprocess.run(["make"], cwd=build, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    assert {te.stem for te in SELINUX.glob("*.te")} == set(modules())
    for module in modules():
        pp = build / f"{module}.pp"
        assert pp.stat().st_size > 0, module
        # A module package starts with the SELinux policy-package magic (0xf97cff8f).
        assert pp.read_bytes()[:4] == bytes.fromhex("8fff7cf9"), module


@pytest.mark.parametrize(("package", "exec_type"), sorted(DOMAINS.items()))
def test_every_daemon_command_has_its_domain(package: str, exec_type: str) -> None:
    files = files_section(package, dirs=False)
    commands = [path for path in files if path.startswith(("/usr/bin/", "/usr/libexec/"))]
    assert commands
    for command in commands:
        assert context_of(command) == exec_type, command


def test_every_labelled_command_is_installed() -> None:
    installed = {path for package in DOMAINS for path in files_section(package)}
    for regex, kind in file_contexts():
        if kind.endswith("_exec_t"):
            assert regex.replace("\\", "") in installed, regex


def test_unit_directories_and_settings_are_labelled() -> None:
    """What the units create and read has a type of its service's, not var_lib_t."""
    roots = unitrun.DIRECTORY_ROOTS
    for unit in all_units():
        if unit.suffix != ".service":
            continue
        service = unitrun.parse_unit(unit.read_text())["Service"]
        for key, root in roots.items():
            for value in service.get(key, []):
                for name in value.split():
                    assert context_of(f"{root}/{name}") is not None, f"{unit.name}: {root}/{name}"
        for word in unitrun.exec_start(service):
            if word.startswith("/etc/copr/"):
                assert context_of(word) is not None, f"{unit.name}: {word}"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/var/lib/copr/public_html/results/alice/hello/pubkey.gpg", "httpd_sys_content_t"),
        ("/var/lib/copr-dist-git/git/alice/hello/hello.git/HEAD", "copr_distgit_repo_t"),
        ("/var/lib/copr-dist-git/lookaside/alice/hello/hello/x.tar.gz", "copr_distgit_lookaside_t"),
        ("/var/lib/copr-dist-git/per-task-logs/7.log", "copr_distgit_log_t"),
        ("/var/lib/copr-keygen/gnupg/pubring.kbx", "copr_keygen_keyring_t"),
        ("/var/log/copr-backend/backend-worker-7.log", "copr_backend_log_t"),
    ],
)
def test_data_has_its_type(path: str, kind: str) -> None:
    assert context_of(path) == kind
