"""One trivial build, submit to installable, on the local stack against the raw toolchain.

Starts ``copr-local up --detach`` in a private state dir, creates a project, uploads the
example SRPM (``local/example/hello.spec``) through API v3 (``build/create/upload``) and
waits until its chroot has succeeded: built, signed and published in the repodata, so
installable.  The baseline, in the same run, is what that takes by hand: ``rpmbuild
--rebuild`` of the same SRPM, ``rpmsign --addsign`` with a fresh gpg key, and
``createrepo_c`` of the result.  Prints both times, their ratio and the build's stage
timings (API v3 ``timings``) as seconds from submit, with each stage's share.

Then ``--at-once`` (50) uploads of the same SRPM at the same moment into one project:
builds per minute from the first upload until every chroot ended, the refused
submissions and the failed builds (both must be 0), against the raw toolchain's
throughput on the same cores (as many rebuilds side by side as there are cores, each
signed and put in a repo of its own).

    .venv/bin/python bench/e2e.py [--at-once 50] [--keep]
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
from concurrent.futures import ThreadPoolExecutor
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


def make_key(work: Path) -> dict[str, str]:
    """A gpg home with a fresh signing key; the environment that uses it."""
    gnupg = work / "gnupg"
    gnupg.mkdir(mode=0o700, parents=True)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
         "bench <bench@localhost>", "rsa2048", "sign", "never"], env=env)  # fmt: skip
    return env


def raw_toolchain(srpm: Path, work: Path, env: dict[str, str]) -> float:
    """Seconds for rpmbuild --rebuild, rpmsign and createrepo_c of ``srpm``."""
    topdir, repo = work / "rpmbuild", work / "repo"
    repo.mkdir(parents=True)
    started = time.monotonic()
    run(["rpmbuild", "--rebuild", "--define", f"_topdir {topdir}", str(srpm)], env=env)
    packages = sorted((topdir / "RPMS").rglob("*.rpm"))
    for package in packages:
        shutil.copy2(package, repo)
    run(["rpmsign", "--addsign", "--define", "__gpg /usr/bin/gpg",
         "--define", "_gpg_name bench <bench@localhost>",
         "--define", f"_gpg_path {env['GNUPGHOME']}",
         *map(str, sorted(repo.glob("*.rpm")))], env=env)  # fmt: skip
    run(["createrepo_c", str(repo)], env=env)
    return time.monotonic() - started


def raw_throughput(srpm: Path, work: Path, env: dict[str, str], count: int) -> float:
    """Builds per minute of ``count`` raw toolchain runs, one per core side by side."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda n: raw_toolchain(srpm, work / f"many-{n}", env), range(count)))
    return count * 60 / (time.monotonic() - started)


def stack_at_once(base: str, auth: tuple[str, str], srpm: bytes, count: int) -> dict[str, float]:
    """``count`` uploads at once: builds per minute until all ended, refused, failed."""
    name = f"e2e-many-{int(time.time())}"
    admin = requests.Session()
    admin.auth = auth
    added = admin.post(f"{base}/api_3/project/add/admin", json={"name": name, "chroots": [CHROOT]})
    added.raise_for_status()

    def upload(_number: int) -> int | None:
        http = requests.Session()
        http.auth = auth
        answer = http.post(
            f"{base}/api_3/build/create/upload",
            data={"json": json.dumps({"ownername": "admin", "projectname": name})},
            files={"pkgs": ("hello-copr-1.0-1.src.rpm", srpm)},
            timeout=300,
        )
        return answer.json()["id"] if answer.status_code == 200 else None

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        ids = list(pool.map(upload, range(count)))
    accepted = [i for i in ids if i is not None]
    ended: dict[int, str] = {}
    deadline = started + 1800
    # One list a second for all of them: the watching must not be what loads the stack
    # (a request per build every half second was most of the frontend's CPU).
    listed = {"ownername": "admin", "projectname": name, "limit": max(count, 1)}
    while len(ended) < len(accepted):
        page = admin.get(f"{base}/api_3/build/list", params=listed, timeout=60)
        page.raise_for_status()
        for build in page.json()["items"]:
            if build["id"] in accepted and build["state"] in ("succeeded", "failed", "canceled"):
                ended[build["id"]] = build["state"]
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(accepted) - len(ended)} builds did not end in 1800 s")
        time.sleep(1.0)
    took = time.monotonic() - started
    failed = sum(state != "succeeded" for state in ended.values())
    return {"per_minute": len(accepted) * 60 / took, "refused": count - len(accepted),
            "failed": failed, "seconds": took}  # fmt: skip


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
    parser.add_argument("--at-once", type=int, default=50, help="builds submitted at once")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()
    parent = Path(tempfile.mkdtemp(prefix="copr-bench-e2e-"))
    parent.chmod(0o755)
    state_dir = parent / "stack"
    try:
        srpm = make_srpm(parent / "srpm")
        (srpm_path,) = (parent / "srpm" / "SRPMS").glob("*.src.rpm")
        env = make_key(parent / "raw")
        raw = raw_toolchain(srpm_path, parent / "raw" / "one", env)
        base, auth = start_stack(state_dir)
        print(f"stack: {base} (state dir {state_dir})")
        took, build_timings, chroot_timings = stack_build(base, auth, srpm)
        print(f"raw toolchain (rpmbuild --rebuild, rpmsign, createrepo_c): {raw:.2f} s")
        print(f"local stack, submit -> installable: {took:.2f} s = {took / raw:.1f} x raw")
        print_stages(build_timings, chroot_timings)
        if args.at_once > 0:
            raw_rate = raw_throughput(srpm_path, parent / "raw", env, args.at_once)
            many = stack_at_once(base, auth, srpm, args.at_once)
            print(f"{args.at_once} at once: {many['per_minute']:.1f} builds/min "
                  f"({many['seconds']:.0f} s), {many['refused']:.0f} refused, "
                  f"{many['failed']:.0f} failed; raw toolchain on {os.cpu_count()} cores: "
                  f"{raw_rate:.1f} builds/min; "
                  f"stack/raw = {many['per_minute'] / raw_rate:.2f}")  # fmt: skip
            if many["refused"] or many["failed"]:
                return 1
        return 0
    finally:
        # The raw baseline's gpg started an agent of its own: it goes with its home.
        subprocess.run(["gpgconf", "--homedir", str(parent / "raw" / "gnupg"), "--kill", "all"],
                       capture_output=True, timeout=30, check=False)  # fmt: skip
        if args.keep:
            print(f"left running: copr-local down --state-dir {state_dir}")
        else:
            subprocess.run([str(COPR_LOCAL), "down", "--state-dir", str(state_dir)],
                           capture_output=True, timeout=300, check=False)  # fmt: skip
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
