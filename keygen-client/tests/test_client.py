"""The signing client: rpmsign signs through keygen, rpm verifies with the exported key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from copr_common.settings import EXIT_CONFIG
from copr_keygen_client import KeygenClient, SigningError, sign_rpms
from copr_keygen_client.cli import main as copr_sign
from copr_keygen_client.gpg_compat import UsageError, parse_gpg_args

BIN = Path(sys.executable).parent


def _key_id(client: KeygenClient, identity: str) -> str:
    return str(client.key_info(identity)["fingerprint"])[-8:].lower()


def _env(keygen: Any, secret: str | None = None) -> dict[str, str]:
    return {
        "COPR_SIGN_KEYGEN_URL": keygen.url,
        "COPR_SIGN_SECRET": secret or keygen.settings.secret.get_secret_value(),
    }


def test_signed_rpm_verifies_with_the_exported_pubkey(
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    pubkey = keygen_client.public_key(signing_identity)
    unsigned = rpm_check(rpm_file, pubkey)
    assert "Signature" not in unsigned.output

    keygen_client.sign_rpms([rpm_file], signing_identity)

    checked = rpm_check(rpm_file, pubkey)
    assert checked.returncode == 0, checked.output
    key_id = _key_id(keygen_client, signing_identity)
    assert f"Header V4 RSA/SHA256 Signature, key ID {key_id}: OK" in checked.output
    assert "BAD" not in checked.output


def test_tampered_payload_does_not_verify(
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    sign_rpms([rpm_file], signing_identity, keygen_client)
    data = bytearray(rpm_file.read_bytes())
    data[-20] ^= 0xFF
    rpm_file.write_bytes(bytes(data))
    checked = rpm_check(rpm_file, keygen_client.public_key(signing_identity))
    assert checked.returncode != 0
    assert "Payload SHA256 digest: BAD" in checked.output


def test_tampered_header_does_not_verify(
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    sign_rpms([rpm_file], signing_identity, keygen_client)
    data = rpm_file.read_bytes()
    assert data.count(b"A tiny package to sign") == 1
    rpm_file.write_bytes(data.replace(b"A tiny package to sign", b"A tiny package to SIGN"))
    checked = rpm_check(rpm_file, keygen_client.public_key(signing_identity))
    assert checked.returncode != 0
    key_id = _key_id(keygen_client, signing_identity)
    assert f"Header V4 RSA/SHA256 Signature, key ID {key_id}: BAD" in checked.output


def test_another_projects_key_does_not_verify(
    keygen_client: KeygenClient,
    signing_identity: str,
    identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    keygen_client.gen_key(identity)
    sign_rpms([rpm_file], signing_identity, keygen_client)
    checked = rpm_check(rpm_file, keygen_client.public_key(identity))
    assert checked.returncode != 0
    assert "NOKEY" in checked.output


def test_several_rpms_in_one_call(
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    tmp_path: Path,
    rpm_check: Callable[..., Any],
) -> None:
    # More packages than cores: they are shared out over one rpmsign per core.
    copies = []
    for number in range(4):
        copy = tmp_path / f"copy-{number}" / rpm_file.name
        copy.parent.mkdir()
        copy.write_bytes(rpm_file.read_bytes())
        copies.append(copy)
    keygen_client.sign_rpms([rpm_file, *map(str, copies)], signing_identity)
    pubkey = keygen_client.public_key(signing_identity)
    for rpm in (rpm_file, *copies):
        assert rpm_check(rpm, pubkey).returncode == 0


def test_one_bad_package_among_several_fails_the_call_and_names_it(
    keygen_client: KeygenClient, signing_identity: str, rpm_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad" / "not-a-package.rpm"
    bad.parent.mkdir()
    bad.write_bytes(b"no rpm here")
    with pytest.raises(SigningError, match="not-a-package.rpm"):
        keygen_client.sign_rpms([rpm_file, bad, rpm_file], signing_identity)
    assert bad.read_bytes() == b"no rpm here"


@pytest.mark.parametrize(
    ("secret", "which", "message"),
    [
        ("wrong-secret-0123456789", "signing", "401: missing or wrong secret"),
        (None, "unknown", "404: no key for"),
    ],
)
def test_failed_signing_leaves_the_rpm_untouched(
    keygen: Any,
    signing_identity: str,
    identity: str,
    rpm_file: Path,
    secret: str | None,
    which: str,
    message: str,
) -> None:
    before = rpm_file.read_bytes()
    client = keygen.client(secret) if secret else keygen.client()
    name = signing_identity if which == "signing" else identity
    with pytest.raises(SigningError, match=message):
        sign_rpms([rpm_file], name, client)
    assert rpm_file.read_bytes() == before
    assert keygen.keyring.find(identity) == []


def test_signing_a_missing_file_is_refused(keygen_client: KeygenClient, tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="no such file"):
        keygen_client.sign_rpms([tmp_path / "nope.rpm"], "a#b@copr.example.org")


def test_unreachable_keygen_is_a_clear_error(rpm_file: Path) -> None:
    from copr_common.testing.services import free_port

    client = KeygenClient(f"http://127.0.0.1:{free_port()}", "s" * 20, timeout=5)
    with pytest.raises(SigningError, match="cannot reach keygen"):
        client.sign_rpms([rpm_file], "a#b@copr.example.org")


# --- copr-sign-gpg: what rpmsign runs in the place of gpg ------------------------------------


def test_parse_arguments_of_current_rpm() -> None:
    args = parse_gpg_args(
        "--no-verbose --no-armor --no-secmem-warning --digest-algo=sha256 "
        "-u a#b@copr.example.org -sbo x.rpm.sig -- -".split()
    )
    assert (args.local_user, args.output, args.digest_algo) == (
        "a#b@copr.example.org",
        "x.rpm.sig",
        "sha256",
    )
    assert args.inputs == ("-",)
    assert not args.armor


def test_parse_arguments_of_older_rpm() -> None:
    args = parse_gpg_args(
        "--batch --no-verbose --no-armor --passphrase-fd 3 --no-secmem-warning "
        "-u a#b@copr.example.org -sbo /tmp/sig /tmp/plain".split()
    )
    assert (args.local_user, args.output, args.inputs) == (
        "a#b@copr.example.org",
        "/tmp/sig",
        ("/tmp/plain",),
    )


def test_parse_long_options() -> None:
    args = parse_gpg_args(
        ["--local-user=a#b@copr.example.org", "--detach-sign", "--armor", "--output", "o"]
    )
    assert (args.local_user, args.output, args.armor, args.inputs) == (
        "a#b@copr.example.org",
        "o",
        True,
        (),
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("-u k -so sig -", "only detached signing"),
        ("-sbo sig -", "no key given"),
        ("--export-secret-keys k", "unsupported option --export-secret-keys"),
        ("-u k -sbk", "unsupported option -k"),
        ("-u k -sb --digest-algo", "needs a value"),
        ("-u k -sb a b", "one input at a time"),
        ("--foo=bar -u k -sb", "unsupported option --foo=bar"),
    ],
)
def test_parse_refuses(argv: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_gpg_args(argv.split())


def test_gpg_stand_in_with_a_plaintext_file(
    keygen: Any,
    keygen_client: KeygenClient,
    signing_identity: str,
    tmp_path: Path,
    gpg_verify: Callable[..., bool],
) -> None:
    """The way rpm before 4.16 calls gpg: plaintext in a file, a passphrase fd."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"header bytes")
    sig = tmp_path / "plain.sig"
    result = subprocess.run(
        [
            str(BIN / "copr-sign-gpg"),
            "--batch",
            "--no-armor",
            "--passphrase-fd",
            "3",
            "-u",
            signing_identity,
            "-sbo",
            str(sig),
            str(plain),
        ],
        env={**os.environ, **_env(keygen)},
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert gpg_verify(keygen_client.public_key(signing_identity), b"header bytes", sig.read_bytes())


def test_gpg_stand_in_errors_exit_2(keygen: Any, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "copr-sign-gpg"), "-u", "a#b@copr.example.org", "-sbo", "-", "-"],
        env={**os.environ, **_env(keygen, "wrong-secret-0123456789")},
        input=b"data",
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"copr-sign-gpg: error: keygen answered 401" in result.stderr


