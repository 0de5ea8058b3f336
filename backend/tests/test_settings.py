"""Settings: defaults, a TOML file, environment variables, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copr_backend.settings import load
from copr_common.settings import SettingsError

BIN = Path(sys.executable).parent
_SSH_HOST = '[[ssh_hosts]]\naddress = "10.0.0.5"\nkey_file = "/id"\n'


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


def test_ssh_hosts_defaults(tmp_path):
    config = tmp_path / "backend.toml"
    config.write_text(
        'builder_pool = "ssh"\nssh_known_hosts = "/k"\n' + _SSH_HOST
        + 'max_builds = 2\nrpmbuild_config = "/etc/copr-rpmbuild/slot-{slot}.toml"\n'
    )  # fmt: skip
    (host,) = load(config).ssh_hosts
    assert (host.name, host.port, host.user, host.arches) == ("10.0.0.5", 22, "copr", ["x86_64"])
    assert host.config_of(1) == "/etc/copr-rpmbuild/slot-1.toml"


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
        ('builder_pool = "ssh"\nssh_known_hosts = "/k"', "needs ssh_hosts"),
        ('builder_pool = "ssh"\n' + _SSH_HOST, "needs ssh_known_hosts"),
        (f'builder_pool = "ssh"\nssh_known_hosts = "/k"\n{_SSH_HOST}{_SSH_HOST}', "same name"),
        (_SSH_HOST + "max_builds = 2\n", r"needs an rpmbuild_config with \{slot\}"),
        (_SSH_HOST + "port = 0\n", "port"),
        (_SSH_HOST.replace('key_file = "/id"\n', ""), "key_file"),
        (_SSH_HOST + "colour = 1\n", "colour"),
        ('builder_min_version = "new"', "builder_min_version"),
        ('builder_frontend_url = "fe:5000"', r"an http\(s\) URL"),
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
