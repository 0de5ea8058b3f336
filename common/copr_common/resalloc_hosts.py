"""Builder hosts as the resources of a resalloc pool, and where resalloc-server is.

A pool whose ``cmd_new`` is ``python -m copr_common.resalloc_hosts new --base-dir DIR
...`` gets builder hosts (:mod:`copr_common.builder_hosts`: a network namespace with an
sshd and copr-rpmbuild) as its resources; ``delete`` is its ``cmd_delete``.  ``new``
prints the host's address (the ticket's output), adds its host key to the known-hosts
file the backend checks (``DIR/known_hosts``) and links ``DIR/by-address/ADDRESS`` to the
host's dir: every such host shares this machine's file system, so the backend finds a
host's copr-rpmbuild settings by its address
(``resalloc_rpmbuild_config = "DIR/by-address/{address}/slot-0/rpmbuild.toml"``).

The tests of the resalloc pool and ``copr-local up --builders resalloc`` use them.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from copr_common import builder_hosts

# common/copr_common/resalloc_hosts.py -> the checkout.
_CHECKOUT = Path(__file__).resolve().parents[2]


def find_resalloc(checkout: Path = _CHECKOUT) -> tuple[Path | None, str]:
    """The directory holding ``resalloc-server`` and ``resalloc-maint``; else None and why.

    resalloc is neither on PyPI nor in Debian: ``make setup`` installs it into the
    checkout's ``.venv-resalloc`` from its release tarball, unless an installed
    ``resalloc-server`` is on PATH (Fedora's package).
    """
    installed = shutil.which("resalloc-server")
    if installed:
        return Path(installed).parent, ""
    venv = checkout / ".venv-resalloc" / "bin"
    if (venv / "resalloc-server").exists() and (venv / "resalloc-maint").exists():
        return venv, ""
    return None, (
        f"resalloc-server is not installed and {venv.parent} does not exist: install the "
        "resalloc-server package, or let `make setup` install it from the release tarball "
        "(../shared/third-party/resalloc-*.tar.gz or "
        "RESALLOC_TARBALL=/path/to/resalloc-<version>.tar.gz)"
    )


def builder_host_commands(
    base_dir: Path,
    authorized_key: Path,
    rpmbuild_settings: dict[str, Any],
    forward_ports: list[int],
    prefix: str,
) -> tuple[str, str]:
    """``cmd_new`` and ``cmd_delete`` of a pool of builder hosts under ``base_dir``."""
    base_dir.mkdir(parents=True, exist_ok=True)
    settings_file = base_dir / "rpmbuild-settings.json"
    settings_file.write_text(json.dumps(rpmbuild_settings))
    command = [sys.executable, "-m", "copr_common.resalloc_hosts"]
    common = ["--base-dir", str(base_dir), "--prefix", prefix]
    new = [*command, "new", *common, "--authorized-key", str(authorized_key)]
    new += ["--rpmbuild-settings", str(settings_file)]
    for port in forward_ports:
        new += ["--forward", str(port)]
    return shlex.join(new), shlex.join([*command, "delete", *common])


def _host_name(prefix: str) -> str:
    # The resource id is unique on the server; the prefix keeps servers apart.
    return f"{prefix}{os.environ['RESALLOC_ID']}"


def _new(args: argparse.Namespace) -> int:
    name = _host_name(args.prefix)
    settings = json.loads(Path(args.rpmbuild_settings).read_text())
    host = builder_hosts.create(
        name,
        Path(args.authorized_key).read_text(),
        base_dir=args.base_dir,
        rpmbuild_settings=settings,
        forward_ports=args.forward,
    )
    builder_hosts.add_known_host(args.base_dir / "known_hosts", host)
    links = args.base_dir / "by-address"
    links.mkdir(exist_ok=True)
    link = links / host.address
    link.unlink(missing_ok=True)
    link.symlink_to(host.path)
    # Which pool made which host: where a ticket landed, for whoever looks later.
    with (args.base_dir / "resources.log").open("a") as journal:
        journal.write(f"{host.address} {os.environ.get('RESALLOC_POOL_ID', '?')} {name}\n")
    print(host.address)
    return 0


def _delete(args: argparse.Namespace) -> int:
    name = _host_name(args.prefix)
    host = builder_hosts.load(name, base_dir=args.base_dir)
    builder_hosts.delete(name, base_dir=args.base_dir)
    if host is not None:
        builder_hosts.remove_known_host(args.base_dir / "known_hosts", host.address)
        link = args.base_dir / "by-address" / host.address
        if link.is_symlink() and link.readlink() == host.path:
            link.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``new`` / ``delete``: a resalloc pool's ``cmd_new`` / ``cmd_delete`` (see above)."""
    parser = argparse.ArgumentParser(prog="python -m copr_common.resalloc_hosts")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("new", "delete"):
        sub = commands.add_parser(command)
        sub.add_argument("--base-dir", type=Path, required=True)
        sub.add_argument("--prefix", required=True)
        if command == "new":
            sub.add_argument("--authorized-key", required=True)
            sub.add_argument("--rpmbuild-settings", required=True)
            sub.add_argument("--forward", type=int, action="append", default=[])
    args = parser.parse_args(argv)
    try:
        return _new(args) if args.command == "new" else _delete(args)
    except (builder_hosts.BuilderHostError, OSError, ValueError) as error:
        print(f"resalloc_hosts: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
