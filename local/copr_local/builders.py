"""Where a local stack's builds run: ``--builders local``, ``ssh`` or ``resalloc``.

``local`` (the default) builds in sandboxed slots on this host.  ``ssh`` and ``resalloc``
show the production topology on one machine: builds run on builder hosts
(:mod:`copr_common.builder_hosts`: each a network namespace with an address of its own on
a veth pair, an sshd, and this checkout's copr-rpmbuild) that the backend reaches only
over SSH, as it reaches remote builders.  The frontend, dist-git and the results server
are relayed into every host's loopback, so the builders use the same URLs as the backend.

``ssh`` makes ``--builder-hosts`` hosts when the stack starts and gives the backend their
list; ``resalloc`` runs a resalloc-server under the stack's supervisord whose pool makes
a host for each resource (``cmd_new``) and removes it afterwards (``cmd_delete``).
Either way ``down`` removes every host of the stack.  Namespaces need root.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import xmlrpc.client
from pathlib import Path
from typing import Any

from copr_common import builder_hosts
from copr_common.builder_hosts import BuilderHost, BuilderHostError
from copr_common.resalloc_hosts import builder_host_commands, find_resalloc
from copr_local.state import HOST, StackError, StackLayout, StackState

# The services a builder calls (task, sources, the project's repositories): relayed
# into each builder host's loopback.
RELAYED_SERVICES = ("frontend", "dist_git", "results")
# How often resalloc-server's manager looks at its pools: short, so that a ticket gets
# its builder within seconds.
RESALLOC_SLEEPTIME = 1.0
HOST_TOOLS = ("ip", "ss", "ssh-keygen", "ssh")


def check_can_run(builders: str) -> None:
    """Refuse builders this machine cannot run, before anything is made or stored."""
    if builders == "local":
        return
    if os.geteuid() != 0:
        raise StackError(
            f"--builders {builders} needs root: its builder hosts are network namespaces "
            "(run copr-local as root, or use --builders local)"
        )
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    if not Path(builder_hosts.SSHD).exists():
        missing.append(builder_hosts.SSHD)
    if missing:
        raise StackError(
            f"--builders {builders} needs {', '.join(missing)} "
            "(Debian: apt install iproute2 openssh-client openssh-server)"
        )
    if builders == "resalloc":
        resalloc_bindir()


def resalloc_bindir() -> Path:
    """Where resalloc-server is; a StackError says how to install it."""
    bindir, why = find_resalloc()
    if bindir is None:
        raise StackError(f"--builders resalloc: {why}")
    return bindir


def builder_arch() -> str:
    """The arch builder hosts build for: this machine's."""
    return platform.machine()


def rpmbuild_settings(state: StackState) -> dict[str, Any]:
    """copr-rpmbuild's settings that every builder gets (its slot's paths aside)."""
    dist_git = state.url("dist_git")
    return {
        "frontend_url": state.url("frontend"),
        "distgit_clone_url": dist_git + "/git",
        "distgit_lookaside_url": dist_git + "/repo/pkgs",
    }


def _relayed_ports(state: StackState) -> list[int]:
    return [state.ports[name] for name in RELAYED_SERVICES]


def _public_key(layout: StackLayout) -> Path:
    return builder_hosts.make_client_key(layout.builder_key, "copr-local backend")


def _prepare_hosts_dir(layout: StackLayout) -> None:
    # Builds walk in as other uids: 0755 from the stack's root down.
    for path in (layout.builder_hosts_dir.parent, layout.builder_hosts_dir):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)


def ssh_host_name(layout: StackLayout, index: int) -> str:
    return f"{layout.builder_host_prefix}ssh{index}"


def make_ssh_hosts(layout: StackLayout, state: StackState) -> list[BuilderHost]:
    """Make the ``--builders ssh`` hosts (those of an earlier run are gone by now)."""
    _prepare_hosts_dir(layout)
    key = _public_key(layout).read_text()
    layout.builder_known_hosts.unlink(missing_ok=True)
    made = []
    try:
        for index in range(state.builder_hosts):
            host = builder_hosts.create(
                ssh_host_name(layout, index),
                key,
                base_dir=layout.builder_hosts_dir,
                rpmbuild_settings=rpmbuild_settings(state),
                forward_ports=_relayed_ports(state),
            )
            builder_hosts.add_known_host(layout.builder_known_hosts, host)
            made.append(host)
    except BuilderHostError as error:
        remove_hosts(layout)
        raise StackError(f"a builder host could not be made: {error}") from None
    return made


def ssh_hosts(layout: StackLayout, state: StackState) -> list[BuilderHost]:
    """The ``--builders ssh`` hosts as :func:`make_ssh_hosts` made them."""
    hosts = []
    for index in range(state.builder_hosts):
        name = ssh_host_name(layout, index)
        host = builder_hosts.load(name, layout.builder_hosts_dir)
        if host is None:
            raise StackError(f"builder host {name} is missing (copr-local up makes it)")
        hosts.append(host)
    return hosts


