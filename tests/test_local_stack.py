"""End to end: the whole local stack (``copr-local up``) driven by the real clients.

The real copr-cli 2.6 and python-copr 2.7 (``.venv-upstream``) create a project and build
an uploaded SRPM and a spec URL; dnf with its copr plugin enables the project into an
empty installroot and installs the package with ``gpgcheck=1``.  The same flow runs once
with the frontend on SQLite (the default) and once on PostgreSQL; each stack is stopped at
the end and must leave no process and no port behind.
"""

from __future__ import annotations

import configparser
import functools
import gzip
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from copr_local.state import FALLBACK_POOL_ROOT, StackLayout
from copr_local.supervisor import stack_processes

ROOT = Path(__file__).resolve().parent.parent
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
UPSTREAM = ROOT / ".venv-upstream" / "bin"
EXAMPLE_SPEC = ROOT / "local" / "example" / "hello.spec"
CHROOT = "fedora-42-x86_64"
BUILD_TIMEOUT = 300

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Stack:
    state_dir: Path
    url: str
    results_url: str
    cli_config: Path

    def copr_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(UPSTREAM / "copr-cli"), "--config", str(self.cli_config), *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def python_copr(self, *args: str) -> Any:
        result = subprocess.run(
            [str(UPSTREAM / "python"), str(ROOT / "tests" / "upstream_client.py"), args[0],
             str(self.cli_config), *args[1:]],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT + 60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def copr_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COPR_LOCAL), *args], capture_output=True, text=True, timeout=300, check=False
    )


def start_stack(state_dir: Path, *options: str) -> Stack:
    result = copr_local("up", "--detach", "--state-dir", str(state_dir), *options)
    assert result.returncode == 0, result.stderr + result.stdout
    env = dict(line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines())
    return Stack(state_dir, env["COPR_URL"], env["COPR_RESULTS_URL"], Path(env["COPR_CLI_CONFIG"]))


def stack_leftovers(state_dir: Path) -> tuple[list[int], list[int]]:
    """Processes of the stack that are still there, and stack ports that still answer."""
    processes = stack_processes(StackLayout(state_dir))
    ports = json.loads((state_dir / "state.json").read_text())["ports"].values()
    answering = []
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                answering.append(port)
    return processes, answering


