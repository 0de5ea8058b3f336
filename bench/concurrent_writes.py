"""Concurrent writers against the local stack on SQLite: no answer may be a 5xx.

Starts ``copr-local up --detach`` in a private state dir (the frontend on its default
SQLite database, gunicorn with 2 workers x 4 threads, the backend building what is
submitted), then runs ``--clients`` clients at once, each doing ``--rounds`` rounds of
writes as the stack's admin: project add, project edit, package add, regenerate-repos
and an SRPM upload build.  The backend's own reports reach the same database meanwhile.

Prints the answers by status, the count of answers >= 500 (must be 0) and the write
rate, next to a baseline in the same run: the same clients reading
``/api_3/mock-chroots/list`` as many times.  Exits 1 when any answer was >= 500.

    .venv/bin/python bench/concurrent_writes.py [--clients 16] [--rounds 10] [--keep]
"""

from __future__ import annotations

import argparse
import configparser
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
SPEC = ROOT / "local" / "example" / "hello.spec"
CHROOT = "fedora-42-x86_64"
WRITES_PER_ROUND = 5


def make_srpm(work: Path) -> bytes:
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {work}", str(SPEC)],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    (srpm,) = (work / "SRPMS").glob("*.src.rpm")
    return srpm.read_bytes()


def compile_packages() -> None:
    """Byte-compile the checkout's packages, as their installs are (pip and the RPMs
    ship ``.pyc``): with ``PYTHONDONTWRITEBYTECODE`` set, an editable checkout would
    otherwise have every process of the stack compile each of our modules it imports."""
    packages = sorted(p.parent for p in ROOT.glob("*/copr*/__init__.py"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *map(str, packages)],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip


def start_stack(state_dir: Path) -> tuple[str, tuple[str, str]]:
    compile_packages()
    result = subprocess.run(
        [str(COPR_LOCAL), "up", "--detach", "--state-dir", str(state_dir)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"copr-local up failed:\n{result.stderr}{result.stdout}")
    env = dict(line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines())
    config = configparser.ConfigParser(interpolation=None)
    config.read(env["COPR_CLI_CONFIG"])
    login = config.get("copr-cli", "login")
    token = config.get("copr-cli", "token")
    return env["COPR_URL"], (login, token)


def writes(base: str, http: requests.Session, client: int, round_: int, srpm: bytes) -> list[int]:
    """One round of one client: the five writes, each answer's status."""
    name = f"bench-c{client}-r{round_}"
    project = {"ownername": "admin", "projectname": name}
    answers = [
        http.post(f"{base}/api_3/project/add/admin", json={"name": name, "chroots": [CHROOT]}),
        http.post(f"{base}/api_3/project/edit/admin/{name}", json={"description": "edited"}),
        http.post(
            f"{base}/api_3/package/add/admin/{name}/pkg/pypi", json={"pypi_package_name": "pkg"}
        ),
        http.put(f"{base}/api_3/project/regenerate-repos/admin/{name}"),
        http.post(
            f"{base}/api_3/build/create/upload",
            data={"json": json.dumps(project)},
            files={"pkgs": ("hello-copr-1.0-1.src.rpm", srpm)},
        ),
    ]
    return [answer.status_code for answer in answers]


def run_clients(clients: int, work: Callable[[int, requests.Session], list[int]]) -> Counter[int]:
    codes: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(index: int) -> None:
        with requests.Session() as http:
            barrier.wait()
            try:
                got = work(index, http)
            except requests.RequestException as error:
                print(f"client {index}: {error}", file=sys.stderr)
                got = [-1]
        with lock:
            codes.update(got)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()

    # Builds run as an unprivileged user that must walk into the state dir.
    parent = Path(tempfile.mkdtemp(prefix="copr-bench-writes-"))
    parent.chmod(0o755)
    state_dir = parent / "stack"
    try:
        srpm = make_srpm(parent / "rpmbuild")
        base, auth = start_stack(state_dir)
        print(f"stack: {base} (SQLite, state dir {state_dir})")
        count = args.clients * args.rounds * WRITES_PER_ROUND

        def reads(_index: int, http: requests.Session) -> list[int]:
            per_client = args.rounds * WRITES_PER_ROUND
            return [http.get(f"{base}/api_3/mock-chroots/list").status_code
                    for _ in range(per_client)]  # fmt: skip

        started = time.monotonic()
        read_codes = run_clients(args.clients, reads)
        read_rate = count / (time.monotonic() - started)

        def write_rounds(index: int, http: requests.Session) -> list[int]:
            http.auth = auth
            codes: list[int] = []
            for round_ in range(args.rounds):
                codes += writes(base, http, index, round_, srpm)
            return codes

        started = time.monotonic()
        codes = run_clients(args.clients, write_rounds)
        write_rate = count / (time.monotonic() - started)

        errors = sum(n for code, n in codes.items() if code >= 500 or code < 0)
        print(f"baseline reads: {count} requests, {read_rate:.1f}/s, statuses {dict(read_codes)}")
        print(f"writes: {count} requests by {args.clients} clients, statuses {dict(codes)}")
        print(f"responses >= 500: {errors}")
        print(f"write rate: {write_rate:.1f}/s = {write_rate / read_rate:.2f} x the read baseline")
        return 1 if errors else 0
    finally:
        if args.keep:
            print(f"left running: copr-local down --state-dir {state_dir}")
        else:
            subprocess.run([str(COPR_LOCAL), "down", "--state-dir", str(state_dir)],
                           capture_output=True, timeout=300, check=False)  # fmt: skip
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
