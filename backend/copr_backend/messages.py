"""The fedora-messaging message classes of build messages, one per topic.

fedora-messaging names a message's schema in its ``fedora_messaging_schema`` header by the
entry point the class is registered under (``[project.entry-points."fedora.messages"]``
in the backend's pyproject).  The names are the topics, which are also the names
``copr-messaging`` registers its classes under: consumers that have copr-messaging get
its classes (and its checks), others get these.  The body schema below is the contract
those consumers rely on; fedora-messaging checks every message against it before sending.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedora_messaging.message import Message

__all__ = ["BuildEnded", "BuildMessage", "BuildStarted", "ChrootStarted", "message_class"]

_NULLABLE_TEXT = {"type": ["string", "null"]}

BODY_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "description": "A Copr build task started or ended (a source build has chroot srpm-builds)",
    "type": "object",
    "required": [
        "status",
        "chroot",
        "build",
        "owner",
        "copr",
        "pkg",
        "version",
        "user",
        "what",
        "ip",
        "who",
        "pid",
    ],
    "properties": {
        "status": {"type": "integer", "description": "the state's number (StatusEnum)"},
        "chroot": {"type": "string", "description": "the chroot, or srpm-builds"},
        "build": {"type": "integer", "description": "the build id"},
        "owner": {"type": "string", "description": "user or @group owning the project"},
        "copr": {"type": "string", "description": "the project's name"},
        "pkg": {**_NULLABLE_TEXT, "description": "package name, null until known"},
        "version": {**_NULLABLE_TEXT, "description": "[epoch:]version-release, or null"},
        "user": {**_NULLABLE_TEXT, "description": "who submitted the build"},
        "what": {"type": "string", "description": "the message as one line of text"},
        "ip": {**_NULLABLE_TEXT, "description": "the builder's address, when known"},
        "who": {"type": "string", "description": "the module that sent the message"},
        "pid": {"type": "integer", "description": "the sending worker's process id"},
    },
}


class BuildMessage(Message):
    """A build task's message; the subclasses only fix the topic."""

    body_schema: ClassVar[dict[str, Any]] = BODY_SCHEMA

    @property
    def app_name(self) -> str:
        return "Copr"

    @property
    def usernames(self) -> list[str]:
        names = [self.body.get("user"), self.body.get("owner")]
        return sorted({str(n) for n in names if n and not str(n).startswith("@")})

    @property
    def packages(self) -> list[str]:
        return [str(self.body["pkg"])] if self.body.get("pkg") else []

    @property
    def summary(self) -> str:
        return str(self.body["what"])


class BuildStarted(BuildMessage):
    topic = "copr.build.start"


class ChrootStarted(BuildMessage):
    topic = "copr.chroot.start"


class BuildEnded(BuildMessage):
    topic = "copr.build.end"


_BY_TOPIC: dict[str, type[BuildMessage]] = {
    cls.topic: cls for cls in (BuildStarted, ChrootStarted, BuildEnded)
}


def message_class(topic: str) -> type[BuildMessage]:
    """The class of ``topic``'s messages; ``KeyError`` for a topic the backend never sends."""
    return _BY_TOPIC[topic]
