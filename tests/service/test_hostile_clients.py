"""A real server process against clients that misbehave on the wire: half-sent requests, huge paths.

One server for the module, with a one-second read timeout so a stalled connection is seen to close
quickly; each test opens its own connections.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from stackgen.runtime.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.live]

READ_TIMEOUT_S = 1.0
TOKEN = "hostile-clients-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Server:
    port: int
    metrics_port: int
    log_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def log_lines(self, name: str) -> list[str]:
        # Security and error lines are flushed at once; access lines within 0.2 s.
        time.sleep(0.5)
        return (self.log_dir / name).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log_dir = tmp_path_factory.mktemp("hostile") / "logs"
    srv = Server(free_port(), free_port(), log_dir)
    env = {
        **os.environ,
        "FUGATTO_LOG_DIR": str(log_dir),
        "LOG_LEVEL": "INFO",
        "FUGATTO_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "FUGATTO_FAULTS_ENABLED": "true",
        "FUGATTO_ADMIN_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fugatto_lab.server", "--port", str(srv.port), "--metrics-port", str(srv.metrics_port),
         "--device", "cpu"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx2.get(f"{srv.url}/live", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "service did not start"
            time.sleep(0.05)
        yield srv
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _wait_closed(sock: socket.socket, within: float, dribble: bytes = b"") -> float:
    """Seconds until the server closes the connection; fails if it is still open after ``within``.
    With ``dribble``, one more byte of it is sent every 0.2 s meanwhile (a slowloris)."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < within:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
        elif sent < len(dribble):
            try:
                sock.sendall(dribble[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
            sent += 1
    raise AssertionError(f"connection still open {within:.0f}s after the request began (read timeout {READ_TIMEOUT_S}s)")


PARTIAL_REQUESTS = {
    "nothing sent": b"",
    "half a request line": b"GET /li",
    "headers never end": b"GET /live HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow",
    "half a body": (b"POST /generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{\"prompt\": \"be"),
}


@pytest.mark.parametrize("sent", PARTIAL_REQUESTS.values(), ids=PARTIAL_REQUESTS.keys())
def test_a_half_sent_request_is_disconnected_after_the_read_timeout(server, sent):
    with server.connect() as sock:
        sock.sendall(sent)
        elapsed = _wait_closed(sock, within=READ_TIMEOUT_S + 4)
    assert elapsed >= READ_TIMEOUT_S * 0.8, f"closed after {elapsed:.2f}s, before the timeout"


def test_a_slowloris_trickling_bytes_does_not_extend_the_deadline(server):
    request = b"GET /live HTTP/1.1\r\nHost: localhost\r\n" + b"X-Padding: " + b"a" * 200
    with server.connect() as sock:
        elapsed = _wait_closed(sock, within=READ_TIMEOUT_S + 4, dribble=request)
    assert READ_TIMEOUT_S * 0.8 <= elapsed < READ_TIMEOUT_S + 1.5


def test_the_read_timeout_is_a_security_event(server):
    with server.connect() as sock:
        sock.sendall(PARTIAL_REQUESTS["half a body"])
        _wait_closed(sock, within=READ_TIMEOUT_S + 4)
    events = [json.loads(line) for line in server.log_lines("security.log")]
    timeouts = [e for e in events if e.get("event") == "read_timeout"]
    assert timeouts and timeouts[-1]["phase"] == "body" and timeouts[-1]["client_ip"] == "127.0.0.1"
    assert timeouts[-1]["timeout_s"] == READ_TIMEOUT_S


def test_slow_answers_and_kept_alive_connections_are_not_cut(server):
    """The deadline covers receiving a request, not the time to answer it or the wait between requests."""
    with httpx2.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/admin/faults", json={"latency_seconds": READ_TIMEOUT_S * 2}, headers=AUTH).status_code == 200
        try:
            started = time.monotonic()
            r = client.post("/generate", json={"prompt": "bell", "duration_seconds": 0.1})
            assert time.monotonic() - started >= READ_TIMEOUT_S * 2
            assert r.status_code in (200, 503), r.text  # 503 while the model is still loading
            assert r.headers["x-request-id"]
        finally:
            client.delete("/admin/faults", headers=AUTH)
        time.sleep(READ_TIMEOUT_S * 1.5)  # idle on a kept-alive connection: uvicorn's keep-alive (5 s) governs
        assert client.get("/live").status_code == 200


def test_a_huge_path_is_logged_truncated(server):
    path = "/" + "a" * 60_000
    r = httpx2.post(server.url + path, content=b"x" * 20_000, timeout=10)
    assert r.status_code == 413
    security = server.log_lines("security.log")
    rejected = [line for line in security if '"body_too_large"' in line]
    assert rejected, security[-5:]
    record = json.loads(rejected[-1])
    assert len(rejected[-1]) < 3_000, f"security line is {len(rejected[-1])} characters"
    assert record["path"].startswith("/aaaa") and "[58977 chars truncated]" in record["path"]
    assert all(len(line) < 3_000 for line in security + server.log_lines("fugatto_lab.log"))


def test_admin_faults_has_its_own_endpoint_label(server):
    assert httpx2.get(f"{server.url}/admin/faults", headers=AUTH).status_code == 200
    assert httpx2.get(f"{server.url}/admin/faults").status_code == 401
    assert httpx2.put(f"{server.url}/admin/faults", headers=AUTH).status_code == 405
    text = httpx2.get(f"http://127.0.0.1:{server.metrics_port}/metrics").text
    for line in ('fugatto_requests_total{endpoint="/admin/faults",method="GET",status="200"} 1.0',
                 'fugatto_requests_total{endpoint="/admin/faults",method="GET",status="401"} 1.0',
                 'fugatto_requests_total{endpoint="/admin/faults",method="other",status="405"} 1.0'):
        assert line in text, [x for x in text.splitlines() if x.startswith("fugatto_requests_total")]


def test_oversized_headers_get_431_and_the_connection_closes(server):
    """httptools buffers a request's head without limit; the service caps it (64 KiB by default)."""
    with server.connect() as sock:
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: localhost\r\n")
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(10_000):  # 80 MB unless the server hangs up
                sock.sendall(b"X-Filler: " + b"f" * 8_000 + b"\r\n")
        sock.settimeout(2)
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b"(reset)"  # the 431 can be lost when unread request bytes make the close a reset
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"(reset)", answer[:200]
    events = [json.loads(line) for line in server.log_lines("security.log")]
    assert any(e.get("event") == "headers_too_large" and e["limit_bytes"] == 64 * 1024 for e in events)


def test_a_burst_of_pipelined_requests_is_not_one_large_head(server):
    """Many small requests arriving in one read are many heads, each well under the cap."""
    count = 3_000  # about 100 KB in one sendall
    with server.connect() as sock:
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: localhost\r\n\r\n" * count)
        received = b""
        sock.settimeout(10)
        while received.count(b"HTTP/1.1 200 OK") < count:
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {received.count(b'HTTP/1.1 200 OK')} of {count} answers"
            received += chunk
    assert b" 431 " not in received
