"""The management command, through click's runner and its real entry point."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from copr_common.settings import EXIT_CONFIG
from copr_frontend.cli import main
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory
from copr_frontend.users.logic import authenticate_token, get_group, get_user


@pytest.fixture
def run(settings: FrontendSettings):  # type: ignore[no-untyped-def]
    env = {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
        "COPR_FRONTEND_PUBLIC_URL": "http://copr.test:5000",
    }

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return invoke


def test_upgrade_db_is_idempotent(run) -> None:  # type: ignore[no-untyped-def]
    result = run("upgrade-db")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_upgrade_db_on_a_new_sqlite_file(tmp_path: Path) -> None:
    env = {
        "COPR_FRONTEND_DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite",
        "COPR_FRONTEND_SECRET_KEY": "0123456789abcdefgh",
        "COPR_FRONTEND_BACKEND_PASSWORD": "backend-pass",
    }
    result = CliRunner().invoke(main, ["upgrade-db"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new.sqlite").exists()


def test_missing_settings_are_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "none.toml"), "list-chroots"])
    assert result.exit_code == EXIT_CONFIG
    assert "does not exist" in result.output


def test_bad_settings_file_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "frontend.toml"
    config.write_text('database_url = "sqlite://"\npublic_url = "ftp://copr.example.org"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "list-chroots"])
    assert result.exit_code == EXIT_CONFIG
    assert "copr-frontend: invalid settings" in result.output
    assert "'public_url'" in result.output
    assert "must be an http:// or https:// URL" in result.output


def test_chroot_commands(run, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    result = run("create-chroot", "fedora-42-x86_64", "epel-9-aarch64", "--tag", "arch_aarch64")
    assert result.exit_code == 0, result.output
    assert "created fedora-42-x86_64 (dist-git branch f42)" in result.output
    assert "created epel-9-aarch64 (dist-git branch epel9)" in result.output

    again = run("create-chroot", "fedora-42-x86_64")
    assert again.exit_code == 1
    assert "already exists" in again.output
    bad = run("create-chroot", "not a chroot")
    assert bad.exit_code == 1
    assert "<os>-<version>-<arch>" in bad.output
    # One bad name in a list stores none of them.
    mixed = run("create-chroot", "fedora-43-x86_64", "nonsense")
    assert mixed.exit_code == 1
    assert "fedora-43-x86_64" not in run("list-chroots", "--all").output

    assert run("deactivate", "epel-9-aarch64").exit_code == 0
    assert run("list-chroots").output == "fedora-42-x86_64\n"
    assert "epel-9-aarch64\t(inactive)" in run("list-chroots", "--all").output

    result = run("alter-chroot", "epel-9-aarch64", "--activate", "--comment", "EL 9 on ARM")
    assert result.exit_code == 0, result.output
    assert run("list-chroots").output == "epel-9-aarch64\tEL 9 on ARM\nfedora-42-x86_64\n"
    assert run("alter-chroot", "epel-9-aarch64").exit_code == 2
    missing = run("alter-chroot", "fedora-1-x86_64", "--deactivate")
    assert missing.exit_code == 1
    assert "does not exist" in missing.output

    factory.session.expire_all()
    chroot = factory.session.query(MockChroot).filter_by(name="epel-9-aarch64").one()
    assert chroot.tags == ["arch_aarch64"]


def test_seed_chroots(run) -> None:  # type: ignore[no-untyped-def]
    result = run("seed-chroots", "--fedora", "41", "--fedora", "42")
    assert result.exit_code == 0, result.output
    names = run("list-chroots").output.split()
    assert names == sorted(names)
    for name in ("fedora-41-x86_64", "fedora-42-aarch64", "fedora-rawhide-x86_64",
                 "fedora-rawhide-aarch64", "epel-9-x86_64", "epel-10-aarch64",
                 "centos-stream-9-x86_64", "centos-stream-10-aarch64"):  # fmt: skip
        assert name in names
    assert "0 chroots created" in run("seed-chroots", "--fedora", "41", "--fedora", "42").output


def test_accounts_and_token(run, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("create-user", "admin1", "--admin", "--password-stdin", input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "created user admin1 (admin)" in result.output
    assert run("create-user", "admin1").exit_code == 1
    short = run("create-user", "weak", "--password-stdin", input="x\n")
    assert short.exit_code == 1
    assert "too short" in short.output
    assert run("create-user", "@nope").exit_code == 1
    assert run("create-user", "bob").exit_code == 0

    assert run("create-group", "@devs").output == "created group @devs\n"
    assert run("create-group", "devs").exit_code == 1
    assert run("add-member", "devs", "bob").exit_code == 0
    assert "already a member" in run("add-member", "@devs", "bob").output
    assert "does not exist" in run("add-member", "nogroup", "bob").output
    assert "does not exist" in run("add-member", "devs", "nobody").output

    result = run("api-token", "admin1", "--days", "10")
    assert result.exit_code == 0, result.output
    config = configparser.ConfigParser()
    config.read_string(result.output)
    section = config["copr-cli"]
    assert section["username"] == "admin1"
    assert section["copr_url"] == "http://copr.test:5000"
    assert section["encrypted"] == "False"
    assert section["expiration"]

    factory.session.expire_all()
    user = authenticate_token(factory.session, section["login"], section["token"])
    assert user.name == "admin1"
    assert user.admin

    # Renewing keeps the login and invalidates the old token.
    renewed = configparser.ConfigParser()
    output = tmp_path / "copr"
    assert run("api-token", "admin1", "--output", str(output)).exit_code == 0
    assert output.stat().st_mode & 0o777 == 0o600
    renewed.read(output)
    assert renewed["copr-cli"]["login"] == section["login"]
    assert renewed["copr-cli"]["token"] != section["token"]
    assert "does not exist" in run("api-token", "nobody").output

    factory.session.expire_all()
    group = get_group(factory.session, "devs")
    bob = get_user(factory.session, "bob")
    assert group is not None
    assert bob is not None
    assert [m.name for m in group.members] == ["bob"]


def test_serve_answers_http(settings: FrontendSettings) -> None:
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from copr_common.testing.services import free_port

    port = free_port()
    env = {
        **os.environ,
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "copr_frontend.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api_3/auth-check", timeout=5)
            except urllib.error.HTTPError as error:
                code = error.code
                break
            except urllib.error.URLError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
    assert code == 401
