"""A script written for python-copr 2.7 runs unchanged on ours, with the same output.

The same script runs under the real library (``.venv-upstream``) and ours (``.venv``),
each on its own project of one live frontend.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_PYTHON = ROOT / ".venv-upstream" / "bin" / "python"

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys
from copr.v3 import Client, CoprNoResultException, CoprRequestException, config_from_file
from copr.v3.pagination import next_page
from copr.v3.helpers import wait

config = config_from_file(sys.argv[1])
project_name, srpm = sys.argv[2], sys.argv[3]
client = Client(config)
out = []
project = client.project_proxy.add("alice", project_name, ["fedora-42-x86_64"],
                                   description="from a script")
out.append(["added", project.full_name, project.description, sorted(project.chroot_repos)])
seen = []
build = client.build_proxy.create_from_file(
    "alice", project_name, srpm,
    buildopts={"chroots": ["fedora-42-x86_64"],
               "progress_callback": lambda monitor: seen.append(monitor.bytes_read)})
out.append(["uploaded", build.projectname, build.state, bool(seen)])
url_builds = client.build_proxy.create_from_urls(
    "alice", project_name, ["https://example.org/a-1-1.src.rpm", "https://example.org/b.spec"])
out.append(["urls", len(url_builds), [b.state for b in url_builds]])
page = client.build_proxy.get_list("alice", project_name, pagination={"limit": 2})
ids = []
while page:
    ids.extend(b.id for b in page)
    page = next_page(page)
out.append(["listed", len(ids)])
client.build_proxy.cancel(build.id)
final = wait(build, interval=0.1)
out.append(["waited", [b.state for b in final]])
chroot = client.build_chroot_proxy.get(build.id, "fedora-42-x86_64")
out.append(["chroot", chroot.name, chroot.state])
try:
    client.project_proxy.get("alice", "does-not-exist")
except CoprNoResultException as error:
    out.append(["no result", type(error).__name__, "error" in error.result])
try:
    client.project_proxy.add("alice", project_name, ["fedora-42-x86_64"])
except CoprRequestException as error:
    out.append(["duplicate", type(error).__name__])
deleted = client.project_proxy.delete("alice", project_name)
out.append(["deleted", deleted.name])
print(json.dumps(out))
"""


def run(python: Path, config: Path, project: str, srpm: Path) -> Any:
    result = subprocess.run(
        [str(python), "-c", SCRIPT, str(config), project, str(srpm)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_same_script_same_results(
    config: dict[str, Any], factory: Any, tmp_path: Path, srpm: Path
) -> None:
    factory.mock_chroot("fedora-42-x86_64")
    path = tmp_path / "copr"
    path.write_text(
        "[copr-cli]\n" + "".join(f"{k} = {v}\n" for k, v in config.items() if v is not None)
    )
    ours = run(Path(sys.executable), path, "ours", srpm)
    theirs = run(UPSTREAM_PYTHON, path, "theirs", srpm)
    text = re.sub(r"\btheirs\b", "ours", json.dumps(theirs))
    assert json.dumps(ours) == text
    assert ours[0] == ["added", "alice/ours", "from a script", ["fedora-42-x86_64"]]
    assert ours[-1] == ["deleted", "ours"]
