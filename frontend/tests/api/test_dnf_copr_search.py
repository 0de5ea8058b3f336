"""``dnf copr search`` and ``dnf copr list`` (the real dnf plugin) read API v3."""

from __future__ import annotations

import subprocess
from pathlib import Path

from copr_frontend.testing import Factory


def _dnf_copr(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    root.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            "dnf",
            "--disableplugin=local",
            f"--installroot={root}",
            "--releasever=42",
            f"--setopt=reposdir={root / 'repos'}",
            f"--setopt=cachedir={root / 'cache'}",
            f"--setopt=logdir={root / 'log'}",
            "copr",
            *args,
            "--hub",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
    )


def test_dnf_copr_search_and_list(live_server, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    factory.project(alice, "hello-tools", description="Tools to say hello")
    factory.project(alice, "quiet", description="")
    factory.project(factory.user("bob"), "hello-world", description="Greetings")
    factory.project(alice, "secret-hello", unlisted_on_hp=True)

    found = _dnf_copr(tmp_path / "search", live_server.url, "search", "hello")
    assert found.returncode == 0, found.stderr
    assert "alice/hello-tools : Tools to say hello" in found.stdout
    assert "bob/hello-world : Greetings" in found.stdout
    assert "secret-hello" not in found.stdout

    listed = _dnf_copr(tmp_path / "list", live_server.url, "list", "--available-by-user=alice")
    assert listed.returncode == 0, listed.stderr
    assert "alice/hello-tools : Tools to say hello" in listed.stdout
    assert "alice/quiet : No description given" in listed.stdout


def test_dnf_copr_search_by_full_name(live_server, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = factory.user("alice")
    team = factory.group("team", members=[alice])
    factory.project(alice, "dnfcopr", description="")
    factory.project(alice, "dnfcopr-group", description="", group=team)
    factory.project(factory.user("bob"), "dnfcopr", description="")

    found = _dnf_copr(tmp_path / "group", live_server.url, "search", "@team/dnfcopr")
    assert found.returncode == 0, found.stderr
    assert "@team/dnfcopr-group : No description given" in found.stdout
    assert "alice/dnfcopr " not in found.stdout

    found = _dnf_copr(tmp_path / "user", live_server.url, "search", "alice/dnfcopr")
    assert found.returncode == 0, found.stderr
    assert "alice/dnfcopr : No description given" in found.stdout
    assert "bob/" not in found.stdout
    assert "@team/" not in found.stdout
