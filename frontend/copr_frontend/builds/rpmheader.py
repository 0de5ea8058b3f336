"""Reading the identity of an RPM package file: name, epoch, version, release, arch.

The frontend has no rpm library, and needs only a few tags of an uploaded package, so
this reads the file format itself: a 96-byte lead, the signature header (padded to 8
bytes), then the main header — each header a magic, an index of (tag, type, offset,
count) entries and a data store.  Only what is needed is read, with bounds, so a forged
file cannot make the frontend read or allocate much.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

LEAD_MAGIC = b"\xed\xab\xee\xdb"
HEADER_MAGIC = b"\x8e\xad\xe8\x01"
LEAD_SIZE = 96
_MAX_ENTRIES = 100_000
_MAX_STORE = 64 * 1024**2

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH = 1000, 1001, 1002, 1003, 1022
TAG_SOURCERPM, TAG_SOURCEPACKAGE = 1044, 1106
TYPE_INT32, TYPE_STRING, TYPE_I18NSTRING = 4, 6, 9


class RpmHeaderError(ValueError):
    """Not a readable RPM package; the message says what is wrong."""


@dataclass(frozen=True)
class RpmIdentity:
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str
    is_source: bool

    @property
    def evr(self) -> str:
        """``[epoch:]version-release``, as Copr shows a build's version."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


def _read(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise RpmHeaderError(f"the file ends inside its {what}")
    return data


def _header(stream: BinaryIO, what: str) -> tuple[list[tuple[int, int, int, int]], bytes]:
    intro = _read(stream, 16, what)
    if intro[:4] != HEADER_MAGIC:
        raise RpmHeaderError(f"the {what} does not start with the RPM header magic")
    count, size = struct.unpack(">II", intro[8:16])
    if count > _MAX_ENTRIES or size > _MAX_STORE:
        raise RpmHeaderError(f"the {what} is implausibly large")
    index = _read(stream, 16 * count, what)
    entries = [struct.unpack(">iIiI", index[i : i + 16]) for i in range(0, len(index), 16)]
    return entries, _read(stream, size, what)


def _string(store: bytes, offset: int) -> str:
    end = store.find(b"\0", offset)
    if offset < 0 or end < 0:
        raise RpmHeaderError("a header string runs past the header's data")
    return store[offset:end].decode("utf-8", errors="replace")


def read_identity(stream: BinaryIO) -> RpmIdentity:
    """The identity of the package ``stream`` is at the start of."""
    lead = _read(stream, LEAD_SIZE, "lead")
    if lead[:4] != LEAD_MAGIC:
        raise RpmHeaderError("the file is not an RPM package (no RPM lead)")
    lead_type = struct.unpack(">H", lead[6:8])[0]
    _entries, signature_store = _header(stream, "signature header")
    # The signature header's data is padded to a multiple of 8 bytes.
    _read(stream, -len(signature_store) % 8, "signature header")
    entries, store = _header(stream, "header")
    values: dict[int, str | int] = {}
    for tag, kind, offset, count in entries:
        if tag in (TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_ARCH, TAG_SOURCERPM):
            if kind not in (TYPE_STRING, TYPE_I18NSTRING):
                raise RpmHeaderError(f"header tag {tag} is not a string")
            values[tag] = _string(store, offset)
        elif tag == TAG_EPOCH and kind == TYPE_INT32 and count >= 1:
            if offset < 0 or offset + 4 > len(store):
                raise RpmHeaderError("the epoch runs past the header's data")
            values[tag] = struct.unpack(">I", store[offset : offset + 4])[0]
        elif tag == TAG_SOURCEPACKAGE:
            values[tag] = 1
    for tag, label in ((TAG_NAME, "Name"), (TAG_VERSION, "Version"), (TAG_RELEASE, "Release")):
        if not values.get(tag):
            raise RpmHeaderError(f"the package has no {label}")
    is_source = lead_type == 1 or TAG_SOURCEPACKAGE in values or TAG_SOURCERPM not in values
    epoch = values.get(TAG_EPOCH)
    return RpmIdentity(
        name=str(values[TAG_NAME]),
        epoch=epoch if isinstance(epoch, int) else None,
        version=str(values[TAG_VERSION]),
        release=str(values[TAG_RELEASE]),
        arch="src" if is_source else str(values.get(TAG_ARCH) or ""),
        is_source=is_source,
    )
