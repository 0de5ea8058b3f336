"""``copr-rpmbuild``: run one Copr build task on this builder.

Source phase: ``copr-rpmbuild --srpm --build-id N`` (or ``--task-url``/``--task-file``)
turns the task's source into one SRPM. RPM phase: ``copr-rpmbuild --build-id N --chroot C``
builds the dist-git sources for chroot C. Results go to the configured result dir:
packages, ``builder-live.log``, ``results.json``, ``task.json`` (re-run it with
``--task-file``) and ``success`` when the build succeeded — or ``fail-reason.txt``, why it
did not, in a packager's words (see :mod:`copr_rpmbuild.diagnosis`).

Exit codes:
    0  success
    1  build failure: the package, its sources or its script failed, or it went over a
       limit (log size, disk use, download size)
    2  usage or settings error
    3  infrastructure failure: the task could not be fetched, a tool is missing, another
       build holds the lock, dist-git or the workspace failed — worth retrying elsewhere
    4  canceled (SIGINT/SIGTERM, or copr-rpmbuild-cancel)
    5  timeout: the build ran longer than the task's timeout and was killed
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copr_common.settings import SettingsError
from copr_rpmbuild import proctree
from copr_rpmbuild.config import RpmbuildSettings, load_config
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.daemon import BuildLock, Detached, detach
from copr_rpmbuild.diagnosis import FAIL_REASON_FILE, describe_failure
from copr_rpmbuild.errors import (
    EXIT_INFRASTRUCTURE,
    EXIT_SUCCESS,
    EXIT_USAGE,
    CoprBuildError,
    InfrastructureError,
)
from copr_rpmbuild.livelog import LiveLog, LiveLogHandler
from copr_rpmbuild.rpm import run_rpm_phase
from copr_rpmbuild.runner import CancelFlag, Limits
from copr_rpmbuild.srpm import run_srpm_phase
from copr_rpmbuild.status import version
from copr_rpmbuild.task import BuildTask, SrpmTask, Task, fetch_task, parse_task, read_task_file
from copr_rpmbuild.workspace import Workspace, make_workspace, sweep

log = logging.getLogger("copr_rpmbuild")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copr-rpmbuild",
        description="Build a Copr task: a source into an SRPM (--srpm), or RPMs for a chroot.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__ or "").split("Exit codes:", 1)[1].join(("Exit codes:", "")),
    )
    parser.add_argument(
        "--build-id", type=int, help="fetch the task of this build from the frontend"
    )
    parser.add_argument(
        "-r", "--chroot", help="chroot to build for (RPM phase), e.g. fedora-41-x86_64"
    )
    parser.add_argument("--srpm", action="store_true", help="run the source phase (make the SRPM)")
    parser.add_argument("--task-url", help="fetch the task JSON from this URL")
    parser.add_argument("--task-file", type=Path, help="read the task JSON from this file")
    parser.add_argument("-d", "--detached", action="store_true", help="run in the background")
    parser.add_argument(
        "--drop-resultdir", action="store_true", help="empty the result dir before building"
    )
    parser.add_argument("-c", "--config", type=Path, help="settings file (TOML)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details")
    parser.add_argument(
        "--version",
        action="version",
        version=f"copr-rpmbuild {version()}",
        help="print the version",
    )
    return parser


def _task_source(args: argparse.Namespace, settings: RpmbuildSettings) -> str:
    if args.task_file is not None:
        return str(args.task_file)
    if args.task_url:
        return str(args.task_url)
    base = settings.frontend_url.rstrip("/")
    if args.srpm:
        return f"{base}/backend/get-srpm-build-task/{args.build_id}/"
    return f"{base}/backend/get-build-task/{args.build_id}-{args.chroot}/"


def _check_usage(args: argparse.Namespace) -> str | None:
    sources = [args.build_id is not None, bool(args.task_url), args.task_file is not None]
    if sum(sources) != 1:
        return "give exactly one of --build-id, --task-url and --task-file"
    if args.srpm and args.chroot:
        return "--chroot cannot be used with --srpm"
    if args.build_id is not None and not args.srpm and not args.chroot:
        return "--build-id needs --chroot (RPM phase) or --srpm (source phase)"
    return None


def load_task(args: argparse.Namespace, settings: RpmbuildSettings) -> tuple[Task, dict[str, Any]]:
    where = _task_source(args, settings)
    if args.task_file is not None:
        task = read_task_file(args.task_file, srpm=args.srpm)
        raw = json.loads(args.task_file.read_text(encoding="utf-8"))
    else:
        task, raw = fetch_task(where, srpm=args.srpm, retry_for=settings.task_fetch_retry_for)
    if args.chroot and isinstance(task, BuildTask) and args.chroot != task.chroot:
        raw = {**raw, "chroot": args.chroot}
        task = parse_task(raw, srpm=False, where=where)
    return task, raw


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = _check_usage(args)
    if problem:
        parser.error(problem)
    try:
        settings = load_config(args.config)
    except SettingsError as error:
        print(f"copr-rpmbuild: {error}", file=sys.stderr)
        return EXIT_USAGE

    detached: Detached | None = detach() if args.detached else None
    lock = BuildLock(settings.lockfile)
    try:
        lock.acquire()
    except InfrastructureError as error:
        if detached:
            detached.report(f"copr-rpmbuild: {error}")
        else:
            print(f"copr-rpmbuild: {error}", file=sys.stderr)
        return error.exit_code
    try:
        return _run_locked(args, settings, detached)
    finally:
        lock.release()


def task_id_of(args: argparse.Namespace) -> str | None:
    """The id of the task ``--build-id`` names (``<build_id>`` or ``<build_id>-<chroot>``)."""
    if args.build_id is None:
        return None
    return str(args.build_id) if args.srpm else f"{args.build_id}-{args.chroot}"


def write_task_id(settings: RpmbuildSettings, task_id: str) -> None:
    partial = settings.taskfile.with_name(".task.partial")
    partial.write_text(f"{task_id}\n")
    partial.replace(settings.taskfile)


def _run_locked(
    args: argparse.Namespace, settings: RpmbuildSettings, detached: Detached | None
) -> int:
    # The state dir says which task this builder runs (the backend finds a build by it
    # after losing track): the previous build's id goes before anything else changes,
    # and this build's id comes once its pid is in place, so that a reader never sees
    # one build's id with another one's pid or exit status.
    settings.taskfile.unlink(missing_ok=True)
    settings.statusfile.unlink(missing_ok=True)
    settings.pidfile.write_text(f"{os.getpid()}\n")
    task_id = task_id_of(args)
    if task_id is not None:
        write_task_id(settings, task_id)
    try:
        if args.drop_resultdir and settings.resultdir.exists():
            shutil.rmtree(settings.resultdir)
        settings.resultdir.mkdir(parents=True, exist_ok=True)
        (settings.resultdir / "success").unlink(missing_ok=True)
        (settings.resultdir / FAIL_REASON_FILE).unlink(missing_ok=True)
        settings.live_log.unlink(missing_ok=True)
        live = LiveLog(settings.live_log, settings.max_log_size, echo=detached is None)
    except OSError as error:
        message = f"copr-rpmbuild: cannot prepare the result dir {settings.resultdir}: {error}"
        if detached:
            detached.report(message)
        else:
            print(message, file=sys.stderr)
        settings.statusfile.write_text(f"{EXIT_INFRASTRUCTURE}\n")
        return EXIT_INFRASTRUCTURE
    cancel = CancelFlag()
    cancel.install()
    proctree.become_subreaper()
    if detached:
        detached.report(f"ok {os.getpid()}")

    handler = LiveLogHandler(live)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    code = EXIT_INFRASTRUCTURE
    try:
        code = _build(args, settings, live, cancel)
    finally:
        log.removeHandler(handler)
        live.close()
        settings.statusfile.write_text(f"{code}\n")
    return code


def _build(
    args: argparse.Namespace, settings: RpmbuildSettings, live: LiveLog, cancel: CancelFlag
) -> int:
    started = time.monotonic()
    log.info("copr-rpmbuild started (pid %d): %s", os.getpid(), " ".join(sys.argv))
    limits = Limits(
        log=live,
        deadline=started + settings.default_timeout,
        timeout=settings.default_timeout,
        grace=settings.kill_grace,
        cancel=cancel,
        fetch_attempts=settings.fetch_attempts,
        fetch_pause=settings.fetch_retry_pause,
    )
    workspace: Workspace | None = None
    phase = "SRPM build" if args.srpm else "RPM build"
    try:
        task, raw = load_task(args, settings)
        if task_id_of(args) is None:
            write_task_id(settings, task.task_id)
        (settings.resultdir / "task.json").write_text(json.dumps(raw, indent=4) + "\n")
        log.info("Task %s (build %d)", task.task_id, task.build_id)
        timeout = task.timeout or settings.default_timeout
        limits.timeout = timeout
        limits.deadline = started + timeout
        # This builder's lock is ours: a workspace nobody holds was left by a build that
        # was killed before it could remove it.
        for stale in sweep(settings.workspace_dir):
            log.info("Removed the workspace %s a killed build left", stale.name)
        workspace = make_workspace(settings)
        limits.watch_dir = workspace.path
        limits.max_disk = settings.max_result_size
        ctx = BuildContext(
            settings=settings,
            limits=limits,
            workspace=workspace.path / "box",
            hostdir=workspace.path / "host",
            resultdir=settings.resultdir,
            memory_mb=task.memory_reqs,
        )
        if isinstance(task, SrpmTask):
            run_srpm_phase(ctx, task)
        else:
            run_rpm_phase(ctx, task)
    except CoprBuildError as error:
        output = limits.output
        reason = describe_failure(error, phase, output.text() if output.interrupted else "")
        log.error("%s", reason)
        _write_fail_reason(settings, reason)
        return error.exit_code
    except Exception as error:
        log.exception("copr-rpmbuild failed unexpectedly")
        _write_fail_reason(
            settings, describe_failure(InfrastructureError(f"copr-rpmbuild failed: {error}"), phase)
        )
        return EXIT_INFRASTRUCTURE
    finally:
        if workspace is not None:
            workspace.remove()
    (settings.resultdir / "success").write_text("done\n")
    log.info("Build succeeded in %.1f s", time.monotonic() - started)
    return EXIT_SUCCESS


def _write_fail_reason(settings: RpmbuildSettings, reason: str) -> None:
    try:
        (settings.resultdir / FAIL_REASON_FILE).write_text(reason + "\n")
    except OSError as error:
        log.error("cannot write %s: %s", FAIL_REASON_FILE, error.strerror)


if __name__ == "__main__":
    sys.exit(main())
