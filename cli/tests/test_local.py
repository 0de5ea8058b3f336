"""Pieces that need no server: the mock profile and rewriting the config file."""

from __future__ import annotations

import configparser
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from copr_cli.account import update_config_file
from copr_cli.chroots import mock_profile

UPSTREAM_PYTHON = Path(__file__).resolve().parents[2] / ".venv-upstream" / "bin" / "python"

UPSTREAM_PROFILE = """
import json, sys
from copr_cli.build_config import MockProfile
data = json.loads(sys.argv[1])
print(MockProfile(data))
"""

CONFIGS = [
    {"chroot": "fedora-42-x86_64", "rootdir": "alice-proj_fedora-42-x86_64", "isolation": None},
    {
        "chroot": "epel-9-x86_64",
        "rootdir": "group_team-proj_epel-9-x86_64",
        "isolation": "nspawn",
        "bootstrap": "image",
        "bootstrap_image": "quay.io/x/y",
        "additional_packages": ["gcc", "make"],
        "repos": [
            {"id": "copr_base", "name": "Copr repository", "baseurl": "http://r/1/",
             "priority": 10, "module_hotfixes": True},
            {"id": "extra", "name": "Extra", "baseurl": "http://r/2/", "priority": None,
             "repo_gpgcheck": False},
        ],
    },
    {"chroot": "fedora-rawhide-aarch64", "rootdir": "x", "bootstrap": "off",
     "isolation": "default"},
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS)
def test_mock_profile_as_copr_cli(config: dict[str, Any]) -> None:
    upstream = subprocess.run(
        [str(UPSTREAM_PYTHON), "-c", UPSTREAM_PROFILE, json.dumps(config)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert mock_profile(config, config["chroot"], config["rootdir"]) + "\n" == upstream


def test_update_config_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "copr"
    path.write_text(
        "# my copr\n[copr-cli]\nlogin = old\nusername = alice\ntoken = oldtoken\n"
        "copr_url = https://copr.test\n# expiration date: 2020-01-01\n\n[other]\nlogin = keep\n"
    )
    update_config_file(path, {"login": "new", "token": "newtoken"}, "2031-05-06")
    assert path.read_text() == (
        "# my copr\n[copr-cli]\nlogin = new\nusername = alice\ntoken = newtoken\n"
        "copr_url = https://copr.test\n# expiration date: 2031-05-06\n\n[other]\nlogin = keep\n"
    )


def test_update_config_adds_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "copr"
    path.write_text("[copr-cli]\ncopr_url = https://copr.test\n")
    update_config_file(path, {"login": "l", "token": "t"}, None)
    parser = configparser.ConfigParser()
    parser.read(path)
    assert dict(parser["copr-cli"]) == {"copr_url": "https://copr.test", "login": "l", "token": "t"}
