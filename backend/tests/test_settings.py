"""Settings: defaults, a TOML file, environment variables, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copr_backend.settings import load
from copr_common.settings import EXIT_CONFIG, SettingsError

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
        ("local_uid_base = 0", "local_uid_base"),
        ("local_uid_base = 2147483647\nlocal_slots = 2", "below 2147483648"),
        ("local_uid_base = 65534\nlocal_slots = 2", "clear of 65535"),
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
    assert result.returncode == EXIT_CONFIG
    assert "local_slots" in result.stderr


def test_every_slot_gets_a_uid_of_its_own(tmp_path):
    from copr_backend.pools.local import LocalPool
    from copr_rpmbuild.config import load_config

    config = tmp_path / "backend.toml"
    config.write_text(
        f'local_pool_dir = "{tmp_path}/pool"\nlocal_slots = 3\nlocal_uid_base = 2100000000\n'
        "[rpmbuild_settings]\nsandbox_uid = 5000\n"
    )
    pool = LocalPool(load(config), lambda task_id: True)
    uids = []
    for slot in range(3):
        pool._prepare(slot)
        uids.append(load_config(pool.slot_dir(slot) / "rpmbuild.toml").sandbox_uid)
    # The pool's uids win over one given in rpmbuild_settings: slots never share one.
    assert uids == [2100000000, 2100000001, 2100000002]
