"""Concurrent reports about one build through a real threaded server: nothing is lost."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.testing import Factory

CHROOTS = [f"fedora-42-{arch}" for arch in ("x86_64", "aarch64", "ppc64le", "s390x")] + [
    f"epel-9-{arch}" for arch in ("x86_64", "aarch64", "ppc64le", "s390x")
]


def test_parallel_chroot_reports_keep_the_build_state_right(
    live_server, factory: Factory, backend_headers: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(chroots=CHROOTS)
    builds = [
        factory.build(project, source_status=StatusEnum.succeeded, chroot_status=StatusEnum.running)
        for _ in range(3)
    ]

    def report(build_id: int, chroot: str) -> int:
        body = {"builds": [{"id": build_id, "chroot": chroot, "status": 1}]}
        request = urllib.request.Request(  # noqa: S310 - loopback http
            f"{live_server.url}/backend/update/",
            data=json.dumps(body).encode(),
            headers={**backend_headers, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(report, b.id, c) for b in builds for c in CHROOTS]
        assert [f.result() for f in futures] == [200] * len(futures)

    factory.session.expire_all()
    for build in builds:
        stored = factory.session.get(Build, build.id)
        assert stored is not None
        assert {c.status for c in stored.chroots} == {StatusEnum.succeeded}
        assert stored.state == StatusEnum.succeeded
