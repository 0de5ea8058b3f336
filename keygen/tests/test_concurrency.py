"""Requests racing for one identity make exactly one key: threads, and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def _race_threads(call: Callable[[int], Any], count: int) -> list[Any]:
    """Run ``call(i)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_threads_racing_on_one_identity_make_one_key(thread_keygen: Any, identity: str) -> None:
    client = thread_keygen.client()
    results = _race_threads(lambda _: client.gen_key(identity), 8)
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert len({r.key["fingerprint"] for r in results}) == 1
    assert len(thread_keygen.keyring.find(identity)) == 1


def test_threads_on_different_identities_each_get_a_key(
    thread_keygen: Any, new_identity: Callable[[], str]
) -> None:
    client = thread_keygen.client()
    identities = [new_identity() for _ in range(4)]
    results = _race_threads(lambda i: client.gen_key(identities[i]), 4)
    assert all(r.created for r in results)
    assert len({r.key["fingerprint"] for r in results}) == 4
    for name in identities:
        assert len(thread_keygen.keyring.find(name)) == 1


def test_processes_racing_over_http_make_one_key(
    keygen: Any, thread_keygen: Any, identity: str
) -> None:
    """Six ``copr-sign gen-key`` processes, against gunicorn's three worker processes and
    the threaded server in this process, all on one GnuPG home."""
    procs = []
    for i in range(6):
        url = keygen.url if i % 2 else thread_keygen.url
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COPR_")},
            "COPR_SIGN_KEYGEN_URL": url,
            "COPR_SIGN_SECRET": keygen.settings.secret.get_secret_value(),
        }
        procs.append(
            subprocess.Popen(
                [str(BIN / "copr-sign"), "gen-key", identity],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 6, outputs
    made = [json.loads(out) for out, _ in outputs]
    assert sorted(m["created"] for m in made) == [False] * 5 + [True]
    assert len({m["fingerprint"] for m in made}) == 1
    assert len(keygen.keyring.find(identity)) == 1


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from copr_keygen.gpg import KeyRing
    from copr_common.key_identity import KeyIdentity
    from copr_keygen.keys import KeyService

    home, locks, identity, start = sys.argv[1:]
    service = KeyService(KeyRing(Path(home)), Path(locks), lock_timeout=120)
    time.sleep(max(0.0, float(start) - time.time()))
    result = service.ensure(KeyIdentity.parse(identity), "racer", 2048, 30)
    print(result.created, result.key.fingerprint)
    """
)


def test_processes_racing_on_the_key_service_make_one_key(keygen: Any, identity: str) -> None:
    """The per-identity lock holds across processes on its own (no HTTP server between)."""
    settings = keygen.settings
    start = time.time() + 2.0  # every racer is imported and waiting by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                str(settings.gnupg_home),
                str(settings.lock_dir),
                identity,
                str(start),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 5, outputs
    lines = [out.split() for out, _ in outputs]
    assert sorted(created for created, _ in lines) == ["False"] * 4 + ["True"]
    assert len({fingerprint for _, fingerprint in lines}) == 1
    assert len(keygen.keyring.find(identity)) == 1
