"""``.repo`` files for the dnf copr plugin, read by the test client and by real dnf."""

from __future__ import annotations

import base64
import configparser
import json
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from copr_frontend.app import SETTINGS_KEY
from copr_frontend.testing import Factory


@pytest.fixture
def project(factory: Factory):  # type: ignore[no-untyped-def]
    owner = factory.user("alice")
    factory.mock_chroot("fedora-41-x86_64", active=False)
    return factory.project(
        owner, "hello",
        chroots=["fedora-42-x86_64", "fedora-42-aarch64", "fedora-rawhide-x86_64",
                 "epel-9-x86_64", "fedora-41-x86_64"],
    )  # fmt: skip


def read_repo(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_repo_file(client: FlaskClient, project) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/coprs/alice/hello/repo/fedora-42/dnf.repo?arch=x86_64")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == "[copr:copr.test:alice:hello]"
    section = read_repo(text)["copr:copr.test:alice:hello"]
    assert section["baseurl"] == (
        "http://results.test/results/alice/hello/fedora-$releasever-$basearch/"
    )
    assert section["gpgcheck"] == "1"
    assert section["gpgkey"] == "http://results.test/results/alice/hello/pubkey.gpg"
    assert section["enabled"] == "1"


def test_rawhide_and_epel(client: FlaskClient, project) -> None:  # type: ignore[no-untyped-def]
    rawhide = client.get("/coprs/alice/hello/repo/fedora-rawhide/dnf.repo").get_data(True)
    assert "baseurl=http://results.test/results/alice/hello/fedora-rawhide-$basearch/" in rawhide
    epel = client.get("/coprs/alice/hello/repo/epel-9/alice-hello-epel-9.repo").get_data(True)
    assert "baseurl=http://results.test/results/alice/hello/epel-$releasever-$basearch/" in epel


def test_group_project_both_url_forms(client: FlaskClient, factory: Factory) -> None:
    member = factory.user()
    group = factory.group("devs", members=[member])
    dependencies = ["copr://bob/deps", "https://example.org/repo/"]
    factory.project(member, "tools", group=group, chroots=["fedora-42-x86_64"],
                    repo_priority=5, module_hotfixes=True,
                    runtime_dependencies=dependencies)  # fmt: skip
    for path in ("/coprs/g/devs/tools/repo/fedora-42/dnf.repo",
                 "/coprs/@devs/tools/repo/fedora-42/dnf.repo"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, path
        repo = read_repo(response.get_data(as_text=True))
        main = repo["copr:copr.test:group_devs:tools"]
        assert main["baseurl"].startswith("http://results.test/results/@devs/tools/")
        assert main["priority"] == "5"
        assert main["module_hotfixes"] == "1"
        assert repo["coprdep:copr.test:bob:deps"]["baseurl"] == (
            "http://results.test/results/bob/deps/fedora-$releasever-$basearch/"
        )
        assert repo["coprdep:2"]["baseurl"] == "https://example.org/repo/"


def test_missing_chroot_lists_available_ones(client: FlaskClient, project) -> None:  # type: ignore[no-untyped-def]
    # fedora-41 is in the project but its mock chroot is inactive: not offered.
    for distro in ("fedora-40", "fedora-41"):
        response = client.get(f"/coprs/alice/hello/repo/{distro}/dnf.repo?arch=x86_64")
        assert response.status_code == 404
        data = json.loads(base64.b64decode(response.headers["Copr-Error-Data"]))
        assert data == {"available chroots": [
            "epel-9-x86_64", "fedora-42-aarch64", "fedora-42-x86_64", "fedora-rawhide-x86_64",
        ]}  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/coprs/alice/nothing/repo/fedora-42/dnf.repo",
        "/coprs/bob/hello/repo/fedora-42/dnf.repo",
        "/coprs/alice/hello:pr:7/repo/fedora-42/dnf.repo",
        "/coprs/alice/hello:bad:7/repo/fedora-42/dnf.repo",
        "/coprs/alice/hello/repo/fedora-42/dnf.txt",
    ],
)
def test_missing_project_is_404_without_error_data(client: FlaskClient, project, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 404
    assert "Copr-Error-Data" not in response.headers


def _dnf_copr(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    repos = root / "repos"
    repos.mkdir(parents=True, exist_ok=True)
    # reposdir/cachedir/logdir inside the test root: dnf would otherwise write the .repo
    # file into the host's /etc/yum.repos.d even with --installroot.
    return subprocess.run(
        ["dnf", "--disableplugin=local", f"--installroot={root}", "--releasever=42", "-y",
         f"--setopt=reposdir={repos}", f"--setopt=cachedir={root / 'cache'}",
         f"--setopt=logdir={root / 'log'}", "copr", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=root,
    )  # fmt: skip


def _dnf_copr_enable(root: Path, url: str, chroot: str) -> subprocess.CompletedProcess[str]:
    return _dnf_copr(root, "enable", "--hub", url, "alice/hello", chroot)


def test_repo_file_of_a_hub_with_a_port(app, client: FlaskClient, settings, project) -> None:  # type: ignore[no-untyped-def]
    # The conftest's public URL has no port: the section comes first, as in Copr.
    lines = client.get("/coprs/alice/hello/repo/fedora-42/dnf.repo").get_data(True).splitlines()
    assert lines[0] == "[copr:copr.test:alice:hello]"
    app.config[SETTINGS_KEY] = settings.model_copy(update={"public_url": "http://copr.test:8080"})
    text = client.get("/coprs/alice/hello/repo/fedora-42/dnf.repo").get_data(True)
    assert text.splitlines()[0] == "# Copr project alice/hello at copr.test:8080"
    assert read_repo(text).sections() == ["copr:copr.test:alice:hello"]


def test_real_dnf_copr_plugin(live_server, project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _dnf_copr_enable(tmp_path, live_server.url, "fedora-42-x86_64")
    assert result.returncode == 0, result.stderr
    written = list((tmp_path / "repos").glob("*.repo"))
    # Named after the hub with its port, as `dnf copr list --hub` looks for it.
    assert [p.name for p in written] == [f"_copr:127.0.0.1:{live_server.port}:alice:hello.repo"]
    section = read_repo(written[0].read_text())["copr:127.0.0.1:alice:hello"]
    assert section["baseurl"] == (
        "http://results.test/results/alice/hello/fedora-$releasever-$basearch/"
    )
    assert section["gpgcheck"] == "1"

    for hub in ([], ["--hub", live_server.url]):
        listed = _dnf_copr(tmp_path, "list", *hub)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == ["127.0.0.1/alice/hello"], (hub, listed.stdout)
    disabled = _dnf_copr(tmp_path, "disable", "--hub", live_server.url, "alice/hello")
    assert disabled.returncode == 0, disabled.stderr
    listed = _dnf_copr(tmp_path, "list", "--hub", live_server.url)
    assert listed.stdout.splitlines() == ["127.0.0.1/alice/hello (disabled)"]
    assert read_repo(written[0].read_text())["copr:127.0.0.1:alice:hello"]["enabled"] == "0"
    removed = _dnf_copr(tmp_path, "remove", "--hub", live_server.url, "alice/hello")
    assert removed.returncode == 0, removed.stderr
    assert list((tmp_path / "repos").glob("*.repo")) == []
    assert _dnf_copr(tmp_path, "list", "--hub", live_server.url).stdout == ""

    missing = _dnf_copr_enable(tmp_path / "second", live_server.url, "fedora-40-x86_64")
    assert missing.returncode != 0
    assert "does not exist in project 'alice/hello'" in missing.stderr
    assert "Available repositories: 'epel-9-x86_64', 'fedora-42-aarch64'" in missing.stderr
