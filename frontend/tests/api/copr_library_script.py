"""Run by the upstream python-copr 2.7 (not ours): ``python script.py URL LOGIN TOKEN``.

Prints one JSON object describing what the library saw.
"""

import json
import sys

from copr.v3 import Client, CoprNoResultException, CoprRequestException
from copr.v3.pagination import next_page

url, login, token = sys.argv[1:4]
config = {"copr_url": url, "login": login, "token": token, "username": "alice"}
client = Client(config)
report = {"whoami": client.base_proxy.auth_check().name}

page = client.project_proxy.get_list("alice", pagination={"limit": 2, "order": "name"})
names, pages = [], 0
while page:
    pages += 1
    names += [project.name for project in page]
    page = next_page(page)
report["names"], report["pages"] = names, pages

try:
    client.project_proxy.get("alice", "missing")
except CoprNoResultException as error:
    report["missing"] = str(error)

bad = Client(dict(config, token="not-the-token"))
try:
    bad.project_proxy.add("alice", "sneaky", ["fedora-42-x86_64"])
except CoprRequestException as error:
    report["bad_token"] = {
        "type": type(error).__name__,
        "status": error.result.__response__.status_code,
        "message": str(error),
    }

build = client.build_proxy.create_from_url(
    "alice", "p1", "https://example.org/x-1-1.src.rpm", buildopts={"chroots": ["fedora-*"]}
)
report["build"] = {"state": build.state, "chroots": build.chroots}
report["build_chroots"] = [c.name for c in client.build_chroot_proxy.get_list(build.id)]
print(json.dumps(report))
