"""Run by the real python-copr (``.venv-upstream/bin/python``) for the end-to-end tests.

``wait-build CONFIG BUILD_ID TIMEOUT`` polls the build until it ends and prints it;
``monitor CONFIG OWNER PROJECT`` prints the project monitor, ``list-builds CONFIG OWNER
PROJECT`` its builds.  Output is JSON.
"""

import json
import sys
import time

from copr.v3 import Client

ENDED = {"succeeded", "failed", "canceled", "skipped"}


def wait_build(client, build_id, timeout):
    deadline = time.monotonic() + timeout
    while True:
        build = client.build_proxy.get(build_id)
        if build.state in ENDED or time.monotonic() > deadline:
            return dict(build)
        time.sleep(1)


def main(argv):
    command, config = argv[0], argv[1]
    client = Client.create_from_config_file(config)
    if command == "wait-build":
        result = wait_build(client, int(argv[2]), float(argv[3]))
    elif command == "list-builds":
        result = [dict(build) for build in client.build_proxy.get_list(argv[2], argv[3])]
    elif command == "monitor":
        result = client.monitor_proxy.monitor(argv[2], argv[3])
        result = {"packages": [dict(package) for package in result.packages]}
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
