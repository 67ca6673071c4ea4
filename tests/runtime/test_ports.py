"""Ports for the native stack come from below the ephemeral range, where no outgoing connection
takes them between the pick and the bind (CI lost an Alertmanager peer's gossip port that way)."""

from __future__ import annotations

import socket

from stackgen.runtime import ports


def test_ports_are_below_the_ephemeral_range_and_never_repeat():
    start = ports._ephemeral_start()
    picked = [ports.free_port() for _ in range(200)]
    assert all(ports.LOWEST <= port < start for port in picked)
    assert len(set(picked)) == len(picked)


def test_a_port_in_use_for_udp_only_is_not_free():
    # An Alertmanager peer gossips on TCP and UDP of one port: a port bound for UDP alone must not do.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", ports.free_port()))
        port = udp.getsockname()[1]
        assert not ports._is_free(port)
    assert ports._is_free(port)