def stop_stack(stack: Stack) -> None:
    result = copr_local("down", "--state-dir", str(stack.state_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Stopped the stack in {stack.state_dir}.\n"
    assert stack_leftovers(stack.state_dir) == ([], [])


@contextmanager
def public_state_dir() -> Iterator[Path]:
    """A state dir whose parents anyone may walk through: builds use its own slots."""
    parent = Path(tempfile.mkdtemp(prefix="copr-local-e2e-"))
    parent.chmod(0o755)
    try:
        yield parent / "stack"
    finally:
        copr_local("down", "--state-dir", str(parent / "stack"))
        shutil.rmtree(parent)


@pytest.fixture(scope="module")
def sqlite_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # pytest's tmp dirs are private: as root, the builder slots move to /var/lib/copr-local
    # (the case of a checkout under /root).
    state_dir = tmp_path_factory.mktemp("sqlite-stack")
    try:
        yield start_stack(state_dir)
    finally:
        copr_local("down", "--state-dir", str(state_dir))
        pool = StackLayout(state_dir).pool_dir
        if pool.parent == FALLBACK_POOL_ROOT:
            shutil.rmtree(pool)


@pytest.fixture(scope="module")
def postgres_stack(postgres_server) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    postgres_server.create_database("copr_local_e2e")
    with public_state_dir() as state_dir:
        yield start_stack(state_dir, "--database-url", postgres_server.url("copr_local_e2e"))


@pytest.fixture(scope="module")
def rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A noarch RPM built here, as a packager builds one before uploading it."""
    topdir = tmp_path_factory.mktemp("rpm")
    spec = topdir / "hello-upload.spec"
    spec.write_text(EXAMPLE_SPEC.read_text().replace("hello-copr", "hello-upload"))
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {topdir}", str(spec)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (found,) = (topdir / "RPMS" / "noarch").glob("hello-upload-1.0-1*.noarch.rpm")
    return found


@pytest.fixture(scope="module")
def spec_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A spec file (of another package than the SRPM's) on a loopback HTTP server."""
    served = tmp_path_factory.mktemp("specs")
    spec = EXAMPLE_SPEC.read_text().replace("Name:           hello-copr", "Name: hello-spec")
    spec = spec.replace("hello-copr", "hello-spec")
    (served / "hello-spec.spec").write_text(spec)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hello-spec.spec"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def submitted_build_id(result: subprocess.CompletedProcess[str], stack: Stack) -> int:
    assert result.returncode == 0, result.stderr + result.stdout
    match = re.search(r"^Created builds: (\d+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    assert f"{stack.url}/coprs/build/{match.group(1)}" in result.stdout
    return int(match.group(1))


def build_and_watch(stack: Stack, project: str, source: str) -> int:
    """Submit with copr-cli, wait with python-copr, and let copr-cli watch-build report."""
    build_id = submitted_build_id(stack.copr_cli("build", project, source, "--nowait"), stack)
    build = stack.python_copr("wait-build", str(build_id), str(BUILD_TIMEOUT))
    assert build["state"] == "succeeded", build
    watched = stack.copr_cli("watch-build", str(build_id))
    assert watched.returncode == 0, watched.stderr + watched.stdout
    assert f"Build {build_id}: succeeded" in watched.stdout
    return build_id


def create_project(stack: Stack, name: str) -> None:
    result = stack.copr_cli("create", name, "--chroot", CHROOT)
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"{stack.url}/coprs/admin/{name}/" in result.stdout


def dnf(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The installroot's own /etc/yum.repos.d exists, so dnf (and its copr plugin, which
    # writes the .repo file there) uses it rather than the host's.
    return subprocess.run(
        ["dnf", "--disableplugin=local", f"--installroot={root}", "--releasever=42", "-y",
         *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def enable_and_install(stack: Stack, project: str, package: str, root: Path) -> None:
    (root / "etc" / "yum.repos.d").mkdir(parents=True)
    enabled = dnf(root, "copr", "enable", "--hub", stack.url, f"admin/{project}", CHROOT)
    assert enabled.returncode == 0, enabled.stderr
    (repo_file,) = (root / "etc" / "yum.repos.d").glob("*.repo")
    repo = configparser.ConfigParser(interpolation=None)
    repo.read(repo_file)
    section = repo[f"copr:127.0.0.1:admin:{project}"]
    assert section["gpgcheck"] == "1"
    assert (
        section["baseurl"] == f"{stack.results_url}/admin/{project}/fedora-$releasever-$basearch/"
    )
    assert section["gpgkey"] == f"{stack.results_url}/admin/{project}/pubkey.gpg"

    # The plugin lists it with and without the hub (the .repo file is named after the hub
    # with its port).
    for hub in ([], ["--hub", stack.url]):
        listed = dnf(root, "copr", "list", *hub)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [f"127.0.0.1/admin/{project}"], (hub, listed.stdout)

    installed = dnf(root, "install", package)
    assert installed.returncode == 0, installed.stderr + installed.stdout
    # gpgcheck=1: dnf fetched the project key and checked the package's signature with it.
    assert "Importing GPG key" in installed.stdout + installed.stderr
    assert f"<admin#{project}@copr." in installed.stdout + installed.stderr
    assert (root / "usr" / "share" / package / "greeting.txt").exists()
    query = subprocess.run(["rpm", "--root", str(root), "-q", package],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert query.stdout.startswith(f"{package}-1.0-1"), query.stdout + query.stderr


# --- SQLite (the default) -------------------------------------------------------------------


def test_srpm_upload_builds(sqlite_stack: Stack, srpm: Path) -> None:
    pool = StackLayout(sqlite_stack.state_dir).pool_dir
    assert (pool.parent == FALLBACK_POOL_ROOT) is (os.geteuid() == 0)
    create_project(sqlite_stack, "hello")
    build_id = build_and_watch(sqlite_stack, "hello", str(srpm))
    build = sqlite_stack.python_copr("wait-build", str(build_id), "1")
    assert build["source_package"]["name"] == "hello-copr"
    assert build["source_package"]["version"] == "1.0-1"
    results = sqlite_stack.state_dir / "public_html" / "results" / "admin" / "hello"
    assert list((results / CHROOT / f"{build_id:08d}-hello-copr").glob("*.noarch.rpm"))
    assert (results / "pubkey.gpg").exists()


def test_finished_build_logs_show_in_a_browser(sqlite_stack: Stack) -> None:
    """The live log's URL still works after the build, and the kept logs are text."""
    (build,) = sqlite_stack.python_copr("list-builds", "admin", "hello")
    base = f"{sqlite_stack.results_url}/admin/hello/{CHROOT}/{build['id']:08d}-hello-copr"
    for name in ("builder-live.log", "backend.log"):
        # urllib follows the redirect from the live log's URL to the kept .gz, as a
        # browser does; it does not unpack the body, a browser does.
        with urllib.request.urlopen(f"{base}/{name}", timeout=30) as response:  # noqa: S310
            assert response.url == f"{base}/{name}.gz"
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert response.headers["Content-Encoding"] == "gzip"
            text = gzip.decompress(response.read()).decode()
        assert ("copr-rpmbuild started" if name == "builder-live.log" else "starting") in text


def test_uploadrpm_publishes_a_built_rpm(sqlite_stack: Stack, rpm: Path, tmp_path: Path) -> None:
    """copr-cli uploadrpm: no SRPM, no import; signed with the project's key and in the
    chroot's repository, so dnf installs it with gpgcheck."""
    create_project(sqlite_stack, "upload")
    result = sqlite_stack.copr_cli("uploadrpm", "upload", str(rpm), "-r", CHROOT,
                                   timeout=BUILD_TIMEOUT)  # fmt: skip
    build_id = submitted_build_id(result, sqlite_stack)
    assert f"Build {build_id}: succeeded" in result.stdout, result.stdout
    build = sqlite_stack.python_copr("wait-build", str(build_id), "1")
    assert build["state"] == "succeeded"
    assert build["source_package"]["name"] == "hello-upload"
    results = sqlite_stack.state_dir / "public_html" / "results" / "admin" / "upload"
    assert not (results / "srpm-builds").exists()
    (published,) = (results / CHROOT / f"{build_id:08d}-hello-upload").glob("*.rpm")
    assert published.name == rpm.name
    assert published.read_bytes() != rpm.read_bytes()  # signed here
    enable_and_install(sqlite_stack, "upload", "hello-upload", tmp_path / "root")


def test_spec_url_builds(sqlite_stack: Stack, spec_url: str) -> None:
    build_id = build_and_watch(sqlite_stack, "hello", spec_url)
    build = sqlite_stack.python_copr("wait-build", str(build_id), "1")
    assert build["source_package"]["name"] == "hello-spec"


def test_monitor_shows_the_builds(sqlite_stack: Stack) -> None:
    monitor = sqlite_stack.python_copr("monitor", "admin", "hello")
    packages = {package["name"]: package["chroots"] for package in monitor["packages"]}
    assert set(packages) == {"hello-copr", "hello-spec"}
    for chroots in packages.values():
        assert chroots[CHROOT]["state"] == "succeeded"
        assert chroots[CHROOT]["pkg_version"] == "1.0-1"


def test_dnf_copr_enable_and_install(sqlite_stack: Stack, tmp_path: Path) -> None:
    enable_and_install(sqlite_stack, "hello", "hello-copr", tmp_path / "root")


def test_secrets_stay_private_and_out_of_the_logs(sqlite_stack: Stack) -> None:
    """After the builds above: uploads are gone, secrets, keys and the database are the
    owner's alone, logs are not readable by others and hold no credential."""
    root = sqlite_stack.state_dir
    uploads = root / "frontend" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []

    def mode(path: Path) -> int:
        return path.stat().st_mode & 0o777

    private = [root / "state.json", root / "copr-cli.conf", *(root / "etc").iterdir(),
               *(root / "frontend").glob("copr.sqlite*")]  # fmt: skip
    assert len(list((root / "frontend").glob("copr.sqlite*"))) == 3  # with -wal and -shm
    assert {str(p.relative_to(root)): oct(mode(p)) for p in private if mode(p) != 0o600} == {}
    keygen = [root / "keygen", *(root / "keygen").rglob("*")]
    assert [p for p in keygen if (p.is_file() or p.is_dir()) and mode(p) & 0o077] == []
    for directory in ("etc", "frontend", "keygen"):
        assert mode(root / directory) == 0o700
    logs = [p for p in (root / "logs").rglob("*") if p.is_file()]
    assert len(logs) >= 9
    assert mode(root / "logs") == 0o750
    assert {str(p.relative_to(root)): oct(mode(p)) for p in logs if mode(p) & 0o137} == {}

    state = json.loads((root / "state.json").read_text())
    cli = configparser.ConfigParser(interpolation=None)
    cli.read(sqlite_stack.cli_config)
    secrets = {
        "API login": cli.get("copr-cli", "login"),
        "API token": cli.get("copr-cli", "token"),
        **{name: state[name] for name in ("secret_key", "backend_password", "keygen_secret",
                                          "supervisor_password")},
    }  # fmt: skip
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "/api_3/" in text  # the frontend's access log is there
    assert [name for name, value in secrets.items() if value in text] == []
    # The build logs are published: no secret there either.
    public = [p for p in (root / "public_html").rglob("*.log*") if p.is_file()]
    assert any(p.name.startswith("builder-live.log") for p in public)
    published = "\n".join(
        (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).decode(
            errors="replace"
        )
        for p in public
    )
    assert [name for name, value in secrets.items() if value in published] == []


def test_down_leaves_no_process_and_no_port(sqlite_stack: Stack) -> None:
    stop_stack(sqlite_stack)


# --- PostgreSQL -----------------------------------------------------------------------------


def test_same_flow_with_the_frontend_on_postgresql(
    postgres_stack: Stack, srpm: Path, spec_url: str, tmp_path: Path
) -> None:
    settings = (postgres_stack.state_dir / "etc" / "frontend.toml").read_text()
    assert 'database_url = "postgresql://' in settings
    create_project(postgres_stack, "hello-pg")
    build_and_watch(postgres_stack, "hello-pg", str(srpm))
    build_and_watch(postgres_stack, "hello-pg", spec_url)
    monitor = postgres_stack.python_copr("monitor", "admin", "hello-pg")
    assert {package["name"] for package in monitor["packages"]} == {"hello-copr", "hello-spec"}
    enable_and_install(postgres_stack, "hello-pg", "hello-spec", tmp_path / "root")
    stop_stack(postgres_stack)
