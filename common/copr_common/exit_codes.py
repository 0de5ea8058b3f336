"""copr-rpmbuild's exit codes: what the builder says about how a build ended.

The backend reads them after following a build, so they are one contract between two
services: a build failure is the package's fault and is final, an infrastructure failure
may succeed on another builder, and a cancel was asked for.
"""

from __future__ import annotations

EXIT_SUCCESS = 0
EXIT_BUILD_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3
EXIT_CANCELED = 4
EXIT_TIMEOUT = 5
