"""Run by the real python-copr (``.venv-upstream/bin/python``) for the end-to-end tests.

``wait-build CONFIG BUILD_ID TIMEOUT`` polls the build until it ends and prints it;
``monitor CONFIG OWNER PROJECT`` prints the project monitor; ``submit CONFIG OWNER/PROJECT
SRPM...`` builds every SRPM (without waiting) and prints the build ids.  Output is JSON.
"""

import json
import sys
import time

from copr.v3 import Client
from copr.v3.exceptions import CoprRequestException

ENDED = {"succeeded", "failed", "canceled", "skipped"}


def wait_build(client, build_id, timeout):
    deadline = time.monotonic() + timeout
    while True:
        build = client.build_proxy.get(build_id)
        if build.state in ENDED or time.monotonic() > deadline:
            return dict(build)
        time.sleep(1)


def submit(client, owner, project, paths):
    """Build every SRPM; a build the frontend refused with a database error is sent again."""
    ids, retried = [], []
    for path in paths:
        for attempt in range(20):
            try:
                ids.append(client.build_proxy.create_from_file(owner, project, path).id)
                break
            except CoprRequestException as error:
                # SQLite's "database is locked" is answered 500 before anything is stored.
                if "OperationalError" not in str(error) or attempt == 19:
                    raise
                retried.append(str(error))
                time.sleep(1)
    return {"ids": ids, "retried": retried}


def main(argv):
    command, config = argv[0], argv[1]
    client = Client.create_from_config_file(config)
    if command == "wait-build":
        result = wait_build(client, int(argv[2]), float(argv[3]))
    elif command == "submit":
        owner, project = argv[2].split("/", 1)
        result = submit(client, owner, project, argv[3:])
    elif command == "monitor":
        result = client.monitor_proxy.monitor(argv[2], argv[3])
        result = {"packages": [dict(package) for package in result.packages]}
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
