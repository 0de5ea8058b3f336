"""schemathesis (the real fuzzer from PyPI) against the live frontend on PostgreSQL.

It reads ``/api_3/openapi.json`` and sends generated requests to every operation, as the
owner of the seeded project: no answer may be a 5xx, and every answer must be a
documented status whose body matches its schema.  Seeded, and bounded in examples and
time, so that it runs in the suite (well under two minutes).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import World

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SEED = 20261101
MAX_EXAMPLES = 10
MAX_SECONDS = 60
"""The run's time budget: fuzzing stops when it is spent (the test stays under 2 min)."""
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def test_schemathesis_finds_no_5xx_and_no_schema_violation(  # type: ignore[no-untyped-def]
    live_server, world: World, tmp_path: Path
) -> None:
    login, token = world.factory.token(world.users["owner"])
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": str(Path(__file__).parent),
        "COPR_TEST_BUILD_ID": str(world.build.id),
        "COPR_TEST_SEED": str(SEED),
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{live_server.url}/api_3/openapi.json",
         "--url", f"{live_server.url}/api_3",
         "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
         "--max-time", str(MAX_SECONDS), "--phases", "fuzzing",
         "--checks", CHECKS, "--auth", f"{login}:{token}",
         "--generation-database", "none", "--no-shrink", "--workers", "1",
         "--request-timeout", "30", "--no-color",
         "--generation-with-security-parameters", "false",
         # Renewing the token would log the rest of the run out (the in-suite fuzzer
         # covers it).
         "--exclude-path", "/api-token"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=MAX_SECONDS + 60, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    tested = re.search(r"^\s*Tested: (\d+)$", output, re.MULTILINE)
    cases = re.search(r"^\s*(\d+) generated, \1 passed$", output, re.MULTILINE)
    assert tested, output[-4000:]
    assert cases, output[-4000:]
    # Even on a loaded machine the budget reaches half of the operations.
    assert int(tested.group(1)) >= 30, output[-4000:]
