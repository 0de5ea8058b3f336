"""A git forge on loopback for webhook tests, and the payloads real forges send.

:class:`GitForge` serves bare repositories over git's smart HTTP protocol through
``git http-backend`` (clone, fetch and push), as a forge does.  :class:`ForgeRepo`
commits to one of them and pushes over HTTP.  :func:`github_push`, :func:`gitlab_push`,
:func:`bitbucket_push` and the other payload functions render the JSON fixtures in
``forge_payloads/`` — the shape and headers each forge documents for the event — for a
real commit of that repository, and sign them the way the forge signs when given its
secret.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from copr_common.git_http import find_http_backend

PAYLOADS = Path(__file__).parent / "forge_payloads"
ZERO = "0" * 40
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "A. Developer",
    "GIT_AUTHOR_EMAIL": "developer@example.org",
    "GIT_COMMITTER_NAME": "A. Developer",
    "GIT_COMMITTER_EMAIL": "developer@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Runs ``git http-backend`` as a CGI for every request under the forge's root."""

    server: _ForgeServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "developer",
            "SERVER_PROTOCOL": "HTTP/1.0",
            "GATEWAY_INTERFACE": "CGI/1.1",
            # Pushes over HTTP, as to a forge (http-backend refuses them anonymously).
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env["CONTENT_LENGTH"] = str(len(body))
        result = subprocess.run(
            [self.server.http_backend], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _ForgeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.http_backend = find_http_backend()


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Commit:
    """A commit pushed to a test forge, with what it changed (for building push payloads)."""

    sha: str
    before: str
    branch: str
    message: str
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class GitForge:
    """Bare repositories under ``root``, served at ``url`` (``<url>/<name>.git``)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "repos"
        self.root.mkdir(parents=True)
        self.work = root / "work"
        self.work.mkdir()
        self._server = _ForgeServer(self.root)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def create_repo(self, name: str, files: Mapping[str, str | bytes]) -> ForgeRepo:
        """A new repository whose ``main`` branch has one commit with ``files``."""
        bare = self.root / f"{name}.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        # http-backend serves repositories whose owner is someone else too.
        git("config", "--file", str(bare / "config"), "http.receivepack", "true")
        work = self.work / name
        git("clone", "--quiet", f"{self.url}/{name}.git", str(work))
        git("checkout", "--quiet", "-b", "main", cwd=work)
        repo = ForgeRepo(self, name, work)
        repo.commit(files, "Initial import")
        return repo


class ForgeRepo:
    """A working copy of one forge repository that commits and pushes over HTTP."""

    def __init__(self, forge: GitForge, name: str, work: Path) -> None:
        self.forge = forge
        self.name = name
        self.work = work

    @property
    def clone_url(self) -> str:
        return f"{self.forge.url}/{self.name}.git"

    @property
    def html_url(self) -> str:
        return f"{self.forge.url}/{self.name}"

    def head(self, branch: str = "main") -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.work)

    def commit(
        self,
        files: Mapping[str, str | bytes],
        message: str,
        *,
        branch: str = "main",
        remove: tuple[str, ...] = (),
    ) -> Commit:
        """Commit ``files`` (path → content) on ``branch`` and push it to the forge."""
        branches = git("branch", "--list", branch, cwd=self.work)
        if branches:
            git("checkout", "--quiet", branch, cwd=self.work)
            before = self.head(branch)
        else:
            has_head = git("branch", "--list", cwd=self.work) != ""
            git("checkout", "--quiet", "-b", branch, cwd=self.work)
            before = self.head(branch) if has_head else ZERO
        added: list[str] = []
        modified: list[str] = []
        for path, content in files.items():
            target = self.work / path
            (modified if target.exists() else added).append(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
            git("add", path, cwd=self.work)
        for path in remove:
            git("rm", "--quiet", path, cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("-c", "http.postBuffer=104857600", "push", "--quiet", "origin", branch, cwd=self.work)
        return Commit(self.head(branch), before, branch, message, added, modified, list(remove))

    def tag(self, name: str, commit: str | None = None) -> str:
        """Tag ``commit`` (default: the head of main), push the tag; the tagged commit."""
        target = commit or self.head()
        git("tag", name, target, cwd=self.work)
        git("push", "--quiet", "origin", f"refs/tags/{name}", cwd=self.work)
        return target


# --- payloads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """A webhook request as the forge sends it."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}") and value[2:-1] in values:
            return values[value[2:-1]]  # a whole value: any JSON type
        for name, replacement in values.items():
            value = value.replace("${" + name + "}", str(replacement))
        return value
    return value