def backend_pool_settings(layout: StackLayout, state: StackState) -> dict[str, Any]:
    """The backend's builder pool settings for the stack's builders."""
    if state.builders == "local":
        return {"builder_pool": "local"}
    common: dict[str, Any] = {
        "builder_pool": state.builders,
        "ssh_known_hosts": str(layout.builder_known_hosts),
        # Builders are local namespaces: a dead one is noticed within seconds.
        "builder_check_interval": 5.0,
    }
    if state.builders == "ssh":
        hosts = [
            {
                "address": host.address,
                "user": host.user,
                "key_file": str(layout.builder_key),
                "arches": [builder_arch()],
                "rpmbuild_config": str(host.rpmbuild_config()),
            }
            for host in ssh_hosts(layout, state)
        ]
        return {**common, "ssh_hosts": hosts}
    return {
        **common,
        "resalloc_url": resalloc_url(state),
        "resalloc_max_builds": state.builder_hosts,
        "resalloc_source_arch": builder_arch(),
        "resalloc_ssh_user": "root",
        "resalloc_ssh_key_file": str(layout.builder_key),
        "resalloc_rpmbuild_config": (
            f"{layout.builder_hosts_dir}/by-address/{{address}}/slot-0/rpmbuild.toml"
        ),
    }


def resalloc_url(state: StackState) -> str:
    return f"http://{HOST}:{state.ports['resalloc']}/RPC2"


def resalloc_pool_name() -> str:
    return f"copr_local_{builder_arch()}"


def write_resalloc_config(layout: StackLayout, state: StackState) -> None:
    """resalloc-server's ``server.yaml`` and ``pools.yaml``, and an empty database.

    The database starts empty on every ``up``: the hosts an earlier run made are gone
    (``down`` and ``up`` remove every host of the stack), so its resources would be lies.
    """
    directory = layout.resalloc_dir
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    database = directory / "db.sqlite"
    database.unlink(missing_ok=True)
    _prepare_hosts_dir(layout)
    cmd_new, cmd_delete = builder_host_commands(
        layout.builder_hosts_dir,
        _public_key(layout),
        rpmbuild_settings(state),
        _relayed_ports(state),
        f"{layout.builder_host_prefix}r",
    )
    pool = {
        "max": state.builder_hosts,
        "max_starting": state.builder_hosts,
        # One host is kept ready, so that the first build starts at once.
        "max_prealloc": 1,
        "cmd_new": cmd_new,
        "cmd_delete": cmd_delete,
        "tags": ["copr_builder", f"arch_{builder_arch()}"],
    }
    server = {
        "db_url": f"sqlite:///{database}",
        "logdir": str(directory / "logs"),
        "hostname": HOST,
        "port": state.ports["resalloc"],
        "sleeptime": RESALLOC_SLEEPTIME,
        "loglevel": "info",
    }
    # JSON is YAML: no YAML writer needed.
    (directory / "pools.yaml").write_text(json.dumps({resalloc_pool_name(): pool}, indent=1))
    (directory / "server.yaml").write_text(json.dumps(server, indent=1))


def resalloc_answers(state: StackState) -> bool:
    """Whether the stack's resalloc-server answers XML-RPC (it serves no plain GET)."""
    proxy = xmlrpc.client.ServerProxy(resalloc_url(state), allow_none=True)
    try:
        proxy.collectTicket(0)
    except (OSError, xmlrpc.client.Error):
        return False
    return True


def stack_hosts(layout: StackLayout) -> list[BuilderHost]:
    """The builder hosts of this stack that exist now."""
    if shutil.which("ip") is None:
        return []
    names = {
        name for name in builder_hosts.namespaces() if name.startswith(layout.builder_host_prefix)
    }
    hosts = [builder_hosts.load(name, layout.builder_hosts_dir) for name in sorted(names)]
    return [host for host in hosts if host is not None]


def remove_hosts(layout: StackLayout) -> list[str]:
    """Remove every builder host of this stack (their namespaces, sshds, relays, builds
    and dirs) and what pointed at them; returns their names.
    """
    if shutil.which("ip") is None:
        return []
    base = layout.builder_hosts_dir
    prefix = layout.builder_host_prefix
    leftover = base.is_dir() and any(path.name.startswith(prefix) for path in base.iterdir())
    if not leftover and not any(name.startswith(prefix) for name in builder_hosts.namespaces()):
        return []
    try:
        removed = builder_hosts.delete_all(prefix, base)
    except BuilderHostError as error:
        raise StackError(f"the stack's builder hosts could not be removed: {error}") from None
    layout.builder_known_hosts.unlink(missing_ok=True)
    shutil.rmtree(base / "by-address", ignore_errors=True)
    return removed


def describe(layout: StackLayout, state: StackState) -> str:
    """What ``copr-local status`` says about the builders."""
    if state.builders == "local":
        return "Builders: local (sandboxed slots on this host)\n"
    count = f"{state.builder_hosts} builder host{'' if state.builder_hosts == 1 else 's'}"
    if state.builders == "ssh":
        head = f"Builders: ssh, {count}"
    else:
        head = f"Builders: resalloc (up to {count})"
    hosts = stack_hosts(layout)
    lines = [f"{head}; now {len(hosts)}:"]
    lines += [f"  {host.name} {host.address}" for host in hosts]
    return "\n".join(lines) + "\n"