def test_gpg_stand_in_uses_the_client_sign_rpms_hands_over(
    keygen: Any, keygen_client: KeygenClient, signing_identity: str, gpg_verify: Callable[..., bool]
) -> None:
    """rpmsign's caller hands its client over in the environment (``environment()``): the
    stand-in signs with it and never loads the settings model (one start per package)."""
    handed = KeygenClient(keygen.url, keygen.settings.secret.get_secret_value(), 30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPR_SIGN_")}
    # A settings file that would not load: the hand-over does not read it.
    env.update(handed.environment(), COPR_SIGN_CONFIG="/nonexistent/sign.toml")
    result = subprocess.run(
        [str(BIN / "copr-sign-gpg"), "-u", signing_identity, "-sbo", "-", "-"],
        env=env, input=b"payload", capture_output=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert gpg_verify(keygen_client.public_key(signing_identity), b"payload", result.stdout)
    light = subprocess.run(
        [sys.executable, "-c",
         "import sys, copr_keygen_client.gpg_compat; print('pydantic' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert light.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("COPR_SIGN_KEYGEN_URL", "ftp://keygen.example.org", "must be an http(s) URL"),
        ("COPR_SIGN_TIMEOUT", "soon", "must be seconds > 0"),
        ("COPR_SIGN_TIMEOUT", "-1", "must be seconds > 0"),
    ],
)
def test_a_bad_hand_over_is_a_clear_error(variable: str, value: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPR_SIGN_")}
    env.update(KeygenClient("http://127.0.0.1:9", "secret-0123456789", 30).environment())
    env[variable] = value
    result = subprocess.run(
        [str(BIN / "copr-sign-gpg"), "-u", "a#b@copr.example.org", "-sbo", "-", "-"],
        env=env, input="data", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"copr-sign-gpg: error: {variable} {message}" in result.stderr
    assert result.stdout == ""


# --- copr-sign: the command line -----------------------------------------------------------


def test_cli_gen_key_pubkey_and_sign_file(
    keygen: Any, identity: str, tmp_path: Path, gpg_verify: Callable[..., bool]
) -> None:
    runner = CliRunner()
    env = _env(keygen)
    made = runner.invoke(copr_sign, ["gen-key", identity, "--key-length", "2048"], env=env)
    assert made.exit_code == 0, made.output
    assert '"created": true' in made.output

    pub = tmp_path / "pubkey.gpg"
    exported = runner.invoke(copr_sign, ["pubkey", identity, "-o", str(pub)], env=env)
    assert exported.exit_code == 0, exported.output
    printed = runner.invoke(copr_sign, ["pubkey", identity], env=env)
    assert printed.output == pub.read_text()

    repomd = tmp_path / "repomd.xml"
    repomd.write_text("<repomd/>\n")
    signed = runner.invoke(copr_sign, ["sign-file", identity, str(repomd)], env=env)
    assert signed.exit_code == 0, signed.output
    asc = tmp_path / "repomd.xml.asc"
    assert signed.output.strip() == str(asc)
    assert asc.read_bytes().startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert gpg_verify(pub.read_text(), repomd.read_bytes(), asc.read_bytes())

    binary = runner.invoke(
        copr_sign,
        ["sign-file", "--binary", "--digest-algo", "SHA512", identity, str(repomd)],
        env=env,
    )
    assert binary.exit_code == 0, binary.output
    assert gpg_verify(
        pub.read_text(), repomd.read_bytes(), (tmp_path / "repomd.xml.sig").read_bytes()
    )


def test_cli_sign_rpms(
    keygen: Any,
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
) -> None:
    result = CliRunner().invoke(
        copr_sign, ["sign-rpms", signing_identity, str(rpm_file)], env=_env(keygen)
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"signed {rpm_file}\n"
    assert rpm_check(rpm_file, keygen_client.public_key(signing_identity)).returncode == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "'keygen_url' is required"),
        ({"COPR_SIGN_KEYGEN_URL": "ftp://x"}, "must be an http:// or https:// URL"),
        ({"COPR_SIGN_KEYGEN_URL": "http://127.0.0.1:1"}, "exactly one of secret and secret_file"),
        (
            {"COPR_SIGN_KEYGEN_URL": "http://127.0.0.1:1", "COPR_SIGN_SECRET_FILE": "/nonexistent"},
            "cannot read secret_file /nonexistent",
        ),
    ],
)
def test_cli_settings_errors(env: dict[str, str], message: str) -> None:
    clean = {k: None for k in os.environ if k.startswith("COPR_SIGN_")}
    result = CliRunner().invoke(copr_sign, ["pubkey", "a#b@copr.example.org"], env={**clean, **env})
    assert result.exit_code == EXIT_CONFIG
    assert message in result.output


def test_cli_secret_file_and_server_errors(keygen: Any, tmp_path: Path, identity: str) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(keygen.settings.secret.get_secret_value() + "\n")
    env = {"COPR_SIGN_KEYGEN_URL": keygen.url, "COPR_SIGN_SECRET_FILE": str(secret_file)}
    result = CliRunner().invoke(copr_sign, ["pubkey", identity], env=env)
    assert result.exit_code == 1
    assert f"keygen answered 404: no key for {identity}" in result.output
    bad = CliRunner().invoke(copr_sign, ["gen-key", "not-an-identity"], env=env)
    assert bad.exit_code == 1
    assert "keygen answered 400" in bad.output


def test_sign_rpms_reads_client_settings_from_the_environment(
    keygen: Any,
    keygen_client: KeygenClient,
    signing_identity: str,
    rpm_file: Path,
    rpm_check: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in _env(keygen).items():
        monkeypatch.setenv(name, value)
    sign_rpms([rpm_file], signing_identity)
    assert rpm_check(rpm_file, keygen_client.public_key(signing_identity)).returncode == 0

    monkeypatch.delenv("COPR_SIGN_KEYGEN_URL")
    with pytest.raises(SigningError, match="(?s)cannot set up the keygen client: .*keygen_url"):
        sign_rpms([rpm_file], signing_identity)
