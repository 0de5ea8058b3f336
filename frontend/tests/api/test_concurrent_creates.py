"""Requests that create the same name at once: one wins, the others get a 409, never a 500."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from copr_frontend.testing import Factory


def _post(url: str, headers: dict[str, str], body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - the loopback test server
        url,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        error.close()
        if error.code != 409:
            raise AssertionError(f"{error.code}: {body}") from None
        return int(error.code)


def _race(url: str, headers: dict[str, str], body: dict[str, Any], count: int = 8) -> list[int]:
    barrier = threading.Barrier(count)
    codes: list[int] = []
    failures: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            codes.append(_post(url, headers, body))
        except (AssertionError, OSError) as error:
            codes.append(-1)
            failures.append(repr(error))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return codes


def test_same_project_and_package_at_once(live_server, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    owner = factory.user("owner")
    factory.mock_chroot("fedora-42-x86_64")
    headers = factory.auth(owner)
    codes = _race(
        f"{live_server.url}/api_3/project/add/owner",
        headers,
        {"name": "racy", "chroots": ["fedora-42-x86_64"]},
    )
    assert sorted(set(codes)) == [200, 409], codes
    assert codes.count(200) == 1
    codes = _race(
        f"{live_server.url}/api_3/package/add/owner/racy/pkg/pypi",
        headers,
        {"pypi_package_name": "pkg"},
    )
    assert sorted(set(codes)) == [200, 409], codes
    assert codes.count(200) == 1
