"""``tools/unitrun``: a unit's command run as systemd would, and a clear refusal of what
it cannot run faithfully (the production topology test starts every service with it)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

UNITRUN = Path(__file__).resolve().parent.parent / "tools" / "unitrun"
# Prints what the service got: its arguments, environment, working dir and umask.
REPORT = """\
import json, os, sys
mask = os.umask(0)
print(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(),
                  "umask": mask}))
"""


def unitrun(tmp_path: Path, service: str, *options: str) -> subprocess.CompletedProcess[str]:
    unit = tmp_path / "test.service"
    unit.write_text(f"[Unit]\nDescription=test\n\n[Service]\n{service}\n")
    return subprocess.run(
        [sys.executable, str(UNITRUN), *options, str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "report.py"
    path.write_text(REPORT)
    return path


def test_runs_the_command_with_the_units_environment_and_directories(
    tmp_path: Path, script: Path
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "extra.env").write_text('# a comment\nFROM_FILE="a b"\nBOTH=file\n')
    service = "\n".join([
        "Type=simple",
        f"ExecStart={sys.executable} {script} --config /etc/copr/x.toml --out=/var/lib/svc/o",
        "Environment=PLAIN=1 BOTH=unit",
        'Environment="SPACED=x y" PERCENT=100%%',
        "EnvironmentFile=/etc/copr/extra.env",
        "EnvironmentFile=-/etc/copr/missing.env",
        "StateDirectory=svc svc/sub",
        "StateDirectoryMode=0750",
        "LogsDirectory=svc",
        "UMask=0027",
        "WorkingDirectory=/var/lib/svc",
        "User=nobody",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
    ])  # fmt: skip
    result = unitrun(
        tmp_path, service, f"--map=/etc/copr={tmp_path / 'etc'}",
        f"--map=/var={tmp_path / 'var'}", "--env=BOTH=option", "--as-invoker",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["argv"] == [
        "--config", f"{tmp_path}/etc/x.toml", f"--out={tmp_path}/var/lib/svc/o"
    ]  # fmt: skip
    env = got["env"]
    assert (env["PLAIN"], env["SPACED"], env["PERCENT"], env["FROM_FILE"]) == (
        "1", "x y", "100%", "a b"
    )  # fmt: skip
    assert env["BOTH"] == "option"  # unit, then file, then --env
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
    # A User= unit gets its account's home and names (here the invoker's: --as-invoker).
    account = pwd.getpwuid(os.getuid())
    assert (env["HOME"], env["USER"], env["LOGNAME"]) == (account.pw_dir, *[account.pw_name] * 2)
    assert got["cwd"] == str(tmp_path / "var" / "lib" / "svc")
    assert got["umask"] == 0o027
    for path in (tmp_path / "var" / "lib" / "svc", tmp_path / "var" / "lib" / "svc" / "sub"):
        assert path.stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "var" / "log" / "svc").is_dir()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("ExecStartPre=/bin/true", "unsupported directive ExecStartPre="),
        ("RootDirectory=/srv", "unsupported directive RootDirectory="),
        ("Type=forking", "unsupported directive Type=forking"),
        ("Type=notify", "unsupported directive Type=notify"),
        ("ExecStart=/bin/true", "want exactly one ExecStart, got 2"),
        ("EnvironmentFile=/etc/copr/none.env", "EnvironmentFile"),
        ("Environment=WHERE=%h", "specifiers are not supported"),
    ],
)
def test_refuses_what_it_cannot_run_faithfully(
    tmp_path: Path, script: Path, lines: str, message: str
) -> None:
    ran = tmp_path / "ran"
    service = f"ExecStart=/usr/bin/touch {ran}\n{lines}"
    result = unitrun(tmp_path, service, f"--map=/etc/copr={tmp_path}", "--as-invoker")
    assert result.returncode == 1
    assert result.stderr.startswith("unitrun: test.service: "), result.stderr
    assert message in result.stderr
    assert not ran.exists()


@pytest.mark.parametrize("prefix", ["+", "!", "@"])
def test_refuses_privilege_prefixes(tmp_path: Path, prefix: str) -> None:
    ran = tmp_path / "ran"
    result = unitrun(tmp_path, f"ExecStart={prefix}/usr/bin/touch {ran}", "--as-invoker")
    assert result.returncode == 1
    assert f"ExecStart prefix {prefix!r} is not supported" in result.stderr
    assert not ran.exists()


def test_a_unit_without_service_section_is_refused(tmp_path: Path) -> None:
    unit = tmp_path / "test.timer"
    unit.write_text("[Timer]\nOnCalendar=daily\n")
    result = subprocess.run([sys.executable, str(UNITRUN), str(unit)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 1
    assert "has no [Service] section" in result.stderr
