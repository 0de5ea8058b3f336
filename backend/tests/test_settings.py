"""Settings: defaults, a TOML file, environment variables, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copr_backend.settings import load
from copr_common.settings import SettingsError

BIN = Path(sys.executable).parent


def test_file_and_environment(tmp_path, monkeypatch):
    config = tmp_path / "backend.toml"
    config.write_text(
        'frontend_url = "http://fe.test/"\nlocal_slots = 3\n[arch_limits]\nx86_64 = 2\n'
    )
    monkeypatch.setenv("COPR_BACKEND_MAX_BUILDS_PER_OWNER", "4")
    settings = load(config)
    assert settings.frontend_url == "http://fe.test"
    assert settings.local_slots == 3
    assert settings.arch_limits == {"x86_64": 2}
    assert settings.max_builds_per_owner == 4


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("local_slots = 0", "local_slots"),
        ('frontend_url = "fe.test"', r"an http\(s\) URL"),
        ("[tag_limits]\nbig = 0", "at least 1"),
        ('builder_pool = "cloud"', "builder_pool"),
        ("no_such_setting = 1", "no_such_setting"),
        ("message_timeout = 0", "message_timeout"),
        ('message_publisher = "fedmsg"', "message_publisher"),
    ],
)
def test_bad_settings_are_refused(tmp_path, text, problem):
    config = tmp_path / "backend.toml"
    config.write_text(text + "\n")
    with pytest.raises(SettingsError, match=problem):
        load(config)


def test_dispatcher_exits_with_a_clear_error_on_bad_settings(tmp_path):
    config = tmp_path / "backend.toml"
    config.write_text("local_slots = -1\n")
    result = subprocess.run(
        [str(BIN / "copr-backend-build-dispatcher"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 6
    assert "local_slots" in result.stderr
