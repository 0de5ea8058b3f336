"""The ``rabbitmq_password_hash`` filter: a password as RabbitMQ's definitions file holds it.

RabbitMQ's default scheme (rabbit_password_hashing_sha256): base64 of a 4-byte salt
followed by SHA-256(salt + password). The salt is derived from the user and password,
so the file (and the play) stays the same from one run to the next.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def rabbitmq_password_hash(password: str, user: str) -> str:
    salt = hashlib.sha256(f"{user}\0{password}".encode()).digest()[:4]
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


class FilterModule:
    """Ansible's entry point to this plugin: the ``rabbitmq_password_hash`` filter."""

    def filters(self) -> dict[str, Any]:
        return {"rabbitmq_password_hash": rabbitmq_password_hash}
