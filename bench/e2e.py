"""One trivial build, submit to installable, on the local stack against the raw toolchain.

Starts ``copr-local up --detach`` in a private state dir, creates a project, uploads the
example SRPM (``local/example/hello.spec``) through API v3 (``build/create/upload``) and
waits until its chroot has succeeded: built, signed and published in the repodata, so
installable.  The baseline, in the same run, is what that takes by hand: ``rpmbuild
--rebuild`` of the same SRPM, ``rpmsign --addsign`` with a fresh gpg key, and
``createrepo_c`` of the result.  Prints both times, their ratio and the build's stage
timings (API v3 ``timings``) as seconds from submit, with each stage's share.

    .venv/bin/python bench/e2e.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from concurrent_writes import CHROOT, COPR_LOCAL, make_srpm, start_stack

BUILD_STAGES = (
    "submitted", "source_started", "source_builder_leased", "source_build_ended",
    "source_signed", "source_ended", "import_started", "import_ended",
)  # fmt: skip
CHROOT_STAGES = ("started", "builder_leased", "build_ended", "signed", "published", "ended")


def run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, capture_output=True, check=True, timeout=300, **kwargs)  # type: ignore[call-overload]


def raw_toolchain(srpm: Path, work: Path) -> float:
    """Seconds for rpmbuild --rebuild, rpmsign and createrepo_c of ``srpm`` (key made first)."""
    gnupg = work / "gnupg"
    gnupg.mkdir(mode=0o700, parents=True)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
         "bench <bench@localhost>", "rsa2048", "sign", "never"], env=env)  # fmt: skip
    topdir, repo = work / "rpmbuild", work / "repo"
    repo.mkdir()
    started = time.monotonic()
    run(["rpmbuild", "--rebuild", "--define", f"_topdir {topdir}", str(srpm)], env=env)
    packages = sorted((topdir / "RPMS").rglob("*.rpm"))
    for package in packages:
        shutil.copy2(package, repo)
    run(["rpmsign", "--addsign", "--define", "__gpg /usr/bin/gpg",
         "--define", "_gpg_name bench <bench@localhost>", "--define", f"_gpg_path {gnupg}",
         *map(str, sorted(repo.glob("*.rpm")))], env=env)  # fmt: skip
    run(["createrepo_c", str(repo)], env=env)
    return time.monotonic() - started


def stack_build(base: str, auth: tuple[str, str], srpm: bytes) -> tuple[float, dict, dict]:
    """Seconds from upload to the chroot's success; the build's and the chroot's timings."""
    http = requests.Session()
    http.auth = auth
    name = f"e2e-{int(time.time())}"
    added = http.post(f"{base}/api_3/project/add/admin", json={"name": name, "chroots": [CHROOT]})
    added.raise_for_status()
    started = time.monotonic()
    answer = http.post(
        f"{base}/api_3/build/create/upload",
        data={"json": json.dumps({"ownername": "admin", "projectname": name})},
        files={"pkgs": ("hello-copr-1.0-1.src.rpm", srpm)},
    )
    answer.raise_for_status()
    build_id = answer.json()["id"]
    deadline = started + 600
    while True:
        chroot = http.get(f"{base}/api_3/build-chroot/{build_id}/{CHROOT}").json()
        if chroot["state"] in ("succeeded", "failed", "canceled"):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"build {build_id} did not end in 600 s")
        time.sleep(0.05)
    took = time.monotonic() - started
    if chroot["state"] != "succeeded":
        raise SystemExit(f"build {build_id} ended {chroot['state']}: {chroot['fail_reason']}")
    build = http.get(f"{base}/api_3/build/{build_id}").json()
    return took, build["timings"], chroot["timings"]


def print_stages(build: dict[str, float], chroot: dict[str, float]) -> None:
    stages = [(s, build[s]) for s in BUILD_STAGES if s in build]
    stages += [(f"chroot_{s}", chroot[s]) for s in CHROOT_STAGES if s in chroot]
    origin = stages[0][1]
    previous = origin
    print(f"{'stage':<24} {'at s':>7} {'+s':>6}")
    for stage, when in stages:
        print(f"{stage:<24} {when - origin:7.2f} {when - previous:6.2f}")
        previous = when


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()
    parent = Path(tempfile.mkdtemp(prefix="copr-bench-e2e-"))
    parent.chmod(0o755)
    state_dir = parent / "stack"
    try:
        srpm = make_srpm(parent / "srpm")
        (srpm_path,) = (parent / "srpm" / "SRPMS").glob("*.src.rpm")
        raw = raw_toolchain(srpm_path, parent / "raw")
        base, auth = start_stack(state_dir)
        print(f"stack: {base} (state dir {state_dir})")
        took, build_timings, chroot_timings = stack_build(base, auth, srpm)
        print(f"raw toolchain (rpmbuild --rebuild, rpmsign, createrepo_c): {raw:.2f} s")
        print(f"local stack, submit -> installable: {took:.2f} s = {took / raw:.1f} x raw")
        print_stages(build_timings, chroot_timings)
        return 0
    finally:
        if args.keep:
            print(f"left running: copr-local down --state-dir {state_dir}")
        else:
            subprocess.run([str(COPR_LOCAL), "down", "--state-dir", str(state_dir)],
                           capture_output=True, timeout=300, check=False)  # fmt: skip
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
