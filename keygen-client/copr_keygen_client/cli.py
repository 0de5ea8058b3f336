"""``copr-sign``: use keygen from the backend host.

copr-sign gen-key alice#hello@copr.example.org
copr-sign pubkey alice#hello@copr.example.org -o pubkey.gpg
copr-sign sign-file alice#hello@copr.example.org repomd.xml      # -> repomd.xml.asc
copr-sign sign-rpms alice#hello@copr.example.org *.rpm
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from copr_common.settings import SettingsError, exit_on_settings_error
from copr_keygen_client.api import KeygenClient, KeygenError, SigningError, load_client_settings


def _client(ctx: click.Context) -> KeygenClient:
    client: KeygenClient = ctx.obj
    return client


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default /etc/copr/sign.toml when present); COPR_SIGN_* override it.",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Ask keygen for keys and signatures; private keys never leave keygen."""
    try:
        ctx.obj = KeygenClient.from_settings(load_client_settings(config))
    except SettingsError as error:
        exit_on_settings_error("copr-sign", error)
    except KeygenError as error:
        # from_settings fails only on the secret_file setting: a configuration error too.
        exit_on_settings_error("copr-sign", SettingsError([str(error)]))


@main.command("gen-key")
@click.argument("identity")
@click.option("--name-real", help="Real name of the key [default: <owner>_<project>].")
@click.option("--key-length", type=click.Choice(["2048", "3072", "4096"]))
@click.option("--expire-days", type=click.IntRange(min=0), help="0: never expires.")
@click.pass_context
def gen_key(
    ctx: click.Context,
    identity: str,
    name_real: str | None,
    key_length: str | None,
    expire_days: int | None,
) -> None:
    """Make IDENTITY's key unless it exists; print the key as JSON."""
    try:
        result = _client(ctx).gen_key(
            identity, name_real, int(key_length) if key_length else None, expire_days
        )
    except KeygenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result.key, indent=2, sort_keys=True))


@main.command()
@click.argument("identity")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write it here."
)
@click.pass_context
def pubkey(ctx: click.Context, identity: str, output: Path | None) -> None:
    """Print (or write) IDENTITY's ASCII-armored public key."""
    try:
        armored = _client(ctx).public_key(identity)
    except KeygenError as error:
        raise click.ClickException(str(error)) from None
    if output is None:
        click.echo(armored, nl=False)
    else:
        output.write_text(armored)


@main.command("sign-file")
@click.argument("identity")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signature file [default: PATH.asc, or PATH.sig with --binary].",
)
@click.option("--armor/--binary", default=True, help="ASCII-armored or binary signature.")
@click.option("--digest-algo", type=click.Choice(["SHA256", "SHA384", "SHA512"]))
@click.pass_context
def sign_file(
    ctx: click.Context,
    identity: str,
    path: Path,
    output: Path | None,
    armor: bool,
    digest_algo: str | None,
) -> None:
    """Write a detached signature of the whole file PATH made by IDENTITY's key."""
    try:
        target = _client(ctx).sign_file(
            path, identity, output, armor=armor, digest_algo=digest_algo
        )
    except KeygenError as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(target))


@main.command("sign-rpms")
@click.argument("identity")
@click.argument(
    "rpms", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
def sign_rpms(ctx: click.Context, identity: str, rpms: tuple[Path, ...]) -> None:
    """Sign RPMS in place with IDENTITY's key (rpmsign, with keygen in the place of gpg)."""
    try:
        _client(ctx).sign_rpms(rpms, identity)
    except SigningError as error:
        raise click.ClickException(str(error)) from None
    for rpm in rpms:
        click.echo(f"signed {rpm}")
