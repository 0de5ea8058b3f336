"""Builder hosts for tests: :mod:`copr_common.builder_hosts` (which ``copr-local`` uses
too) and the ``builder_hosts`` fixture's :class:`BuilderHostFactory`.

``python -m copr_common.testing.builder_hosts`` is the same command line as
``python -m copr_common.builder_hosts``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copr_common.builder_hosts import (
    DEFAULT_BASE_DIR,
    BuilderHost,
    BuilderHostError,
    add_known_host,
    create,
    delete,
    delete_all,
    load,
    main,
    make_client_key,
    namespaces,
    processes,
    remove_known_host,
)

__all__ = [
    "DEFAULT_BASE_DIR",
    "BuilderHost",
    "BuilderHostError",
    "BuilderHostFactory",
    "add_known_host",
    "create",
    "delete",
    "delete_all",
    "load",
    "main",
    "namespaces",
    "processes",
    "remove_known_host",
]


class BuilderHostFactory:
    """Builder hosts for one test (the ``builder_hosts`` fixture): named ``<prefix><n>``,
    all authorized for one client key of its own (``key_file``), removed by
    :meth:`delete_all`.
    """

    def __init__(self, prefix: str, base_dir: Path) -> None:
        self.prefix = prefix
        self.base_dir = base_dir
        self.made: list[BuilderHost] = []
        base_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        # Not named after the prefix: delete_all removes what is.
        self.key_file = base_dir / ".client-keys" / prefix / "id_ed25519"
        make_client_key(self.key_file, prefix)

    @property
    def public_key(self) -> str:
        return self.key_file.with_name(self.key_file.name + ".pub").read_text()

    def create(self, **options: Any) -> BuilderHost:
        """A new host (options as :func:`create`'s), authorized for :attr:`key_file`."""
        name = f"{self.prefix}{len(self.made)}"
        options.setdefault("base_dir", self.base_dir)
        host = create(name, options.pop("authorized_key", self.public_key), **options)
        self.made.append(host)
        return host

    def known_hosts(self, path: Path, hosts: Sequence[BuilderHost] | None = None) -> Path:
        """Write a known-hosts file naming ``hosts`` (default: every host made)."""
        chosen = self.made if hosts is None else hosts
        path.write_text("".join(host.known_hosts_line() for host in chosen))
        return path

    def delete_all(self) -> list[str]:
        return delete_all(self.prefix, self.base_dir)


if __name__ == "__main__":
    sys.exit(main())
