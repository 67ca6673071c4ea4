"""Free loopback ports for the native stack, picked where no outgoing connection can take them.

Binding port 0 hands out a port from the kernel's ephemeral range, the same range every outgoing
connection (a scrape, a gossip dial, a pip download) takes its local port from. Between picking a
port and the component binding it, one of those connections can take it: CI once lost an
Alertmanager peer to "bind: address already in use" that way. Ports below the ephemeral range are
never handed to outgoing connections, so a port found free there stays free until someone listens.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10000  # above the well-known and most registered ports that services listen on by default

_given: set[int] = set()  # this process never hands out a port twice, even before it is bound


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _is_free(port: int) -> bool:
    """Free for TCP and UDP: an Alertmanager peer listens on both (memberlist gossip)."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A loopback port nobody listens on, outside the ephemeral range. Random, so that two processes
    picking at once (pytest -n 2) almost never pick the same one."""
    highest = _ephemeral_start() - 1
    if highest <= LOWEST:  # a system whose ephemeral range starts low: fall back to the kernel's pick
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for _ in range(1000):
        port = random.randint(LOWEST, highest)  # noqa: S311 (not a secret)
        if port not in _given and _is_free(port):
            _given.add(port)
            return port
    raise OSError(f"no free loopback port between {LOWEST} and {highest}")
