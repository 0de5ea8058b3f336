"""Helpers for copr-rpmbuild's tests: the loopback HTTP server's API, the builder handle,
specs, tarballs, git repos and task dicts; a network namespace that stands for the
internet, a DNS server and TCP listeners for the network tests.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
# Sandbox uids of this test session: its own, so that test sessions running side by side
# (and their process limits) never share one. Unused by any account (see config.py).
SESSION_UID = 2_010_000_000 + (os.getpid() % 50_000) * 8


def session_uid(n: int = 0) -> int:
    """The ``n``-th sandbox uid of this session (0-7)."""
    return SESSION_UID + n


@dataclass
class HttpServer:
    """A loopback HTTP server over ``root``: tasks, sources and git repos to build from."""

    root: Path
    url: str

    def put(self, relative: str, content: bytes | str) -> str:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return f"{self.url}/{relative}"

    def put_task(self, relative_dir: str, task: dict[str, Any]) -> str:
        """Serve ``task`` at ``<url>/<relative_dir>/`` (as its index.html)."""
        self.put(f"{relative_dir.strip('/')}/index.html", json.dumps(task))
        return f"{self.url}/{relative_dir.strip('/')}/"

    def put_git(self, relative: str, source: Path) -> str:
        """Publish the git repo ``source`` as a bare repo cloneable over (dumb) HTTP."""
        bare = self.root / relative
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
        subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
        return f"{self.url}/{relative}"


@dataclass
class Builder:
    """A builder's settings file and directories, and a way to run copr-rpmbuild."""

    config: Path
    resultdir: Path
    workspace: Path
    state: Path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "copr-rpmbuild"), "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.resultdir / "results.json").read_text())
        return data

    def log(self) -> str:
        return (self.resultdir / "builder-live.log").read_text(errors="replace")

    def files(self) -> list[str]:
        return sorted(p.name for p in self.resultdir.iterdir())


