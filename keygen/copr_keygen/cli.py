"""``copr-keygen``: run the service and look after its keys on the keygen host.

copr-keygen serve                      # gunicorn with the settings' bind/workers
copr-keygen extend-keys --within-days 30 --expire-days 1825
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click

from copr_common.log import setup_logging
from copr_common.settings import SettingsError, exit_on_settings_error
from copr_keygen.gpg import GpgError, KeyRing
from copr_keygen.keys import KeyService
from copr_keygen.locks import LockTimeoutError
from copr_keygen.settings import MAX_EXPIRE_DAYS, KeygenSettings, load_keygen_settings


def _settings(ctx: click.Context) -> KeygenSettings:
    conf: KeygenSettings = ctx.obj
    return conf


def _setup_logging(conf: KeygenSettings) -> None:
    setup_logging("copr_keygen", conf.log_level, conf.log_file)
    # python-gnupg warns of every non-zero gpg exit, and a lookup of a key not made yet
    # is one; gpg.py turns the real failures into errors that are logged where handled.
    logging.getLogger("gnupg").setLevel(logging.ERROR)


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default /etc/copr/keygen.toml when present).",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Copr keygen: per-project signing keys that never leave this host."""
    try:
        ctx.obj = load_keygen_settings(config)
    except SettingsError as error:
        exit_on_settings_error("copr-keygen", error)


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Serve the HTTP API with gunicorn (bind, workers and threads come from the settings)."""
    from gunicorn.app.base import BaseApplication

    from copr_keygen.app import create_app

    conf = _settings(ctx)
    _setup_logging(conf)
    app = create_app(conf)

    class KeygenServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", [conf.bind])
            self.cfg.set("workers", conf.workers)
            self.cfg.set("threads", conf.threads)
            self.cfg.set("worker_class", "gthread")
            # Key generation may take minutes; gunicorn must not kill that worker.
            self.cfg.set("timeout", int(max(conf.gpg_timeout, conf.lock_timeout)) + 30)
            self.cfg.set("accesslog", "-")
            # gunicorn's control socket is one per user by default: two servers collide.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    KeygenServer().run()


@main.command("extend-keys")
@click.option(
    "--within-days",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Extend keys that expire within this many days (expired keys included).",
)
@click.option(
    "--expire-days",
    type=click.IntRange(min=1, max=MAX_EXPIRE_DAYS),
    default=None,
    help="New expiry, counted from now [default: the default_expire_days setting].",
)
@click.option("--dry-run", is_flag=True, help="Only list the keys that would be extended.")
@click.pass_context
def extend_keys(
    ctx: click.Context, within_days: int, expire_days: int | None, dry_run: bool
) -> None:
    """Renew keys close to expiry, so that signatures keep verifying for consumers.

    The public key changes (it gains a new self-signature): publish it again
    (the backend's pubkey.gpg) after running this.
    """
    conf = _settings(ctx)
    _setup_logging(conf)
    days = conf.default_expire_days if expire_days is None else expire_days
    if days == 0:
        raise click.UsageError("--expire-days must be at least 1 (the setting is 0)")
    keyring = KeyRing(conf.gnupg_home, conf.gpg_binary, conf.gpg_timeout)
    service = KeyService(keyring, conf.lock_dir, conf.lock_timeout)
    try:
        keys = service.expiring(within_days)
    except GpgError as error:
        raise click.ClickException(str(error)) from None
    failed = 0
    for key in keys:
        name = key.uids[0] if key.uids else key.fingerprint
        if dry_run:
            click.echo(f"would extend {key.fingerprint} {name} (expires {_day(key.expires)})")
            continue
        try:
            renewed = service.extend(key, days)
        except (GpgError, LockTimeoutError) as error:
            failed += 1
            click.echo(f"failed to extend {key.fingerprint} {name}: {error}", err=True)
            continue
        click.echo(
            f"extended {key.fingerprint} {name}: {_day(key.expires)} -> {_day(renewed.expires)}"
        )
    if not keys:
        click.echo(f"no key expires within {within_days} days")
    if failed:
        raise click.ClickException(f"{failed} of {len(keys)} keys could not be extended")


def _day(timestamp: int | None) -> str:
    return "never" if timestamp is None else time.strftime("%Y-%m-%d", time.gmtime(timestamp))
