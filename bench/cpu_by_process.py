"""Where the CPU of a run goes: every process a command starts, grouped by what it runs.

Runs the command in a cgroup of its own (so that the detached daemons and workers it
starts are still counted, and other work on the machine is not), with the kernel's
process accounting on (``accton``, Debian's ``acct`` package: every process that exits
leaves a record with its CPU time).  The cgroup's members are sampled every few
milliseconds for their command lines; when the command has ended, the accounting
records of those processes are summed per kind of process — a Python program by its
module or script (``copr_backend.cli build-worker``, ``copr-sign-gpg``, ...), anything
else by its name — and printed with counts and CPU per process, most CPU first.

    .venv/bin/python bench/cpu_by_process.py [--top 30] -- \
        .venv/bin/python bench/e2e.py --at-once 20

Root only (cgroups, accounting).  Processes still running when the command ends (a
stack left up) have no record yet and are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

CGROUP_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
SAMPLE_SECONDS = 0.005
TICKS = 100  # dump-acct prints CPU times in clock ticks (AHZ)


def cgroup_root() -> Path:
    for root in CGROUP_ROOTS:
        if (root / "cgroup.procs").exists() and (root / "cgroup.subtree_control").exists():
            return root
    raise SystemExit("no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup")


def sample(procs: Path, seen: dict[str, str], done: threading.Event) -> None:
    """Command lines of the cgroup's processes, each as first seen after its exec."""
    while not done.is_set():
        for pid in procs.read_text().split():
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            # A fork shows its parent's command line until it execs: keep the latest.
            seen[pid] = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        time.sleep(SAMPLE_SECONDS)


def kind(comm: str, command: str) -> str:
    """What a process ran: a Python program by its module or script and its subcommand
    (the word after them and their ``--config``), anything else by its name."""
    words = command.split()
    if not words or not Path(words[0]).name.startswith("python"):
        return comm
    if "-m" in words[:-1]:
        start = words.index("-m") + 1
    elif len(words) > 1 and not words[1].startswith("-"):
        start = 1  # a script: a console script runs as ``python <its path> ...``
    else:
        return comm
    target, rest = Path(words[start]).name, words[start + 1 :]
    subcommand = ""
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word in ("-c", "--config"):
            skip = True
        else:
            subcommand = word if re.fullmatch(r"[a-z][\w-]*", word) else ""
            break
    return f"{target} {subcommand}".strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=30, help="kinds of process to print")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    for tool in ("accton", "dump-acct"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install acct (or dnf install psacct)")
    group = cgroup_root() / f"cpu-by-process-{os.getpid()}"
    group.mkdir()
    work = Path(tempfile.mkdtemp(prefix="cpu-by-process-"))
    records = work / "pacct"
    records.touch()
    seen: dict[str, str] = {}
    done = threading.Event()
    sampler = threading.Thread(target=sample, args=(group / "cgroup.procs", seen, done))
    subprocess.run(["accton", str(records)], check=True, capture_output=True)
    started = time.monotonic()
    try:
        sampler.start()
        child = subprocess.Popen(
            command,
            preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())),
        )
        code = child.wait()
    finally:
        done.set()
        sampler.join()
        subprocess.run(["accton", "off"], check=False, capture_output=True)
    elapsed = time.monotonic() - started
    dump = subprocess.run(["dump-acct", str(records)], capture_output=True, text=True, check=True)
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for line in dump.stdout.splitlines():
        fields = [field.strip() for field in line.split("|")]
        comm, pid = fields[0], fields[9]
        if pid not in seen:
            continue
        entry = totals[kind(comm, seen[pid])]
        entry[0] += 1
        entry[1] += (float(fields[2]) + float(fields[3])) / TICKS
    shutil.rmtree(work)
    for leftover in (group / "cgroup.procs").read_text().split():
        print(f"still running after the command, not counted: {seen.get(leftover, leftover)}")
    with contextlib.suppress(OSError):
        group.rmdir()
    cpu = sum(entry[1] for entry in totals.values())
    print(f"\n{cpu:.1f} s of CPU in {sum(int(e[0]) for e in totals.values())} processes "
          f"over {elapsed:.1f} s (command exit {code})")  # fmt: skip
    print(f"{'CPU s':>8}{'share':>7}{'procs':>7}{'ms/proc':>9}  process")
    ranked = sorted(totals.items(), key=lambda item: -item[1][1])
    for name, (count, seconds) in ranked[: args.top]:
        print(f"{seconds:>8.2f}{seconds / cpu:>7.0%}{int(count):>7}"
              f"{seconds / count * 1000:>9.0f}  {name}")  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main())
