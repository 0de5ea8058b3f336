"""``copr-keygen extend-keys``: keys close to expiry (or past it) are renewed in place."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from copr_common.settings import EXIT_CONFIG
from copr_keygen.cli import main as copr_keygen
from copr_keygen_client import KeygenClient, KeygenError

DAY = 24 * 3600


def _cli_env(settings: Any) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("COPR_KEYGEN_")}
    env["COPR_KEYGEN_STATE_DIR"] = str(settings.state_dir)
    env["COPR_KEYGEN_SECRET"] = settings.secret.get_secret_value()
    env["COPR_KEYGEN_LOG_LEVEL"] = "WARNING"
    return env


def _make_expired_key(home: Path, identity: str) -> None:
    """A key made "in 2020" that expired a day later: gpg's clock is set back for it."""
    params = (
        "Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nName-Real: expired\n"
        f"Name-Email: {identity}\nExpire-Date: 1d\n%no-protection\n%commit\n"
    )
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--faked-system-time",
            "20200101T000000",
            "--gen-key",
        ],
        input=params.encode(),
        capture_output=True,
        check=True,
    )


def test_extend_keys_renews_expiring_and_expired_keys(
    keygen: Any,
    client: KeygenClient,
    signing_identity: str,
    new_identity: Callable[[], str],
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    soon = new_identity()
    client.gen_key(soon, expire_days=3)
    client.sign_rpms([rpm_file], soon)
    expired = new_identity()
    _make_expired_key(keygen.settings.gnupg_home, expired)
    with pytest.raises(KeygenError, match=r"409: the key of .* expired at 2020-01-02"):
        client.sign(expired, b"data")
    far = client.key_info(signing_identity)["expires_on"]

    runner = CliRunner()
    env = _cli_env(keygen.settings)
    dry = runner.invoke(copr_keygen, ["extend-keys", "--within-days", "10", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"would extend {client.key_info(soon)['fingerprint']}" in dry.output
    assert f"<{expired}> (expires 2020-01-02)" in dry.output
    assert client.key_info(expired)["expired"] is True

    result = runner.invoke(
        copr_keygen, ["extend-keys", "--within-days", "10", "--expire-days", "400"], env=env
    )
    assert result.exit_code == 0, result.output
    target = time.time() + 400 * DAY
    for name in (soon, expired):
        info = client.key_info(name)
        assert f"extended {info['fingerprint']}" in result.output
        assert abs(info["expires_on"] - target) < 3600
        assert info["expired"] is False
    assert client.key_info(signing_identity)["expires_on"] == far

    # The renewed key signs again, and what it signed before still verifies.
    assert client.sign(expired, b"data")
    assert rpm_check(rpm_file, client.public_key(soon)).returncode == 0


def test_extend_keys_with_nothing_to_do(keygen: Any) -> None:
    result = CliRunner().invoke(
        copr_keygen,
        ["extend-keys", "--within-days", "0", "--dry-run"],
        env=_cli_env(keygen.settings),
    )
    assert result.exit_code == 0, result.output
    assert "no key expires within 0 days" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extend-keys", "--within-days", "-1"], "Invalid value for '--within-days'"),
        (["extend-keys", "--expire-days", "0"], "Invalid value for '--expire-days'"),
    ],
)
def test_extend_keys_bad_arguments(keygen: Any, args: list[str], message: str) -> None:
    result = CliRunner().invoke(copr_keygen, args, env=_cli_env(keygen.settings))
    assert result.exit_code == 2
    assert message in result.output


def test_settings_errors_name_the_setting(tmp_path: Path) -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("COPR_KEYGEN_")}
    result = CliRunner().invoke(copr_keygen, ["extend-keys"], env=env)
    assert result.exit_code == EXIT_CONFIG
    assert "'secret' is required" in result.output
    assert "COPR_KEYGEN_SECRET" in result.output

    config = tmp_path / "keygen.toml"
    config.write_text('secret = "short"\nstate_dir = "relative"\n')
    result = CliRunner().invoke(copr_keygen, ["--config", str(config), "extend-keys"], env=env)
    assert result.exit_code == EXIT_CONFIG
    assert "'secret'" in result.output
    assert "at least 16 characters long" in result.output
    assert "'state_dir'" in result.output
    assert "must be an absolute path" in result.output
    # COPR_KEYGEN_CONFIG names the same file when there is no --config.
    by_env = CliRunner().invoke(
        copr_keygen, ["extend-keys"], env={**env, "COPR_KEYGEN_CONFIG": str(config)}
    )
    assert by_env.exit_code == EXIT_CONFIG
    assert "'state_dir'" in by_env.output
