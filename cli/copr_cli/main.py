"""The ``copr-cli`` entry point: the parser, dispatch, and errors turned into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from copr.v3 import (
    CoprAuthException,
    CoprConfigException,
    CoprException,
    CoprNoResultException,
    CoprRequestException,
)
from copr.v3 import requests as copr_requests
from copr_cli import (
    __version__,
    account,
    builds,
    chroots,
    packages,
    permissions,
    projects,
    webhooks,
)
from copr_cli.context import Context, log
from copr_cli.errors import (
    EXIT_AUTH,
    EXIT_BAD_ARGUMENT,
    EXIT_BUILD_FAILED,
    EXIT_CONFIG,
    EXIT_OTHER,
    EXIT_REQUEST,
    EXIT_UNKNOWN_RESPONSE,
    BadArgument,
    CoprBuildException,
    CoprUnknownResponseException,
)


def setup_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and one subcommand per action."""
    parser = argparse.ArgumentParser(
        prog="copr-cli",
        description="Command line client of Copr, the build system that turns sources "
        "into RPM repositories.",
    )
    parser.add_argument("--debug", action="store_true", help="Enable debug output.")
    parser.add_argument("--config", help="Path to another configuration file.")
    parser.add_argument("--version", action="version", version=f"%(prog)s version {__version__}")
    parser.add_argument("--no-color", action="store_true", default=False, help="No colours.")
    subparsers = parser.add_subparsers(title="actions", metavar="ACTION")
    sources = builds.add_source_options(subparsers)
    account.register(subparsers)
    projects.register(subparsers)
    builds.register(subparsers, sources)
    chroots.register(subparsers)
    packages.register(subparsers, sources)
    permissions.register(subparsers)
    webhooks.register(subparsers)
    return parser


def setup_logging(debug: bool) -> None:
    """``ERROR: ...`` lines on stderr; ``--debug`` shows everything, HTTP included."""
    if debug:
        logging.basicConfig(
            level=logging.DEBUG,
            format="[%(asctime)s] {%(pathname)s:%(lineno)d} %(levelname)s - %(message)s",
            datefmt="%H:%M:%S",
        )
        sys.stderr.write("#  Debug log enabled  #\n")
        return
    # A new handler per run: main() may run several times in one process (tests), each
    # time with the sys.stderr of that moment.
    for old in list(log.handlers):
        log.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.propagate = False


def _auth_hint(ctx_url: str | None, error: CoprAuthException) -> str:
    response = error.response
    if response is not None and response.status_code == 401 and ctx_url:
        return (
            f"\nYour API token may have expired or been replaced: get a new one at "
            f"{ctx_url}/api/ (or run 'copr-cli new-api-token' while the old one is valid).\n"
        )
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run copr-cli with ``argv`` (default: the process's arguments); return the exit code."""
    copr_requests.USER_AGENT = f"copr copr-cli/{__version__}"
    parser = setup_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_ARGUMENT
    setup_logging(args.debug)
    if "func" not in args:
        parser.print_help()
        return 0

    copr_url: str | None = None
    try:
        ctx = Context(args.config, no_color=args.no_color)
        copr_url = ctx.copr_url
        if getattr(args, "needs_auth", False):
            ctx.require_auth()
        args.func(ctx, args)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted by user.")
        return EXIT_REQUEST
    except CoprBuildException as error:
        sys.stderr.write(f"\nBuild error: {error}\n")
        return EXIT_BUILD_FAILED
    except CoprUnknownResponseException as error:
        sys.stderr.write(f"\nError: {error}\n")
        return EXIT_UNKNOWN_RESPONSE
    except (CoprRequestException, CoprNoResultException) as error:
        sys.stderr.write("\nSomething went wrong:")
        sys.stderr.write(f"\nError: {error}\n")
        if "is not in JSON format" in str(error):
            _explain_bad_response(error, args.debug)
        return EXIT_REQUEST
    except (argparse.ArgumentTypeError, BadArgument) as error:
        sys.stderr.write(f"\nError: {error}\n")
        return EXIT_BAD_ARGUMENT
    except CoprConfigException as error:
        sys.stderr.write(f"\nError: Copr configuration error. {error}\n")
        return EXIT_CONFIG
    except CoprAuthException as error:
        sys.stderr.write(
            "\nError: Operation requires API authentication. See the 'AUTHENTICATION' "
            "section in man copr-cli(1).\n"
            f"\nError: {error}\n" + _auth_hint(copr_url, error)
        )
        return EXIT_AUTH
    except CoprException as error:
        sys.stderr.write(f"\nError: {error}\n")
        return EXIT_OTHER
    except BrokenPipeError:
        # The reader went away (e.g. `copr-cli list-builds | head`): not an error.
        return 0
    return 0


def _explain_bad_response(error: CoprException, debug: bool) -> None:
    if not debug:
        sys.stderr.write("Try 'copr-cli --debug' for more info.\n")
        return
    response = error.response
    if response is None:
        return
    import re

    text = re.sub(r"<.*?>", "", response.content.decode("utf-8", "replace"))
    sys.stderr.write(f"\nServer response:\n----------------\n{text}\n")


def run() -> None:
    """Console script: exit with :func:`main`'s code."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader is gone: point stdout at /dev/null so that the interpreter's final
        # flush does not complain on stderr.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


if __name__ == "__main__":
    run()
