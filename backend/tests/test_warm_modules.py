"""The modules a build worker's fork server imports ahead are the ones its workers use."""

from __future__ import annotations

import json
import subprocess
import sys
import typing

import pytest

from copr_backend.builds.dispatcher import POOL_WARM_MODULES, BuildWorkerManager
from copr_backend.settings import BackendSettings

POOLS = typing.get_args(BackendSettings.model_fields["builder_pool"].annotation)

# In a fresh interpreter: import the warm modules, then make the pool as a worker does;
# print what making it imported besides (the standard library's and sys.modules' own).
PROBE = """
import importlib, json, sys
from copr_backend.settings import BackendSettings
warm = json.loads(sys.argv[1])
for name in warm:
    importlib.import_module(name)
before = set(sys.modules)
from copr_backend.pools import create_pool
settings = BackendSettings.model_construct(**json.loads(sys.argv[2]))
try:
    create_pool(settings)
except Exception:
    pass  # a pool that cannot start here has imported its module all the same
print(json.dumps(sorted(n for n in set(sys.modules) - before if n.startswith("copr_"))))
"""


def test_every_pool_has_its_modules() -> None:
    assert set(POOL_WARM_MODULES) == set(POOLS)


@pytest.mark.parametrize("pool", POOLS)
def test_a_workers_pool_imports_nothing_of_ours_that_is_not_warm(pool: str) -> None:
    warm = [*BuildWorkerManager.warm_modules, *POOL_WARM_MODULES[pool]]
    found = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(warm), json.dumps({"builder_pool": pool})],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(found.stdout) == []