def render(name: str, **values: Any) -> Payload:
    """The fixture ``forge_payloads/<name>.json`` with ``${...}`` filled in."""
    fixture = json.loads((PAYLOADS / f"{name}.json").read_text())
    headers = {k: str(v) for k, v in _substitute(fixture["headers"], values).items()}
    body = json.dumps(_substitute(fixture["body"], values), indent=2).encode()
    return Payload(headers, body)


def _repo_values(repo: ForgeRepo, sender: str) -> dict[str, Any]:
    parts = urlsplit(repo.forge.url)
    return {
        "owner": "upstream",
        "repo_name": repo.name,
        "repo_id": 4242,
        "host": parts.netloc,
        "clone_url": repo.clone_url,
        "html_url": repo.html_url,
        "git_url": f"git://{parts.hostname}/{repo.name}.git",
        "sender": sender,
        "delivery": str(uuid.uuid4()),
        "hook_uuid": str(uuid.uuid4()),
        "repo_uuid": "6b1c5f1e-0000-4000-8000-00000000c0de",
    }


def _commit_json(commit: Commit, repo: ForgeRepo, forge: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": commit.sha,
        "message": commit.message,
        "timestamp": "2024-05-01T10:00:00+00:00",
        "url": f"{repo.html_url}/commit/{commit.sha}",
        "author": {"name": "A. Developer", "email": "developer@example.org"},
        "added": commit.added,
        "modified": commit.modified,
        "removed": commit.removed,
    }
    if forge == "github":
        entry.update(
            tree_id=hashlib.sha1(commit.sha.encode()).hexdigest(),  # noqa: S324 - an id
            distinct=True,
            committer={"name": "A. Developer", "email": "developer@example.org"},
        )
    else:
        entry["title"] = commit.message
    return entry


def github_signed(payload: Payload, secret: str | None) -> Payload:
    if secret is None:
        return payload
    digest = hmac.new(secret.encode(), payload.body, hashlib.sha256).hexdigest()
    legacy = hmac.new(secret.encode(), payload.body, hashlib.sha1).hexdigest()
    headers = {**payload.headers, "X-Hub-Signature-256": f"sha256={digest}",
               "X-Hub-Signature": f"sha1={legacy}"}  # fmt: skip
    return Payload(headers, payload.body)


def github_push(
    repo: ForgeRepo, commits: list[Commit], *, secret: str | None = None, sender: str = "octocat"
) -> Payload:
    last = commits[-1]
    entries = [_commit_json(c, repo, "github") for c in commits]
    payload = render(
        "github-push",
        **_repo_values(repo, sender),
        branch=last.branch,
        before=commits[0].before,
        after=last.sha,
        commits=entries,
        head_commit=entries[-1],
    )
    return github_signed(payload, secret)


def github_create_tag(
    repo: ForgeRepo, tag: str, *, secret: str | None = None, sender: str = "octocat"
) -> Payload:
    return github_signed(render("github-create", **_repo_values(repo, sender), tag=tag), secret)


def github_ping(repo: ForgeRepo, hook_url: str, *, secret: str | None = None) -> Payload:
    payload = render("github-ping", **_repo_values(repo, "octocat"), hook_url=hook_url)
    return github_signed(payload, secret)


