"""Every systemd unit of every package passes ``systemd-analyze verify``, is hardened, and
runs a command its package installs.

verify wants the commands to exist: it runs on a root holding the host's systemd units,
the packages' units where the RPMs put them, and each command at its installed path (the
project's own console scripts from .venv, as the Debian deployment links them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_files import all_units, files_section, load_tool, packages

VENV_BIN = Path(sys.executable).parent
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
unitrun = load_tool("unitrun")
SERVICES = [unit for unit in all_units() if unit.suffix == ".service"]
# Long-running services get at least this; oneshot timer jobs too.
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}


def command_of(unit: Path) -> str:
    service = unitrun.parse_unit(unit.read_text())["Service"]
    return str(unitrun.exec_start(service)[0])


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SYSTEM_UNITS.is_dir():
        pytest.fail(f"{SYSTEM_UNITS} is missing: systemd is not installed")
    root = tmp_path_factory.mktemp("root")
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    for unit in all_units():
        shutil.copy(unit, root / "usr/lib/systemd/system" / unit.name)
    for unit in SERVICES:
        service = unitrun.parse_unit(unit.read_text())["Service"]
        for key in ("ExecStart", "ExecReload"):
            for line in service.get(key, []):
                command = line.split()[0].lstrip("-")
                # Ours from the venv (/usr/libexec/copr-frontend/gunicorn is gunicorn);
                # the distribution's (nginx, kill) from the host.
                ours = VENV_BIN / Path(command).name
                source = ours if ours.exists() else shutil.which(command)
                assert source, f"{unit.name}: {command} is on neither the venv nor the host"
                target = root / command.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
    return root


@pytest.mark.parametrize("unit", all_units(), ids=lambda unit: unit.name)
def test_unit_verifies(unit: Path, verify_root: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={verify_root}", unit.name],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip()


@pytest.mark.parametrize("unit", SERVICES, ids=lambda unit: unit.name)
def test_service_is_hardened_and_packaged(unit: Path) -> None:
    service = unitrun.parse_unit(unit.read_text())["Service"]
    for key, value in HARDENING.items():
        assert unitrun.service_value(service, key) == value, key
    assert unitrun.service_value(service, "User") or unitrun.service_value(service, "DynamicUser")
    command = command_of(unit)
    owner = next(name for name, folder in packages().items() if unit.is_relative_to(folder))
    if not command.startswith("/usr/sbin/"):  # nginx is the distribution's
        assert command in files_section(owner), f"{owner} does not install {command}"


def test_every_timer_has_its_service() -> None:
    names = {unit.name for unit in all_units()}
    for timer in (unit for unit in all_units() if unit.suffix == ".timer"):
        assert timer.with_suffix(".service").name in names
