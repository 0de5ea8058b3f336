"""The sandbox's network: none without ``enable_net``; with it, outbound only.

A network namespace made by the test stands for the internet (a veth pair away, on an
address that is not the host's): a build with network reaches it the way it would reach
the internet.  Nothing that listens on the host is reachable — not on its loopback, not
on its other addresses (its real interface, the veth pair's host end) — and DNS works
through the host's resolver, also when that resolver listens on the host's loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from copr_rpmbuild.errors import EXIT_INFRASTRUCTURE, EXIT_SUCCESS
from copr_rpmbuild.testing import (
    BIN,
    Builder,
    DnsServer,
    HttpServer,
    Internet,
    Listener,
    hostile_spec,
    make_spec,
    publish_distgit,
    rpm_task,
    srpm_task,
    write_config,
)

CHROOT = "fedora-41-x86_64"

PROBE = r"""
probe() {
    if timeout 10 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then
        echo "REACHED $1:$2"
    else
        echo "BLOCKED $1:$2"
    fi
}
"""


def host_addresses() -> list[str]:
    """Every IPv4 address of the host (its loopback included)."""
    result = subprocess.run(
        ["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True, timeout=30
    )
    return [a["local"] for link in json.loads(result.stdout) for a in link["addr_info"]]


@dataclass
class World:
    internet: Internet
    marker: str
    # Listeners of the host: on its loopback, and on every address it has.
    loopback: Listener
    everywhere: Listener

    def host_targets(self) -> list[str]:
        """host:port pairs of the host's listeners, as the sandbox would name them."""
        targets = [f"127.0.0.1:{self.loopback.port}", f"127.0.0.1:{self.everywhere.port}"]
        # slirp4netns' gateway, which leads to the host's loopback unless disabled.
        targets += [f"10.0.2.2:{self.loopback.port}", f"10.0.2.2:{self.everywhere.port}"]
        targets += [f"{address}:{self.everywhere.port}" for address in host_addresses()]
        assert f"{self.internet.host_address}:{self.everywhere.port}" in targets
        return targets

    def probes(self) -> str:
        lines = [PROBE]
        lines += [f"probe {t.replace(':', ' ')}" for t in self.host_targets()]
        lines.append(f"probe {self.internet.address} {self.internet.port}")
        lines.append(f"curl -sS --max-time 20 {self.internet.url}/marker.txt || true")
        return "\n".join(lines) + "\n"

    def assert_outbound_only(self, log: str) -> None:
        assert f"REACHED {self.internet.address}:{self.internet.port}" in log, log
        assert self.marker in log, log
        for target in self.host_targets():
            assert f"BLOCKED {target}" in log, log
        assert self.loopback.connections == 0
        assert self.everywhere.connections == 0


@pytest.fixture
def world(internet_server: Internet) -> Iterator[World]:
    marker = f"internet-says-{uuid.uuid4().hex}"
    internet_server.put("marker.txt", marker + "\n")
    loopback, everywhere = Listener("127.0.0.1"), Listener("0.0.0.0")  # noqa: S104
    try:
        yield World(internet_server, marker, loopback, everywhere)
    finally:
        loopback.close()
        everywhere.close()


def _custom_task(tmp_path: Path, body: str) -> Path:
    """A custom-script source build whose script runs ``body`` and then makes an SRPM."""
    script = f"""#!/bin/sh
{body}
cat > hello.spec <<'SPEC'
{make_spec()}SPEC
mkdir hello-1.0 && echo hi > hello-1.0/hello.txt && tar czf hello-1.0.tar.gz hello-1.0
"""
    task = tmp_path / "custom.json"
    task.write_text(json.dumps(srpm_task(41, "custom", {"script": script})))
    return task


def test_custom_script_reaches_the_internet_and_nothing_of_the_host(
    builder: Builder, tmp_path: Path, world: World
) -> None:
    result = builder.run("--srpm", "--task-file", str(_custom_task(tmp_path, world.probes())))
    log = builder.log()
    assert result.returncode == EXIT_SUCCESS, log
    world.assert_outbound_only(log)


