"""A task no builder can take keeps waiting, and is offered less and less often."""

from __future__ import annotations

import logging
import re
import time

from copr_backend.testing.helpers import running_build_dispatcher
from copr_common.enums import StatusEnum


def test_a_task_no_builder_can_take_waits_longer_each_time(
    factory, db_session, make_backend, tmp_path, caplog
):
    key = tmp_path / "id_ed25519"
    key.write_text("never read: no host builds aarch64\n")
    backend = make_backend(
        builder_pool="ssh",
        ssh_hosts=[{"address": "127.0.0.1", "key_file": str(key), "arches": ["x86_64"]}],
        ssh_known_hosts=str(tmp_path / "known_hosts"),
        no_builder_retry_base=1.0,
        no_builder_retry_max=2.0,
    )
    chroot = "fedora-42-aarch64"
    project = factory.project(name="arm", chroots=[chroot])
    build = factory.build(
        project,
        package=factory.package(project, "arm"),
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.pending,
    )
    caplog.set_level(logging.INFO, logger="copr_common.worker_manager.backend-build")
    with running_build_dispatcher(backend):
        time.sleep(9)
    misses = [r.getMessage() for r in caplog.records if "found no builder" in r.getMessage()]
    # Every round (1 s) would start a worker: 1 s, 2 s, then 2 s apart start only a few.
    assert 2 <= len(misses) <= 5, misses
    assert "no ssh host builds fedora-42-aarch64" in misses[0]
    waits = [float(re.search(r"offered again in (\S+) s", m).group(1)) for m in misses]
    assert waits[:3] == [1.0, 2.0, 2.0][: len(waits[:3])]
    db_session.expire_all()
    # Still waiting for a builder ("starting" as the worker left it), never failed.
    assert build.chroots[0].status in (StatusEnum.pending, StatusEnum.starting)
