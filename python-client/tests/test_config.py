"""config_from_file: the keys of ~/.config/copr, and clear errors for bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from copr.v3 import Client, CoprConfigException, config_from_file


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_reads_every_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "copr",
        "[copr-cli]\nlogin = abc\nusername = alice\ntoken = xyz\n"
        "copr_url = http://copr.test\nencrypted = False\ngssapi = no\n",
    )
    config = config_from_file(path)
    assert config == {
        "login": "abc",
        "username": "alice",
        "token": "xyz",
        "copr_url": "http://copr.test",
        "encrypted": False,
        "gssapi": False,
    }
    client = Client.create_from_config_file(path)
    assert client.build_proxy.api_base_url == "http://copr.test/api_3/"


def test_missing_default_file_means_public_copr(tmp_path: Path) -> None:
    # ~/.config/copr is found through HOME when the module is imported: a fresh process.
    code = "from copr.v3 import config_from_file; print(config_from_file()['copr_url'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "https://copr.fedorainfracloud.org"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CoprConfigException, match="is missing"):
        config_from_file(str(tmp_path / "nope"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[other]\nx = 1\n", "no \\[copr-cli\\] section"),
        ("[copr-cli]\nlogin = a\n", "'copr_url' is not set"),
        ("[copr-cli]\ncopr_url = copr.test\n", "must be an http"),
        ("[copr-cli]\ncopr_url = http://copr.test\n", "should not be http"),
        ("[copr-cli]\ncopr_url = https://x\nencrypted = maybe\n", "Not a boolean"),
        ("this is not ini\n", "Bad configuration file"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CoprConfigException, match=message):
        config_from_file(write(tmp_path / "copr", text))
