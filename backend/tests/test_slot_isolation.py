"""Each slot of the local pool builds as a uid of its own: one build that uses up its
process limit leaves the build on the other slot untouched, and its workspace goes when
it is canceled."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.builds.transitions import cancel_build

MAX_PROCESSES = 48

# Forks until the process limit stops it, then holds every process it got.
BOMB = """#!/bin/sh
echo "bomb runs as uid $(id -u)"
python3 - <<'EOF'
import os, time
count = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    count += 1
print(f"bomb: {count} processes, limit reached", flush=True)
time.sleep(300)
EOF
"""

# An ordinary build that forks a few dozen short processes on the way.
NORMAL = """#!/bin/sh
set -e
echo "normal build runs as uid $(id -u)"
for i in $(seq 30); do sh -c 'true' & done
wait
echo normal-build-forked-fine
cat > plain.spec <<'SPEC'
Name: plain
Version: 1
Release: 1
Summary: an ordinary package
License: MIT
BuildArch: noarch
%description
plain
%files
SPEC
"""


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _live_log(backend, project, build) -> Path:  # type: ignore[no-untyped-def]
    return (
        backend.settings.results_dir
        / project.ownername
        / project.name
        / "srpm-builds"
        / f"{build.id:08d}"
        / "builder-live.log"
    )


def test_fork_bomb_on_one_slot_leaves_the_build_on_the_other_slot_alone(
    factory, db_session, make_backend
):
    backend = make_backend(rpmbuild_settings={"max_processes": MAX_PROCESSES})
    project = factory.project(name="slots")
    bomb = factory.build(
        project,
        source_type=BuildSourceEnum.custom,
        source_json={"script": BOMB, "chroot": "fedora-42-x86_64"},
    )
    db_session.commit()
    bomb_log = _live_log(backend, project, bomb)
    slots = [backend.settings.local_pool_dir / f"slot-{n}" / "workspace" for n in (0, 1)]

    def read(path: Path) -> str:
        # A finished build's log is gzipped.
        packed = path.with_name(path.name + ".gz")
        if packed.exists():
            return gzip.decompress(packed.read_bytes()).decode(errors="replace")
        return path.read_text(errors="replace") if path.exists() else ""

    with running_build_dispatcher(backend):
        wait_for(lambda: "limit reached" in read(bomb_log), 90, "the bomb to use up its limit")
        normal = factory.build(
            project,
            source_type=BuildSourceEnum.custom,
            source_json={"script": NORMAL, "chroot": "fedora-42-x86_64"},
        )
        db_session.commit()

        def normal_ended():
            db_session.expire_all()
            # A source build that succeeded waits for its dist-git import next.
            return normal.source_status in (StatusEnum.importing, StatusEnum.failed)

        wait_for(normal_ended, 120, "the normal build to end")
        normal_log = read(_live_log(backend, project, normal))
        assert normal.source_status == StatusEnum.importing, normal_log
        assert "normal-build-forked-fine" in normal_log
        # The bomb still holds all it got: it ran out of its own limit only.
        db_session.expire_all()
        assert bomb.source_status == StatusEnum.running
        uids = {
            line.rsplit(" ", 1)[1]
            for line in (read(bomb_log) + normal_log).splitlines()
            if " runs as uid " in line
        }
        expected = {str(backend.settings.local_uid_base + n) for n in (0, 1)}
        assert uids == expected

        assert cancel_build(db_session, bomb)
        db_session.commit()

        def canceled():
            db_session.expire_all()
            return bomb.source_status == StatusEnum.canceled and not backend.redis.smembers(
                "copr:backend-build:workers"
            )

        wait_for(canceled, 60, "the bomb to be canceled")
    # Every process the bomb held is gone with it.
    bomb_uid = backend.settings.local_uid_base
    wait_for(lambda: not _processes_of(bomb_uid), 30, "the bomb's processes to go")
    # Its network's firewall table too (the cancel may have had to kill copr-rpmbuild).
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True)
    assert f"copr_rpmbuild_{bomb_uid}_" not in tables.stdout
    for workspace in slots:
        assert not workspace.exists() or list(workspace.iterdir()) == []
