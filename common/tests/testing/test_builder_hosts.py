"""Builder hosts: a namespace with its own address, an sshd that lets in one key, and
copr-rpmbuild; deleted without a trace, and deleting twice is fine."""

from __future__ import annotations

import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from copr_common.testing import builder_hosts as bh


def _ssh(
    host: bh.BuilderHost, key: Path, known: Path, *command: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={known}",
            "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
            f"{host.user}@{host.address}", *command,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_host_is_made_reached_over_ssh_and_removed(builder_hosts, tmp_path):
    host = builder_hosts.create(slots=2, rpmbuild_settings={"max_log_size": 1000})
    assert host.name in bh.namespaces()
    assert host.address.startswith("10.233.")
    assert host.address.endswith(".2")
    known = builder_hosts.known_hosts(tmp_path / "known_hosts")
    status = _ssh(host, builder_hosts.key_file, known, "copr-rpmbuild-status", "-c",
                  str(host.rpmbuild_config(1)))  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert f'"resultdir": "{host.path}/slot-1/results"' in status.stdout
    assert "max_log_size = 1000" in host.rpmbuild_config(0).read_text()
    # Its sessions start in a home of their own: bash reads ~/.bashrc for every command
    # over SSH, and none of this machine's root's dotfiles may run there.
    home = _ssh(host, builder_hosts.key_file, known, 'echo "$HOME"; pwd; test -z "$(ls -A)"')
    assert home.returncode == 0, home.stderr
    assert home.stdout.split() == [str(host.home), str(host.home)]
    assert pwd.getpwnam(host.user).pw_dir != str(host.home)  # this machine's passwd is as it was
    # Another key is not let in.
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    assert _ssh(host, other, known, "true").returncode == 255

    bh.delete(host.name, builder_hosts.base_dir)
    assert host.name not in bh.namespaces()
    assert not host.path.exists()
    assert (
        f"{host.address}/"
        not in subprocess.run(
            ["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True
        ).stdout
    )
    bh.delete(host.name, builder_hosts.base_dir)  # nothing left: still fine


def test_command_line_create_prints_the_address_and_bad_names_are_refused(builder_hosts, tmp_path):
    key = builder_hosts.key_file.with_name("id_ed25519.pub")
    name = f"{builder_hosts.prefix}cli"
    command = [sys.executable, "-m", "copr_common.testing.builder_hosts"]
    base = ["--base-dir", str(builder_hosts.base_dir)]
    known = tmp_path / "known_hosts"
    known.write_text("10.9.9.9 ssh-ed25519 AAAAother\n")
    made = subprocess.run(
        [*command, "create", name, "--authorized-key", str(key), "--known-hosts", str(known),
         *base],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    host = bh.load(name, builder_hosts.base_dir)
    assert host is not None
    assert made.stdout.strip() == host.address
    assert known.read_text() == "10.9.9.9 ssh-ed25519 AAAAother\n" + host.known_hosts_line()
    assert _ssh(host, builder_hosts.key_file, known, "true").returncode == 0
    again = subprocess.run([*command, "create", name, "--authorized-key", str(key), *base],
                           capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert again.returncode == 1
    assert "exists" in again.stderr
    assert name in bh.namespaces()  # the refused create left the host as it was
    for _ in range(2):
        gone = subprocess.run(
            [*command, "delete", name, "--known-hosts", str(known), *base],
            capture_output=True, timeout=120,
        )  # fmt: skip
        assert gone.returncode == 0
    assert known.read_text() == "10.9.9.9 ssh-ed25519 AAAAother\n"
    assert name not in bh.namespaces()
    with pytest.raises(bh.BuilderHostError, match="bad builder host name"):
        bh.create("Bad Name", "ssh-ed25519 AAAA", base_dir=tmp_path)
    assert "Bad Name" not in bh.namespaces()