def github_pull_request(
    repo: ForgeRepo,
    action: str,
    number: int,
    head: Commit,
    *,
    head_repo: ForgeRepo | None = None,
    base_ref: str = "main",
    secret: str | None = None,
    sender: str = "contributor",
) -> Payload:
    source = head_repo or repo
    payload = render(
        "github-pull_request",
        **_repo_values(repo, sender),
        action=action,
        number=number,
        state="closed" if action == "closed" else "open",
        head_ref=head.branch,
        head_sha=head.sha,
        head_repo_id=4343,
        head_html_url=source.html_url,
        head_clone_url=source.clone_url,
        base_ref=base_ref,
        base_sha=repo.head(base_ref),
        before=head.before,
    )
    return github_signed(payload, secret)


def _gitlab_token(payload: Payload, secret: str | None) -> Payload:
    if secret is None:
        return payload
    return Payload({**payload.headers, "X-Gitlab-Token": secret}, payload.body)


def gitlab_push(
    repo: ForgeRepo, commits: list[Commit], *, secret: str | None = None, sender: str = "dev"
) -> Payload:
    last = commits[-1]
    payload = render(
        "gitlab-push",
        **_repo_values(repo, sender),
        branch=last.branch,
        before=commits[0].before,
        after=last.sha,
        commits=[_commit_json(c, repo, "gitlab") for c in commits],
        total_commits_count=len(commits),
    )
    return _gitlab_token(payload, secret)


def gitlab_tag_push(
    repo: ForgeRepo, tag: str, commit: str, *, secret: str | None = None, sender: str = "dev"
) -> Payload:
    # A lightweight tag's object is the commit itself.
    payload = render(
        "gitlab-tag_push", **_repo_values(repo, sender), tag=tag, commit=commit, after=commit
    )
    return _gitlab_token(payload, secret)


def gitlab_merge_request(
    repo: ForgeRepo,
    action: str,
    number: int,
    head: Commit,
    *,
    head_repo: ForgeRepo | None = None,
    base_ref: str = "main",
    secret: str | None = None,
    sender: str = "contributor",
) -> Payload:
    source = head_repo or repo
    states = {"close": "closed", "merge": "merged"}
    payload = render(
        "gitlab-merge_request",
        **_repo_values(repo, sender),
        action=action,
        number=number,
        state=states.get(action, "opened"),
        head_ref=head.branch,
        head_sha=head.sha,
        head_repo_id=4343,
        head_html_url=source.html_url,
        head_clone_url=source.clone_url,
        base_ref=base_ref,
    )
    return _gitlab_token(payload, secret)


def bitbucket_push(
    repo: ForgeRepo,
    commit: Commit | None = None,
    *,
    tag: str | None = None,
    secret: str | None = None,
    sender: str = "dev",
) -> Payload:
    """A ``repo:push`` of ``commit``'s branch, or of the new ``tag`` (on main's head)."""
    if tag is not None:
        sha, ref_type, ref_name, before, message = repo.head(), "tag", tag, ZERO, "Tag"
    else:
        assert commit is not None
        sha, ref_type, ref_name = commit.sha, "branch", commit.branch
        before, message = commit.before, commit.message
    old = None if before == ZERO else {"type": ref_type, "name": ref_name,
                                       "target": {"type": "commit", "hash": before}}  # fmt: skip
    payload = render(
        "bitbucket-repo_push",
        **_repo_values(repo, sender),
        commit=sha,
        before=before,
        ref_type=ref_type,
        ref_name=ref_name,
        message=message,
        old=old,
    )
    if secret is None:
        return payload
    digest = hmac.new(secret.encode(), payload.body, hashlib.sha256).hexdigest()
    return Payload({**payload.headers, "X-Hub-Signature": f"sha256={digest}"}, payload.body)


def git_forge(root: Path) -> Iterator[GitForge]:
    """A forge under ``root`` for the length of a ``with``-less fixture (generator)."""
    forge = GitForge(root)
    try:
        yield forge
    finally:
        forge.close()
