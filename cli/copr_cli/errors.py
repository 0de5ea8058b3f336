"""Errors of the command line and the exit code each one ends copr-cli with.

The codes are copr-cli's: scripts test them.
"""

from __future__ import annotations

from copr.v3 import CoprException

EXIT_REQUEST = 1
EXIT_BAD_ARGUMENT = 2
EXIT_OTHER = 3
EXIT_BUILD_FAILED = 4
EXIT_UNKNOWN_RESPONSE = 5
EXIT_CONFIG = 6
EXIT_AUTH = 7


class CoprBuildException(CoprException):
    """A watched build failed or was canceled."""


class CoprUnknownResponseException(CoprException):
    """The server answered something this client cannot understand."""


class BadArgument(Exception):
    """A command line value is wrong in a way argparse cannot tell by itself."""
