"""Console-script aliases for one subcommand of a service's command.

``copr-backend-build-dispatcher --config F`` means ``copr-backend --config F
build-dispatcher``: the global ``--config`` option moves before the subcommand, every
other argument follows it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import NoReturn


def subcommand_argv(command: str, argv: Sequence[str]) -> list[str]:
    """``argv`` of an alias rewritten as the arguments of ``<command>`` of the main command."""
    rest = list(argv)
    config: list[str] = []
    if "--config" in rest:
        at = rest.index("--config")
        config = rest[at : at + 2]
        del rest[at : at + 2]
    return [*config, command, *rest]


def run_subcommand(main: Callable[[list[str]], int], command: str) -> NoReturn:
    """Run ``main`` as ``command`` with this process's arguments, and exit with its result."""
    raise SystemExit(main(subcommand_argv(command, sys.argv[1:])))
