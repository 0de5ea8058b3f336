"""Commands: the import dispatcher, one import worker, a manual import, the HTTP server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from copr_common.dispatcher import Dispatcher
from copr_common.entrypoints import run_subcommand
from copr_common.log import setup_logging
from copr_common.settings import SettingsError, exit_on_settings_error
from copr_distgit import settings as settings_module
from copr_distgit.settings import DistGitSettings


def _settings(config: str | None) -> DistGitSettings:
    try:
        return settings_module.load(config)
    except SettingsError as error:
        exit_on_settings_error("copr-distgit", error)


def _dispatcher(args: argparse.Namespace) -> int:
    import redis

    from copr_distgit.frontend import ImportQueue, frontend_client
    from copr_distgit.worker import ImportWorkerManager

    settings = _settings(args.config)
    setup_logging("copr_distgit", settings.log_level, settings.log_file)
    conn = redis.Redis.from_url(settings.redis_url)
    client = frontend_client(settings)
    manager = ImportWorkerManager(conn, settings, config_file=args.config)
    dispatcher = Dispatcher(ImportQueue(client), manager, sleep_time=settings.sleep_time)
    dispatcher.install_signal_handlers()
    dispatcher.run(max_rounds=args.rounds)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from copr_distgit.worker import run_worker

    settings = _settings(args.config)
    setup_logging("copr_distgit", settings.log_level, settings.log_file)
    return run_worker(settings, args.worker_id)


def _import(args: argparse.Namespace) -> int:
    """Import a local SRPM without the frontend (for admins and tests); prints the result."""
    from copr_distgit.importer import ImportFailure, import_srpm, per_task_log
    from copr_distgit.srpm import SrpmError
    from copr_distgit.task import ImportTask, InvalidTaskError

    settings = _settings(args.config)
    setup_logging("copr_distgit", settings.log_level, settings.log_file)
    try:
        task = ImportTask.from_dict(
            {
                "build_id": args.build_id,
                "owner": args.owner,
                "project": args.project,
                "branches": args.branch,
                "pkg_name": args.package,
                "srpm_url": "http://local/" + Path(args.srpm).name,
            }
        )
    except InvalidTaskError as error:
        print(f"copr-distgit-import: {error}", file=sys.stderr)
        return 2
    output: dict[str, Any]
    with per_task_log(settings, task.build_id):
        try:
            result = import_srpm(settings, task, Path(args.srpm))
        except (ImportFailure, SrpmError) as error:
            print(json.dumps({"build_id": task.build_id, "error": str(error)}))
            return 1
    output = {
        "build_id": task.build_id,
        "reponame": result.reponame,
        "branch_commits": result.branch_commits,
        "pkg_version": result.pkg_version,
    }
    print(json.dumps(output, sort_keys=True))
    return 0


def _http(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from copr_distgit.web import create_app

    settings = _settings(args.config)
    app = create_app(settings)
    bind = args.bind or settings.http_bind

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", settings.http_workers)
            self.cfg.set("threads", settings.http_threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set("accesslog", "-")
            # gunicorn 24 and later open a control socket in the user's home, which the
            # unit's ProtectHome hides; older ones have no such setting.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    Server().run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copr-distgit")
    parser.add_argument("--config", help="settings file (TOML); else $COPR_DISTGIT_CONFIG")
    commands = parser.add_subparsers(dest="command", required=True)

    dispatcher = commands.add_parser("dispatcher", help="run the import dispatcher")
    dispatcher.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
    dispatcher.set_defaults(func=_dispatcher)

    worker = commands.add_parser("worker", help="one import worker (started by the dispatcher)")
    worker.add_argument("--worker-id", required=True)
    worker.set_defaults(func=_worker)

    manual = commands.add_parser("import", help="import a local SRPM")
    manual.add_argument("srpm")
    manual.add_argument("--owner", required=True)
    manual.add_argument("--project", required=True, help="the project dir name")
    manual.add_argument("--package", required=True)
    manual.add_argument("--branch", action="append", required=True)
    manual.add_argument("--build-id", type=int, default=0)
    manual.set_defaults(func=_import)

    http = commands.add_parser("http", help="serve git clones, lookaside files and logs")
    http.add_argument("--bind", help="host:port (default: the http_bind setting)")
    http.set_defaults(func=_http)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


def dispatcher_main() -> None:
    run_subcommand(main, "dispatcher")


def worker_main() -> None:
    run_subcommand(main, "worker")


def import_main() -> None:
    run_subcommand(main, "import")


def http_main() -> None:
    run_subcommand(main, "http")


if __name__ == "__main__":
    raise SystemExit(main())
