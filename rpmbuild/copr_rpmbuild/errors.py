"""Why a build stopped, and the exit code each reason maps to.

The split matters to the backend: a build failure is the package's fault and is final, an
infrastructure failure may succeed on another builder, and a cancel was asked for.
"""

from __future__ import annotations

from copr_common.exit_codes import (
    EXIT_BUILD_FAILED,
    EXIT_CANCELED,
    EXIT_INFRASTRUCTURE,
    EXIT_SUCCESS,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_BUILD_FAILED",
    "EXIT_CANCELED",
    "EXIT_INFRASTRUCTURE",
    "EXIT_SUCCESS",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "BuildCanceled",
    "BuildFailure",
    "BuildTimeout",
    "CoprBuildError",
    "InfrastructureError",
    "LimitExceeded",
]


class CoprBuildError(Exception):
    """Base of every reason a build stops early; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_BUILD_FAILED


class BuildFailure(CoprBuildError):
    """The package (its spec, sources, script or build) is at fault."""


class LimitExceeded(BuildFailure):
    """The build went over a limit: log size, result-dir disk use or download size."""


class BuildTimeout(BuildFailure):
    """The build ran longer than the task's timeout and was killed."""

    exit_code = EXIT_TIMEOUT


class InfrastructureError(CoprBuildError):
    """The builder could not do its part: task not fetched, tool missing, lock held."""

    exit_code = EXIT_INFRASTRUCTURE


class BuildCanceled(CoprBuildError):
    """Somebody asked the build to stop (SIGINT/SIGTERM, or copr-rpmbuild-cancel)."""

    exit_code = EXIT_CANCELED
