"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol with two bounds on receiving a request.

uvicorn closes a connection that idles *between* requests (``timeout_keep_alive``) but never one
that stalls *inside* one: a client that sends half a request line, or its headers and half a body,
then nothing, or a byte a second, holds its connection (and, once the headers are in, a task
waiting for the body) for ever. And with httptools, unlike h11, the request line and headers are
buffered without limit: the process grows by whatever a client sends.

So each request must arrive whole within ``read_timeout_s`` of its first byte (for a connection's
first request, of the connection), and its head (request line and headers) must stay within
``max_header_bytes``; otherwise the connection is closed, with a 431 for the latter, and a
security log line says why. While uvicorn itself has stopped reading (a pipelined request waits
for the one before it) the deadline moves on: that wait is the server's, not the client's.

Per request this costs a clock read when it begins and a few attribute updates; one sweep, every
``SWEEP_EVERY`` of the timeout, looks at every open connection, so a stalled request is closed
within ``read_timeout_s * (1 + SWEEP_EVERY)``. A timer per request, as uvicorn's keep-alive uses,
would cost more than all of that again: arming and cancelling a uvloop timer is a C allocation
and two libuv calls on the event loop, for every request, to catch the rare one that stalls.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .logging_setup import security_log

SWEEP_EVERY = 0.1  # of the read timeout
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\nRequest header fields too large"
)


class BoundedReadProtocol(HttpToolsProtocol):
    """Subclassed per server by :func:`bounded_http_protocol`, which sets the two bounds."""

    read_timeout_s: ClassVar[float]
    max_header_bytes: ClassVar[int]
    _sweep: ClassVar[asyncio.TimerHandle | None] = None
    _reading_since: float | None = None  # loop time the request being received began; None between requests
    _in_head = True  # receiving a request line and headers, or waiting for the next request's
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._reading_since = self.loop.time()
        cls = type(self)
        if cls._sweep is None:
            cls._sweep = self.loop.call_later(cls.read_timeout_s * SWEEP_EVERY, cls._sweep_stalled, self.loop, self.connections)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Checked after parsing, when callbacks have reset the count for a request whose head ended
        # inside ``data``: a burst of small pipelined requests is not one large head.
        if self._in_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._reject("headers_too_large", "request headers too large", limit_bytes=self.max_header_bytes)
            if self.cycle is None or self.cycle.response_complete:  # never into the middle of another response
                self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._reading_since is None:  # a connection's first request is timed from the connection
            self._reading_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_since = None
        self._in_head = True
        self._head_bytes = 0

    @classmethod
    def _sweep_stalled(cls, loop: asyncio.AbstractEventLoop, connections: set[asyncio.Protocol]) -> None:
        now = loop.time()
        for conn in list(connections):
            since = getattr(conn, "_reading_since", None)
            if since is not None and now - since >= cls.read_timeout_s:
                conn._read_timed_out(now)  # type: ignore[attr-defined]
        # Stops with the last connection; the next one starts it again.
        cls._sweep = None
        if connections:
            cls._sweep = loop.call_later(cls.read_timeout_s * SWEEP_EVERY, cls._sweep_stalled, loop, connections)

    def _read_timed_out(self, now: float) -> None:
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            self._reading_since = now
            return
        self._reading_since = None
        self._reject("read_timeout", "request read timed out", phase="headers" if self._in_head else "body",
                     timeout_s=self.read_timeout_s)
        self.transport.close()

    def _reject(self, event: str, message: str, **details: object) -> None:
        security_log().warning(
            message, extra={"event": event, "client_ip": self.client[0] if self.client else None, **details}
        )


def bounded_http_protocol(read_timeout_s: float, max_header_bytes: int) -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, which makes one instance per connection."""
    return type(
        "BoundedReadProtocol",
        (BoundedReadProtocol,),
        {"read_timeout_s": read_timeout_s, "max_header_bytes": max_header_bytes},
    )
