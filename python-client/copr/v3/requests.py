"""HTTP to API v3: one place that sends, retries, authenticates and maps errors.

Uploads are streamed: :class:`MultipartStream` reads files in blocks while the request is
being sent, so a large SRPM is never held in memory, and reports progress as it goes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

import requests

from copr import __version__
from copr.v3.exceptions import (
    CoprAuthException,
    CoprNoResultException,
    CoprRequestException,
    CoprTimeoutException,
)

GET = "GET"
POST = "POST"
PUT = "PUT"
DELETE = "DELETE"

USER_AGENT = f"copr python-copr/{__version__}"
RETRY_PAUSE = 5.0
BLOCK_SIZE = 64 * 1024
# (connect, read) seconds: a read timeout is per socket read, so long uploads are fine.
TIMEOUT = (30, 600)

ProgressCallback = Callable[["MultipartStream"], Any]


@dataclass
class UploadFile:
    """A file part of a multipart upload: the form field's file name, content and type."""

    filename: str
    fileobj: IO[bytes]
    content_type: str = "application/octet-stream"


class MultipartStream:
    """A ``multipart/form-data`` body produced block by block as it is read.

    ``len`` and ``bytes_read`` are public (the attribute names of requests-toolbelt's
    monitor, so python-copr progress callbacks work unchanged); ``callback`` is called
    with this object after every block.
    """

    def __init__(
        self,
        fields: Mapping[str, str | UploadFile],
        callback: ProgressCallback | None = None,
    ):
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.callback = callback
        self.bytes_read = 0
        self._parts: list[bytes | UploadFile] = []
        for name, value in fields.items():
            if isinstance(value, UploadFile):
                head = (
                    f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{_header_quote(value.filename)}"\r\n'
                    f"Content-Type: {value.content_type}\r\n\r\n"
                )
                self._parts += [head.encode(), value, b"\r\n"]
            else:
                head = (
                    f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                    "Content-Type: application/json\r\n\r\n"
                )
                self._parts += [head.encode() + value.encode() + b"\r\n"]
        self._parts.append(f"--{self.boundary}--\r\n".encode())
        self.len = sum(
            len(part) if isinstance(part, bytes) else _remaining(part.fileobj)
            for part in self._parts
        )
        self._chunks = self._generate()
        self._pending = b""

    def __len__(self) -> int:
        return self.len

    def _generate(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, bytes):
                yield part
                continue
            while block := part.fileobj.read(BLOCK_SIZE):
                yield block

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all that is left for a negative size)."""
        buffer = [self._pending]
        have = len(self._pending)
        while size < 0 or have < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            buffer.append(chunk)
            have += len(chunk)
        data = b"".join(buffer)
        if size >= 0:
            data, self._pending = data[:size], data[size:]
        else:
            self._pending = b""
        self.bytes_read += len(data)
        if self.callback and data:
            self.callback(self)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(BLOCK_SIZE):
            yield block


def _remaining(fileobj: IO[bytes]) -> int:
    return os.fstat(fileobj.fileno()).st_size - fileobj.tell()


def _header_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class Request:
    """Sends one API call; ``connection_attempts`` > 1 retries connection failures."""

    def __init__(
        self, api_base_url: str, connection_attempts: int = 1, retry_pause: float = RETRY_PAUSE
    ):
        self.api_base_url = api_base_url
        self.connection_attempts = max(1, int(connection_attempts))
        self.retry_pause = retry_pause

    def endpoint_url(self, endpoint: str, params: Mapping[str, Any] | None = None) -> str:
        """``endpoint`` with ``{name}`` placeholders filled from ``params``, URL-quoted."""
        values = {key: quote(str(value), safe="@:") for key, value in (params or {}).items()}
        path = endpoint.strip("/").format(**values)
        return self.api_base_url.rstrip("/") + "/" + path

    def send(
        self,
        endpoint: str,
        method: str = GET,
        data: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        files: Mapping[str, Callable[[], UploadFile]] | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> requests.Response:
        """Send the call and return the response; raise the matching Copr exception.

        ``files`` maps a form field to a function opening the file, so that a retried
        upload starts again from the file's beginning.
        """
        url = self.endpoint_url(endpoint, params)
        query = {key: value for key, value in (params or {}).items() if value is not None}
        last_error: Exception | None = None
        for attempt in range(1, self.connection_attempts + 1):
            request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
            opened: list[UploadFile] = []
            try:
                kwargs: dict[str, Any] = {"params": query, "headers": request_headers}
                if auth is not None:
                    kwargs["auth"] = auth
                if files is not None:
                    fields: dict[str, str | UploadFile] = {}
                    for name, opener in files.items():
                        opened.append(opener())
                        fields[name] = opened[-1]
                    fields["json"] = json.dumps(data)
                    body = MultipartStream(fields, progress_callback)
                    request_headers["Content-Type"] = body.content_type
                    kwargs["data"] = body
                elif data is not None:
                    kwargs["json"] = data
                response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
            except requests.exceptions.ConnectionError as error:
                last_error = error
                if attempt < self.connection_attempts:
                    time.sleep(self.retry_pause)
                continue
            except requests.exceptions.RequestException as error:
                raise CoprRequestException(f"Request to {url} failed: {error}") from None
            finally:
                for upload in opened:
                    upload.fileobj.close()
            handle_errors(response)
            return response
        raise CoprRequestException(
            f"Unable to connect to {self.api_base_url}."
            + (f" ({_connection_reason(last_error)})" if last_error else "")
        )


def _connection_reason(error: Exception) -> str:
    text = str(error)
    for known in ("Connection refused", "Name or service not known", "timed out"):
        if known in text:
            return known
    return text.splitlines()[0] if text else type(error).__name__


def handle_errors(response: requests.Response) -> None:
    """Raise the Copr exception for an error response; return quietly for success."""
    try:
        body = response.json()
    except ValueError:
        if response.status_code == 504:
            message = response.reason or "Gateway Timeout"
            if response.request.method == GET:
                message += "\nConsider using pagination for large queries."
            raise CoprTimeoutException(message, response=response) from None
        raise CoprRequestException(
            "Response is not in JSON format, there is probably a bug in the API code.",
            response=response,
        ) from None

    error = body.get("error") if isinstance(body, dict) else None
    if error is None and response.status_code < 400:
        return
    message = str(error) if error is not None else f"HTTP {response.status_code}"
    status = response.status_code
    if status in (401, 403):
        raise CoprAuthException(message, response=response)
    if status == 404:
        raise CoprNoResultException(message, response=response)
    if status == 504:
        raise CoprTimeoutException(message, response=response)
    raise CoprRequestException(message, response=response)