def test_enable_net_build_reaches_the_internet_and_nothing_of_the_host(
    builder: Builder, http_server: HttpServer, tmp_path: Path, world: World
) -> None:
    url, commit = publish_distgit(
        http_server, tmp_path, "netty", hostile_spec("netty", world.probes())
    )
    task = tmp_path / "netty.json"
    task.write_text(
        json.dumps(rpm_task(42, CHROOT, url, commit, package_name="netty", enable_net=True))
    )
    result = builder.run("--task-file", str(task))
    log = builder.log()
    assert result.returncode == EXIT_SUCCESS, log
    world.assert_outbound_only(log)
    assert "outbound-only network (slirp4netns; the host's addresses blocked)" in log


def test_without_enable_net_nothing_is_reachable(
    builder: Builder, http_server: HttpServer, tmp_path: Path, world: World
) -> None:
    url, commit = publish_distgit(
        http_server, tmp_path, "quiet", hostile_spec("quiet", world.probes())
    )
    task = tmp_path / "quiet.json"
    task.write_text(json.dumps(rpm_task(43, CHROOT, url, commit, package_name="quiet")))
    result = builder.run("--task-file", str(task))
    log = builder.log()
    assert result.returncode == EXIT_SUCCESS, log
    assert f"BLOCKED {world.internet.address}:{world.internet.port}" in log
    assert world.marker not in log
    for target in world.host_targets():
        assert f"BLOCKED {target}" in log
    assert "no network" in log


def test_dns_works_through_a_resolver_on_the_hosts_loopback(
    builder: Builder, tmp_path: Path, world: World
) -> None:
    # A resolver on a loopback address of the host, as systemd-resolved's 127.0.0.53;
    # the build resolves a name to the stand-in internet and fetches from it by name.
    resolver = f"127.{os.getpid() % 200 + 20}.{os.getpid() // 200 % 250}.53"
    dns = DnsServer(resolver, world.internet.address)
    beside = Listener(resolver)
    try:
        resolv_conf = tmp_path / "resolv.conf"
        resolv_conf.write_text(f"nameserver {resolver}\nsearch copr.test\n")
        body = f"""{PROBE}
cat /etc/resolv.conf
getent hosts pkg.example.org
curl -sS --max-time 20 http://pkg.example.org:{world.internet.port}/marker.txt || true
probe {resolver} {beside.port}
"""
        task = _custom_task(tmp_path, body)
        # The host's resolv.conf names that resolver: only for this copr-rpmbuild, in a
        # mount namespace of its own.
        result = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(resolv_conf),
             str(BIN / "copr-rpmbuild"), "-c", str(builder.config), "--srpm",
             "--task-file", str(task)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        log = builder.log()
        assert result.returncode == EXIT_SUCCESS, log + result.stderr
        assert "pkg.example.org" in dns.queries
        assert re.search(rf"^{re.escape(world.internet.address)}\s+pkg\.example\.org$", log, re.M)
        assert world.marker in log
        assert "search copr.test" in log
        # Only DNS: anything else on the resolver's address stays out of reach.
        assert f"BLOCKED {resolver}:{beside.port}" in log
        assert beside.connections == 0
    finally:
        dns.close()
        beside.close()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"slirp4netns_command": "no-slirp4netns-here"}, "builds with network need it"),
        ({"nft_command": "no-nft-here"}, "keeps the host's addresses out of reach"),
    ],
)
def test_a_missing_network_tool_is_an_infrastructure_failure(
    builder: Builder, http_server: HttpServer, tmp_path: Path, setting: dict[str, str], message: str
) -> None:
    write_config(builder.config, builder.config.parent, http_server, **setting)
    result = builder.run("--srpm", "--task-file", str(_custom_task(tmp_path, "echo RAN")))
    log = builder.log()
    assert result.returncode == EXIT_INFRASTRUCTURE, log
    assert message in log
    # Nothing ran without the network it was promised (nor with more than that).
    assert "\nRAN" not in log
    assert list(builder.workspace.iterdir()) == []
