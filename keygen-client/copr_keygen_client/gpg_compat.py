"""``copr-sign-gpg``: stands in for gpg when rpmsign signs a package.

rpm runs ``%__gpg_sign_cmd``, which by default is ``%{__gpg} gpg --no-verbose --no-armor
... -u <name> -sbo <signature file> -- <plaintext>`` (rpm >= 4.16 pipes the plaintext on
stdin and names it ``-``; older rpm names a file and adds ``--batch --passphrase-fd 3``).
With ``--define "__gpg /usr/bin/copr-sign-gpg"`` this program reads those arguments,
sends the plaintext to keygen, and writes the detached signature where rpm expects it.
Only detached signing is supported; anything else is refused with gpg's exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from copr_keygen_client.api import KeygenClient, KeygenError, load_client_settings

__all__ = ["GpgArgs", "UsageError", "main", "parse_gpg_args"]

# Options rpm passes that change nothing for a detached signature made elsewhere.
IGNORED_FLAGS = frozenset(
    {
        "--no-verbose",
        "--verbose",
        "--no-armor",
        "--no-secmem-warning",
        "--batch",
        "--no-tty",
        "--quiet",
        "--yes",
        "--force-v3-sigs",
        "--force-v4-certs",
        "--sign",
        "--detach-sign",
        "--armor",
    }
)
# Options with a value that we accept and drop (the passphrase lives on keygen, not here).
IGNORED_WITH_VALUE = frozenset({"--passphrase-fd", "--pinentry-mode", "--homedir"})
EXIT_ERROR = 2


class UsageError(ValueError):
    """Arguments this stand-in cannot honour."""


@dataclass
class GpgArgs:
    """The parts of a gpg command line rpm runs for signing."""

    local_user: str | None = None
    output: str | None = None
    digest_algo: str | None = None
    armor: bool = False
    sign: bool = False
    detach: bool = False
    inputs: tuple[str, ...] = ()


def parse_gpg_args(argv: Sequence[str]) -> GpgArgs:
    """Understand the gpg command lines rpm builds for signing."""
    args = GpgArgs()
    items = list(argv)
    inputs: list[str] = []
    i = 0

    def value_of(option: str) -> str:
        nonlocal i
        if i + 1 >= len(items):
            raise UsageError(f"option {option} needs a value")
        i += 1
        return items[i]

    while i < len(items):
        item = items[i]
        if item == "--":
            inputs.extend(items[i + 1 :])
            break
        if item.startswith("--"):
            name, eq, inline = item.partition("=")
            if name in ("--local-user", "--output", "--digest-algo", *IGNORED_WITH_VALUE):
                value = inline if eq else value_of(name)
                if name == "--local-user":
                    args.local_user = value
                elif name == "--output":
                    args.output = value
                elif name == "--digest-algo":
                    args.digest_algo = value
            elif eq:
                raise UsageError(f"unsupported option {item}")
            elif name in IGNORED_FLAGS:
                args.armor = args.armor or name == "--armor"
                args.sign = args.sign or name in ("--sign", "--detach-sign")
                args.detach = args.detach or name == "--detach-sign"
                if name == "--no-armor":
                    args.armor = False
            else:
                raise UsageError(f"unsupported option {item}")
        elif item.startswith("-") and item != "-":
            cluster = item[1:]
            for pos, letter in enumerate(cluster):
                if letter in "uo":
                    rest = cluster[pos + 1 :]
                    value = rest if rest else value_of(f"-{letter}")
                    if letter == "u":
                        args.local_user = value
                    else:
                        args.output = value
                    break
                if letter == "s":
                    args.sign = True
                elif letter == "b":
                    args.sign = args.detach = True
                elif letter == "a":
                    args.armor = True
                elif letter not in "qv":
                    raise UsageError(f"unsupported option -{letter}")
        else:
            inputs.append(item)
        i += 1

    args.inputs = tuple(inputs)
    if not (args.sign and args.detach):
        raise UsageError("only detached signing (-sb / --detach-sign) is supported")
    if not args.local_user:
        raise UsageError("no key given: pass -u <owner>#<project>@copr.<domain>")
    if len(args.inputs) > 1:
        raise UsageError("one input at a time")
    return args


def _client() -> KeygenClient:
    """The keygen client rpmsign's caller handed over (``sign_rpms``), else the one the
    settings describe (``/etc/copr/sign.toml``, ``COPR_SIGN_*``).
    """
    client = KeygenClient.handed_over(os.environ)
    if client is not None:
        return client
    from copr_common.settings import SettingsError

    try:
        return KeygenClient.from_settings(load_client_settings())
    except SettingsError as error:
        raise KeygenError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns gpg-like exit codes (0 success, 2 error)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_gpg_args(argv)
        client = _client()
        source = args.inputs[0] if args.inputs else "-"
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        assert args.local_user is not None
        signature = client.sign(args.local_user, data, args.digest_algo, armor=args.armor)
        if args.output in (None, "-"):
            sys.stdout.buffer.write(signature)
            sys.stdout.buffer.flush()
        else:
            Path(args.output).write_bytes(signature)
    except (UsageError, KeygenError, OSError) as error:
        print(f"copr-sign-gpg: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
