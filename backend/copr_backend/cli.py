"""Commands: the build and action dispatchers, and the worker processes they start.

``copr-backend-build-dispatcher``, ``copr-backend-action-dispatcher`` and
``copr-backend-notification-dispatcher`` run until SIGTERM;
the workers (``build-worker``/``action-worker`` with ``--worker-id``) are started by them,
detached, and are not meant to be run by hand.  ``copr-backend-ship-access-log LOG…``
(a timer's) sends the results server's access log to the frontend's download counts.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from copr_backend import settings as settings_module
from copr_backend.settings import BackendSettings
from copr_common.entrypoints import run_subcommand
from copr_common.log import setup_logging
from copr_common.settings import EXIT_CONFIG, SettingsError, exit_on_settings_error
from copr_common.worker_manager import WorkerAlreadyRunning, WorkerSession, WorkerSessionError

log = logging.getLogger("copr_backend")


def _settings(config: str | None) -> BackendSettings:
    try:
        return settings_module.load(config)
    except SettingsError as error:
        exit_on_settings_error("copr-backend", error)


def _build_dispatcher(args: argparse.Namespace) -> int:
    from copr_backend.builds.dispatcher import create_build_dispatcher
    from copr_backend.messaging import MessagingError, create_publisher

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level, settings.log_file)
    try:
        # The workers publish; a messaging setup they cannot use is refused here, once.
        create_publisher(settings)
    except MessagingError as error:
        print(f"copr-backend: {error}", file=sys.stderr)
        return EXIT_CONFIG
    dispatcher = create_build_dispatcher(settings, config_file=args.config)
    dispatcher.install_signal_handlers()
    dispatcher.run(max_rounds=args.rounds)
    return 0


def _action_dispatcher(args: argparse.Namespace) -> int:
    from copr_backend.actions.dispatcher import create_action_dispatcher

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level, settings.log_file)
    dispatcher = create_action_dispatcher(settings, config_file=args.config)
    dispatcher.install_signal_handlers()
    dispatcher.run(max_rounds=args.rounds)
    return 0


def _notification_dispatcher(args: argparse.Namespace) -> int:
    from copr_backend.notifications.dispatcher import NotificationDispatcher

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level, settings.log_file)
    dispatcher = NotificationDispatcher.from_settings(settings)
    dispatcher.install_signal_handlers()
    dispatcher.run(max_rounds=args.rounds)
    return 0


def _build_worker(args: argparse.Namespace) -> int:
    from redis import Redis

    from copr_backend.builds.worker import BuildWorker
    from copr_backend.createrepo import Createrepo
    from copr_backend.frontend import BackendApiError, frontend_client
    from copr_backend.messaging import MessagingError, NullPublisher, create_publisher
    from copr_backend.pools import create_pool
    from copr_backend.signing import SignerError, create_signer
    from copr_common.redis_keys import BUILD_MANAGER

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level, settings.log_file)
    redis = Redis.from_url(settings.redis_url)
    frontend = frontend_client(settings)

    def task_is_queued(task_id: str) -> bool:
        # Unsure (the frontend is away) counts as queued: the builder stays kept.
        try:
            return task_id in frontend.queued_tasks([task_id])
        except BackendApiError:
            return True

    # Made before the session, whose record keeper is a thread: the pool may fork.
    pool = create_pool(settings, task_is_queued)
    pool.warm_up()
    try:
        with WorkerSession(
            redis, BUILD_MANAGER, args.worker_id, lock_dir=settings.worker_lock_dir
        ) as session:
            try:
                signer = create_signer(settings)
            except SignerError as error:
                log.error("%s", error)
                session.result = {"error": str(error)}
                return 1
            try:
                publisher = create_publisher(settings)
            except MessagingError as error:
                # Messages never fail a build (the dispatcher checked this at its start).
                log.error("messages of task %s are not sent: %s", args.worker_id, error)
                publisher = NullPublisher()
            worker = BuildWorker(
                settings,
                frontend,
                pool,
                signer,
                Createrepo(
                    settings.createrepo_dir,
                    command=settings.createrepo_command,
                    appstream_command=settings.appstream_command,
                    timeout=settings.createrepo_timeout,
                ),
                publisher,
            )
            try:
                session.result = worker.run(session.task)
            except BackendApiError as error:
                # The task stays in the frontend's queue; the next worker re-attaches.
                log.error("worker %s: %s", args.worker_id, error)
                session.result = {"error": str(error)}
                return 1
    except WorkerAlreadyRunning as already:
        log.info("%s", already)
        return 0
    except WorkerSessionError as error:
        # Usually Redis restarted between the dispatcher's record and this worker: the
        # task is still queued and is dispatched again.
        log.warning("%s", error)
        return 1
    finally:
        pool.close()
    return 0


def _action_worker(args: argparse.Namespace) -> int:
    from redis import Redis

    from copr_backend.actions.handlers import ActionContext, ActionError, run_action
    from copr_backend.createrepo import Createrepo
    from copr_backend.frontend import BackendApiError, frontend_client
    from copr_backend.results import ResultsTree
    from copr_backend.signing import SignerError, create_signer
    from copr_common.enums import BackendResultEnum
    from copr_common.redis_keys import ACTION_MANAGER

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level, settings.log_file)
    redis = Redis.from_url(settings.redis_url)
    frontend = frontend_client(settings)
    try:
        with WorkerSession(
            redis, ACTION_MANAGER, args.worker_id, lock_dir=settings.worker_lock_dir
        ) as session:
            action_id = int(session.task["action_id"])
            try:
                action = frontend.action(action_id)
                if action is None:
                    session.result = {"action_id": action_id, "outcome": "gone"}
                    return 0
                if int(action.get("result") or 0) != int(BackendResultEnum.waiting):
                    session.result = {"action_id": action_id, "outcome": "already done"}
                    return 0
                started = time.monotonic()
                try:
                    context = ActionContext(
                        ResultsTree(settings.results_dir),
                        create_signer(settings),
                        Createrepo(
                            settings.createrepo_dir,
                            command=settings.createrepo_command,
                            appstream_command=settings.appstream_command,
                            timeout=settings.createrepo_timeout,
                        ),
                        settings.results_url,
                    )
                    message = run_action(context, action)
                    result = BackendResultEnum.success
                except (ActionError, SignerError) as error:
                    message, result = str(error), BackendResultEnum.failure
                log.info(
                    "action %d (%s): %s in %.1f s: %s",
                    action_id,
                    action.get("action_type"),
                    result.name,
                    time.monotonic() - started,
                    message,
                )
                frontend.finish_action(action_id, int(result), message)
                session.result = {"action_id": action_id, "outcome": result.name}
            except BackendApiError as error:
                log.error("action %d: %s", action_id, error)
                session.result = {"action_id": action_id, "error": str(error)}
                return 1
    except WorkerAlreadyRunning as already:
        log.info("%s", already)
        return 0
    except WorkerSessionError as error:
        # Usually Redis restarted between the dispatcher's record and this worker: the
        # task is still queued and is dispatched again.
        log.warning("%s", error)
        return 1
    return 0


def _ship_access_log(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copr_backend.access_log import ship
    from copr_backend.frontend import BackendApiError, frontend_client

    settings = _settings(args.config)
    setup_logging("copr_backend", settings.log_level)
    try:
        with frontend_client(settings) as client:
            logs = [Path(p) for p in args.logs]
            if args.missing_ok:
                logs = [p for p in logs if p.exists()]
            counted = ship(client, logs, host=args.host)
    except OSError as error:
        print(f"copr-backend: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    except BackendApiError as error:
        print(f"copr-backend: the frontend refused the log: {error}", file=sys.stderr)
        return 1
    for path, downloads in counted.items():
        print(f"{path}: {downloads} downloads")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copr-backend")
    parser.add_argument("--config", help="settings file (TOML); else $COPR_BACKEND_CONFIG")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func in (
        ("build-dispatcher", _build_dispatcher),
        ("action-dispatcher", _action_dispatcher),
        ("notification-dispatcher", _notification_dispatcher),
    ):
        sub = commands.add_parser(name, help=f"run the {name.replace('-', ' ')}")
        sub.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
        sub.set_defaults(func=func)
    ship = commands.add_parser(
        "ship-access-log",
        help="send what the results server's access logs gained to the frontend, "
        "which counts the downloads (after a rotation: access.log.1 access.log)",
    )
    ship.add_argument("logs", nargs="+", metavar="LOG")
    ship.add_argument("--host", default=None, help="the name the logs go by (the host name)")
    ship.add_argument(
        "--missing-ok", action="store_true", help="skip a LOG that does not exist (yet)"
    )
    ship.set_defaults(func=_ship_access_log)
    for name, func in (("build-worker", _build_worker), ("action-worker", _action_worker)):
        sub = commands.add_parser(name, help="one worker (started by its dispatcher)")
        sub.add_argument("--worker-id", required=True)
        sub.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


def build_dispatcher_main() -> None:
    run_subcommand(main, "build-dispatcher")


def action_dispatcher_main() -> None:
    run_subcommand(main, "action-dispatcher")


def notification_dispatcher_main() -> None:
    run_subcommand(main, "notification-dispatcher")


def build_worker_main() -> None:
    run_subcommand(main, "build-worker")


def action_worker_main() -> None:
    run_subcommand(main, "action-worker")


def ship_access_log_main() -> None:
    run_subcommand(main, "ship-access-log")


if __name__ == "__main__":
    raise SystemExit(main())
