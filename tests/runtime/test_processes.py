"""How the native stack finds, stops and logs its processes: pid files, listening ports, capped logs.
Real processes on 127.0.0.1, no Prometheus needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackgen.runtime import native
from stackgen.runtime.logcap import copy
from stackgen.runtime.ports import free_port

SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]


def _state(tmp_path: Path, port: int) -> tuple[native.State, native.Component]:
    component = native.Component("web", [*SERVER, str(port)], f"http://127.0.0.1:{port}",
                                 f"http://127.0.0.1:{port}/", port=port)
    state = native.State(str(tmp_path), "drill", [component], {}, str(tmp_path / "n.jsonl"), str(tmp_path / "t"))
    state.save()
    return state, component


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not native.listeners(port):
        time.sleep(0.05)


def test_a_component_is_found_by_pid_file_then_by_its_port(tmp_path):
    port = free_port()
    state, component = _state(tmp_path, port)
    native.start(state, component)
    _wait_listening(port)
    found = native.locate(tmp_path, component)
    assert found is not None and found.how == "pid file" and found.pid == component.pid
    assert native.listeners(port) == [component.pid]
    assert json.loads((tmp_path / "state.json").read_text())["components"][0]["pid"] == component.pid
    native.stop(state, component)
    assert native.locate(tmp_path, component) is None and native.listeners(port) == []

    # Restarted by hand, with other flags: the pid file is gone, the port still says what it is.
    by_hand = subprocess.Popen([*SERVER, "--directory", str(tmp_path), str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        found = native.locate(tmp_path, component)
        assert found is not None and found.how == "port" and found.pid == by_hand.pid
        assert native.status(tmp_path)[0].health == "healthy"
        assert native.down(tmp_path) == ["web"]
        assert by_hand.wait(timeout=10) is not None and native.listeners(port) == []
    finally:
        by_hand.kill()


def test_another_program_on_the_port_is_neither_reported_nor_stopped(tmp_path):
    port = free_port()
    _, component = _state(tmp_path, port)
    stranger = subprocess.Popen([sys.executable, "-c", f"import socket,time; s=socket.socket(); "
                                 f"s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(60)"])
    try:
        _wait_listening(port)
        assert native.locate(tmp_path, component) is None
        assert native.status(tmp_path)[0].health == "stopped"
        with pytest.raises(native.StackError, match=f"port {port} \\(pid {stranger.pid}\\).*left alone"):
            native.down(tmp_path)
        assert stranger.poll() is None
    finally:
        stranger.kill()


def test_a_stale_pid_file_of_another_program_is_ignored(tmp_path):
    port = free_port()
    _, component = _state(tmp_path, port)
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "web.pid").write_text(f"{os.getpid()}\n")  # a reused pid: this test's own process
    assert native.locate(tmp_path, component) is None
    assert native.down(tmp_path) == []


def test_captured_output_is_capped_and_rotated(tmp_path):
    source = tmp_path / "source"
    source.write_bytes(b"".join(b"line %06d\n" % i for i in range(300_000)))  # 3.3 MB
    log = tmp_path / "out.log"
    with open(source, "rb") as handle:
        copy(handle.fileno(), log, max_bytes=1_000_000, backups=2)
    files = sorted(tmp_path.glob("out.log*"))
    assert [f.name for f in files] == ["out.log", "out.log.1", "out.log.2"]
    assert all(f.stat().st_size <= 1_000_000 for f in files)
    assert log.read_bytes().endswith(b"line 299999\n")  # the newest lines are kept
    assert (tmp_path / "out.log.2").read_bytes() + (tmp_path / "out.log.1").read_bytes() + log.read_bytes() \
        == source.read_bytes()[-sum(f.stat().st_size for f in files):]


def test_logcap_keeps_the_last_lines_of_a_terminated_component(tmp_path):
    port = free_port()
    state, component = _state(tmp_path, port)
    component.argv = [sys.executable, "-u", "-c", "import signal,sys,time\n"
                      "signal.signal(signal.SIGTERM, lambda *a: (print('bye'), sys.exit(0)))\n"
                      "print('hello')\ntime.sleep(60)"]
    native.start(state, component)
    time.sleep(0.5)
    native.stop(state, component)
    assert (tmp_path / "logs" / "web.log").read_text() == "hello\nbye\n"
    assert not (tmp_path / "pids" / "web.log.pid").exists()


def test_previous_notifications_are_rotated_not_truncated(tmp_path):
    path = tmp_path / "notifications.jsonl"
    for run in range(1, 8):
        native._rotate_notifications(path)
        path.write_text(f"run {run}\n")
    native._rotate_notifications(path)
    kept = {f.name: f.read_text() for f in tmp_path.glob("notifications*")}
    assert kept == {f"notifications.{i}.jsonl": f"run {8 - i}\n" for i in range(1, native.NOTIFICATIONS_KEPT + 1)}
