"""`stackgen preview --serve`: the page on 127.0.0.1, drawn again from the live Prometheus on each page load.

http.server in a daemon thread: one user, a handful of requests a load, no dependency. A lock keeps two loads
from drawing into the same folder at once; the PNGs a page links are the ones its own load drew.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {".html": "text/html; charset=utf-8", ".png": "image/png"}


def start(render: Callable[[], Path], port: int = 0, host: str = "127.0.0.1") -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve what `render()` draws (it returns the folder holding index.html and the PNGs); port 0 picks a free one."""
    lock = threading.Lock()
    folder: list[Path] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            name = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            with lock:
                if name == "index.html" or not folder:
                    try:
                        folder[:] = [render()]
                    except Exception as exc:  # noqa: BLE001 - the page says what failed instead of a dead socket
                        return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"preview failed: {exc}\n".encode(), ".txt")
                path = folder[0] / name
            if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
                return self._send(HTTPStatus.NOT_FOUND, b"not found\n", ".txt")
            return self._send(HTTPStatus.OK, path.read_bytes(), path.suffix)

        def _send(self, status: HTTPStatus, body: bytes, suffix: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", TYPES.get(suffix, "text/plain; charset=utf-8"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")  # each load shows the latest data
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: the command prints its address
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="stackgen-preview", daemon=True)
    thread.start()
    return server, thread
