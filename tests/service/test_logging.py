"""Log lines are JSON with the schema's keys and carry the response's request id."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime

import pytest

from .conftest import generate

REQUIRED = {"timestamp", "level", "logger", "message", "module", "function", "line", "service"}


def test_request_log_lines_are_json_with_schema_fields(client, json_logs):
    r = generate(client, **{"X-Request-ID": "trace-me-1", "X-User-ID": "user-42"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in json_logs()]
    mine = [entry for entry in lines if entry.get("request_id") == r.headers["x-request-id"]]
    assert mine, "no log line carries the response's request id"
    done = [e for e in mine if e["message"] == "request completed"]
    assert len(done) == 1
    entry = done[0]
    assert REQUIRED <= set(entry)
    assert entry["service"] == "fugatto-audio-lab" and entry["level"] == "INFO"
    assert entry["logger"] == "fugatto_lab.access" and entry["module"] == "middleware"
    assert isinstance(entry["line"], int) and entry["function"]
    assert entry["user_id"] == "user-42"
    assert (entry["method"], entry["endpoint"], entry["status"]) == ("POST", "/generate", 200)
    assert isinstance(entry["duration"], float) and entry["duration"] > 0
    stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset().total_seconds() == 0
    assert "trace_id" not in entry  # tracing is off


def test_user_id_absent_when_not_given(client, json_logs):
    r = generate(client)
    entry = [json.loads(x) for x in json_logs() if r.headers["x-request-id"] in x][-1]
    assert "user_id" not in entry


def test_each_request_gets_its_own_id(client, json_logs):
    ids = {generate(client).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    logged = {json.loads(x).get("request_id") for x in json_logs()}
    assert ids <= logged


def test_security_log_is_its_own_file(client, json_logs, tmp_path):
    client.post("/generate", json={"prompt": "", "duration_seconds": 1})
    generate(client)
    security = [json.loads(x) for x in (tmp_path / "logs" / "security.log").read_text().splitlines()]
    assert [e["event"] for e in security] == ["invalid_input"]
    assert all(REQUIRED <= set(e) for e in security)


def test_a_record_is_serialised_once_and_written_identically_everywhere(tmp_path, monkeypatch):
    """stdout, the rotating file (and its rollover check) share one serialisation per record;
    the cached line must not leak into the JSON as a field."""
    import logging

    from fugatto_lab import logging_setup

    library_formatter = logging_setup.OncePerRecordJsonFormatter.__mro__[1]  # python-json-logger's
    calls = []
    original = library_formatter.format
    monkeypatch.setattr(library_formatter, "format", lambda self, record: calls.append(record) or original(self, record))
    stream = io.StringIO()
    logging_setup.configure_logging("INFO", tmp_path, stream=stream)
    try:
        logging.getLogger("fugatto_lab.test").info("hello", extra={"answer": 42})
        logging_setup.security_log().warning("rejected", extra={"event": "probe"})
    finally:
        logging_setup.remove_handlers()
    assert len(calls) == 2  # two records, each serialised once (not 3 and 5 times)
    printed = stream.getvalue().splitlines()
    filed = (tmp_path / logging_setup.LOG_FILE).read_text().splitlines()
    assert printed == filed and len(printed) == 2
    security = (tmp_path / logging_setup.SECURITY_LOG_FILE).read_text().splitlines()
    assert security == printed[1:]
    for line in printed:
        assert not any(key.startswith("_") for key in json.loads(line))
    assert json.loads(printed[0])["answer"] == 42


@pytest.mark.parametrize("logger", ["fugatto_lab.test", "fugatto_lab.access"])
def test_log_files_rotate_at_their_size_limit(tmp_path, logger):
    """The rotating handler keeps each file under max_bytes, keeps the configured backups, and
    loses no line in between, whether its lines are flushed at once or buffered (access lines):
    it counts the bytes it writes instead of asking the file."""
    import logging

    from fugatto_lab import logging_setup

    logging_setup.configure_logging("INFO", tmp_path, stream=io.StringIO(), max_bytes=2_000, backups=3)
    try:
        for i in range(30):
            logging.getLogger(logger).info("line %d", i)
    finally:
        logging_setup.remove_handlers()
    files = [tmp_path / logging_setup.LOG_FILE, *(tmp_path / f"{logging_setup.LOG_FILE}.{n}" for n in (1, 2, 3))]
    assert all(f.exists() for f in files) and not (tmp_path / f"{logging_setup.LOG_FILE}.4").exists()
    assert all(0 < f.stat().st_size < 2_000 for f in files)
    kept = [json.loads(x)["message"] for f in reversed(files) for x in f.read_text().splitlines()]
    assert kept == [f"line {i}" for i in range(30 - len(kept), 30)] and len(kept) > 12


def test_access_lines_wait_in_the_buffer_at_most_the_flush_interval(tmp_path):
    """Access lines are left in the streams' buffers; a background thread writes them out within
    FLUSH_INTERVAL_S though no other line follows."""
    import logging

    from fugatto_lab import logging_setup

    stream = io.StringIO()
    logging_setup.configure_logging("INFO", tmp_path, stream=stream)
    try:
        logging.getLogger("fugatto_lab.test").info("first")  # flushed at once, arms the interval
        log_file = tmp_path / logging_setup.LOG_FILE
        logging.getLogger(logging_setup.ACCESS_LOGGER).info("request completed")
        assert len(log_file.read_text().splitlines()) == 1  # still buffered
        deadline = time.monotonic() + 10 * logging_setup.FLUSH_INTERVAL_S
        while len(log_file.read_text().splitlines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [json.loads(x)["message"] for x in log_file.read_text().splitlines()] == ["first", "request completed"]
    finally:
        logging_setup.remove_handlers()


@pytest.mark.parametrize("logger,level", [("fugatto_lab.test", "INFO"), ("fugatto_lab.access", "ERROR")])
def test_other_lines_flush_at_once_with_the_access_lines_before_them(tmp_path, logger, level):
    """Any line but an access line below WARNING is written immediately, and the buffered
    access lines go out with it, in order."""
    import logging

    from fugatto_lab import logging_setup

    logging_setup.configure_logging("INFO", tmp_path, stream=io.StringIO())
    try:
        access = logging.getLogger(logging_setup.ACCESS_LOGGER)
        logging.getLogger("fugatto_lab.test").info("first")
        access.info("buffered 1")
        access.info("buffered 2")
        logging.getLogger(logger).log(getattr(logging, level), "now")
        lines = (tmp_path / logging_setup.LOG_FILE).read_text().splitlines()
        assert [json.loads(x)["message"] for x in lines] == ["first", "buffered 1", "buffered 2", "now"]
    finally:
        logging_setup.remove_handlers()


def test_a_waiting_handler_whose_stream_was_closed_is_skipped(tmp_path):
    """The flusher outlives handlers: one whose stream is gone has nothing to write and must
    not stop the flushing of the others."""
    import logging

    from fugatto_lab import logging_setup

    stream = (tmp_path / "stdout.log").open("w")  # a real file: flushing it once closed raises
    logging_setup.configure_logging("INFO", tmp_path, stream=stream)
    try:
        logging.getLogger("fugatto_lab.test").info("first")
        logging.getLogger(logging_setup.ACCESS_LOGGER).info("request completed")  # buffered
        stream.close()
        logging_setup.flush_logs()  # must not raise
        lines = (tmp_path / logging_setup.LOG_FILE).read_text().splitlines()
        assert [json.loads(x)["message"] for x in lines] == ["first", "request completed"]
    finally:
        logging_setup.remove_handlers()
