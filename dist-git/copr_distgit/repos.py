"""Per-package git repositories: bare repos written with pygit2, one branch per distro.

Repos live at ``<git root>/<owner>/<dirname>/<package>.git``.  An import builds one tree
(spec, patches, ``sources``) and points every requested branch at a commit with that
tree: a branch whose tip already has it stays as it is (identical content is a no-op),
and branches with the same tip share one new commit, so their histories stay the same.

Imports of one package hold an exclusive ``flock`` on a lock file beside the repo, so
they run one after another; imports of different packages do not wait for each other.
A new repo is built under a temporary name and renamed into place only when complete,
so a failed import leaves no half-written repo behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pygit2

BLOB_MODE = pygit2.enums.FileMode.BLOB


class PackageRepos:
    """The bare git repositories of packages under one root, with a lock per repository."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, reponame: str) -> Path:
        return self.root / f"{reponame}.git"

    @contextlib.contextmanager
    def locked(self, reponame: str) -> Iterator[None]:
        """Hold the package's import lock (blocking until it is free)."""
        lock_path = self.root / f"{reponame}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def branch_heads(self, reponame: str) -> dict[str, str]:
        path = self.path(reponame)
        if not path.exists():
            return {}
        repo = pygit2.Repository(str(path))
        heads = {}
        for name in repo.branches.local:
            heads[name] = str(repo.branches.local[name].target)
        return heads

    def commit_files(
        self,
        reponame: str,
        branches: list[str] | tuple[str, ...],
        files: Mapping[str, bytes],
        message: str,
        author: pygit2.Signature,
    ) -> dict[str, str]:
        """Make every branch hold exactly ``files``; the commit hash per branch.

        Call with :meth:`locked` held.
        """
        path = self.path(reponame)
        if path.exists():
            return self._commit(pygit2.Repository(str(path)), branches, files, message, author)
        path.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.new-"))
        try:
            repo = pygit2.init_repository(str(building), bare=True)
            commits = self._commit(repo, branches, files, message, author)
            repo.set_head(f"refs/heads/{branches[0]}")
            building.rename(path)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return commits

    @staticmethod
    def _commit(
        repo: pygit2.Repository,
        branches: list[str] | tuple[str, ...],
        files: Mapping[str, bytes],
        message: str,
        author: pygit2.Signature,
    ) -> dict[str, str]:
        builder = repo.TreeBuilder()
        for name in sorted(files):
            builder.insert(name, repo.create_blob(files[name]), BLOB_MODE)
        tree = builder.write()

        # Decide every branch's new tip first, then move the refs together at the end.
        new_tips: dict[str, pygit2.Oid] = {}
        made_for_parent: dict[pygit2.Oid | None, pygit2.Oid] = {}
        for branch in branches:
            ref = repo.branches.local.get(branch)
            parent = ref.peel(pygit2.Commit) if ref is not None else None
            if parent is not None and parent.tree_id == tree:
                new_tips[branch] = parent.id
                continue
            key = parent.id if parent is not None else None
            if key not in made_for_parent:
                signature = pygit2.Signature(author.name, author.email, int(time.time()), 0)
                made_for_parent[key] = repo.create_commit(
                    None, signature, signature, message, tree, [key] if key is not None else []
                )
            new_tips[branch] = made_for_parent[key]
        for branch, oid in new_tips.items():
            repo.references.create(f"refs/heads/{branch}", oid, force=True)
        if repo.head_is_unborn:
            repo.set_head(f"refs/heads/{branches[0]}")
        return {branch: str(oid) for branch, oid in new_tips.items()}