def write_config(path: Path, base: Path, http: HttpServer, **extra: Any) -> None:
    values: dict[str, Any] = {
        "frontend_url": http.url,
        "distgit_clone_url": f"{http.url}/git",
        "distgit_lookaside_url": f"{http.url}/lookaside",
        "resultdir": str(base / "results"),
        "workspace_dir": str(base / "workspace"),
        "state_dir": str(base / "state"),
        "kill_grace": 1.0,
        "default_timeout": 120,
        "max_log_size": 4 * 1024 * 1024,
        # Unreachable URLs are part of the tests: keep their retries short.
        "fetch_retry_pause": 0.05,
        "sandbox_uid": session_uid(),
        **extra,
    }
    lines = []
    tables = []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, table in tables:
        for name, fields in table.items():
            lines.append(f"[{key}.{name}]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in fields.items())
    path.write_text("\n".join(lines) + "\n")


SPEC_TEMPLATE = """\
Name:           {name}
Version:        {version}
Release:        1%{{?dist}}
Summary:        A test package
License:        MIT
URL:            https://example.org/{name}
Source0:        {source0}
{extra_tags}
%description
A package copr-rpmbuild's tests build.

%package        extras
Summary:        The extras subpackage of {name}
BuildArch:      noarch

%description    extras
Extra files.

%prep
%setup -q

%build
{build}

%install
mkdir -p %{{buildroot}}%{{_datadir}}/{name}
install -m 644 hello.txt %{{buildroot}}%{{_datadir}}/{name}/hello.txt
echo extra > %{{buildroot}}%{{_datadir}}/{name}/extra.txt

%files
%{{_datadir}}/{name}/hello.txt

%files extras
%{{_datadir}}/{name}/extra.txt

%changelog
* Mon Jan 01 2024 Tester <tester@example.org> - {version}-1
- test
"""


def make_spec(
    name: str = "hello",
    version: str = "1.0",
    *,
    source0: str | None = None,
    build: str = "cat hello.txt",
    extra_tags: str = "",
) -> str:
    return SPEC_TEMPLATE.format(
        name=name,
        version=version,
        source0=source0 or f"{name}-{version}.tar.gz",
        build=textwrap.dedent(build).strip(),
        extra_tags=extra_tags,
    )


def make_tarball(directory: Path, name: str = "hello", version: str = "1.0") -> Path:
    """``<name>-<version>.tar.gz`` with ``<name>-<version>/hello.txt``."""
    top = f"{name}-{version}"
    staging = directory / f".staging-{top}"
    (staging / top).mkdir(parents=True, exist_ok=True)
    (staging / top / "hello.txt").write_text(f"hello from {name} {version}\n")
    tarball = directory / f"{top}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(staging / top, arcname=top)
    shutil.rmtree(staging)
    return tarball


def git_repo(path: Path, files: dict[str, str | bytes], message: str = "init") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    if not (path / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    for relative, content in files.items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", message], check=True, env=env)
    return path


def srpm_task(
    build_id: int, source_type: str, source: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "task_id": str(build_id),
        "build_id": build_id,
        "project_owner": "alice",
        "project_name": "demo",
        "project_dirname": "demo",
        "submitter": "alice",
        "source_type": {
            "link": 1,
            "upload": 2,
            "pypi": 5,
            "rubygems": 6,
            "scm": 8,
            "custom": 9,
            "distgit": 10,
        }[source_type],
        "source_json": json.dumps(source),
        "chroot": None,
        **extra,
    }


def rpm_task(
    build_id: int, chroot: str, git_repo_url: str, git_hash: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "task_id": f"{build_id}-{chroot}",
        "build_id": build_id,
        "chroot": chroot,
        "project_owner": "alice",
        "project_name": "demo",
        "project_dirname": "demo",
        "submitter": "alice",
        "sandbox": "alice/demo--alice",
        "background": False,
        "tags": [],
        "timeout": 120,
        "memory_reqs": 2048,
        "enable_net": False,
        "git_repo": git_repo_url,
        "git_hash": git_hash,
        "package_name": extra.pop("package_name", "hello"),
        "package_version": "1.0-1",
        "repos": [],
        "buildroot_pkgs": [],
        "with_opts": [],
        "without_opts": [],
        "isolation": "default",
        "bootstrap": "default",
        **extra,
    }


def publish_distgit(
    http: HttpServer,
    workdir: Path,
    package: str,
    spec: str,
    sources: dict[str, bytes] | None = None,
    *,
    owner: str = "alice",
    project: str = "demo",
) -> tuple[str, str]:
    """A dist-git repo as the dist-git service makes it: spec + ``sources`` in git, the
    tarballs in the lookaside cache. Returns (clone URL, commit hash).
    """
    import hashlib

    sources = sources or {}
    lines = []
    for filename, content in sources.items():
        digest = hashlib.sha512(content).hexdigest()
        lines.append(f"SHA512 ({filename}) = {digest}\n")
        http.put(
            f"lookaside/{owner}/{project}/{package}/{filename}/sha512/{digest}/{filename}",
            content,
        )
    repo = git_repo(
        workdir / f"distgit-{owner}-{project}-{package}",
        {f"{package}.spec": spec, "sources": "".join(lines)},
    )
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    relative = f"git/{owner}/{project}/{package}.git"
    if (http.root / relative).exists():
        shutil.rmtree(http.root / relative)
    url = http.put_git(relative, repo)
    return url, commit


def rpmbuild_srpm(workdir: Path, spec_text: str, sources: list[Path]) -> Path:
    """An SRPM made on the host by the test itself (the input a user would upload)."""
    top = workdir / "host-rpmbuild"
    (top / "SOURCES").mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copy(source, top / "SOURCES" / source.name)
    spec = top / "package.spec"
    spec.write_text(spec_text)
    subprocess.run(
        ["rpmbuild", "-bs", "--nodeps", "--define", f"_topdir {top}", str(spec)],
        check=True,
        capture_output=True,
    )
    (srpm,) = (top / "SRPMS").glob("*.src.rpm")
    return srpm


def unpack_srpm(srpm: Path, target: Path) -> dict[str, bytes]:
    """The files of an SRPM by name."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["rpm2cpio", str(srpm)], capture_output=True, check=True).stdout
    subprocess.run(
        ["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
        input=archive,
        cwd=target,
        check=True,
    )
    return {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}


def rpm_query(path: Path, fmt: str) -> str:
    return subprocess.run(
        ["rpm", "-qp", "--qf", fmt, str(path)], capture_output=True, text=True, check=True
    ).stdout


HOSTILE_SPEC = """\
Name:           {name}
Version:        1
Release:        1%{{?dist}}
Summary:        A package that misbehaves
License:        MIT
BuildArch:      noarch

%description
copr-rpmbuild must contain what this package does.

%build
{build}

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo ok > %{{buildroot}}/usr/share/{name}/done

%files
/usr/share/{name}/done
"""


def hostile_spec(name: str, build: str) -> str:
    return HOSTILE_SPEC.format(name=name, build=textwrap.dedent(build).strip())


# --- a stand-in for the internet -------------------------------------------------------------

_internets = itertools.count()


@dataclass
class Internet:
    """A network namespace standing for the internet: the host reaches it through a veth
    pair, and an HTTP server listens there on ``address`` (not an address of the host).
    ``host_address`` is the host's end of the pair: an address of the host itself.
    """

    namespace: str
    host_address: str
    address: str
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def put(self, relative: str, content: bytes | str) -> str:
        """Serve ``content`` at the returned URL."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return f"{self.url}/{relative}"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def internet(root: Path) -> Iterator[Internet]:
    """An :class:`Internet` serving ``root``, gone afterwards."""
    n = next(_internets)
    tag = f"{os.getpid() % 0x10000:04x}{n % 0x100:02x}"
    namespace, outside, inside = f"copr-inet-{tag}", f"ci{tag}h", f"ci{tag}n"
    # 198.18.0.0/15 is for network tests; one /30 per namespace of this session.
    subnet = f"198.18.{os.getpid() % 250}"
    first = 4 * (n % 64)
    host_address, address = f"{subnet}.{first + 1}", f"{subnet}.{first + 2}"
    server = None
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("addr", "add", f"{host_address}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", namespace, "addr", "add", f"{address}/30", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "http.server",
             "--bind", address, "--directory", str(root), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((address, port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        "the stand-in internet's HTTP server did not start"
                    ) from None
                time.sleep(0.1)
        yield Internet(namespace, host_address, address, port, root)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


class DnsServer:
    """A UDP DNS server that answers every A query with ``answer`` (and nothing else)."""

    def __init__(self, address: str, answer: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 53))
        self.sock.settimeout(0.2)
        self.answer = answer
        self.queries: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                continue
            reply = self._reply(query)
            if reply:
                self.sock.sendto(reply, peer)

    def _reply(self, query: bytes) -> bytes | None:
        if len(query) < 17:
            return None
        end = 12
        labels = []
        while end < len(query) and query[end]:
            labels.append(query[end + 1 : end + 1 + query[end]].decode(errors="replace"))
            end += query[end] + 1
        question = query[12 : end + 5]
        (qtype,) = struct.unpack("!H", query[end + 1 : end + 3])
        self.queries.append(".".join(labels))
        answers = b""
        count = 0
        if qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4)
            answers += socket.inet_aton(self.answer)
            count = 1
        header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], 0x8180, 1, count, 0, 0)
        return header + question + answers

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class Listener:
    """A TCP listener that counts who connected."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
