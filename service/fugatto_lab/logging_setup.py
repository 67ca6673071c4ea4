"""Structured JSON logging with request context (python-json-logger).

Every line is one JSON object with the keys the Logstash pipeline and Elasticsearch template
expect: timestamp (UTC ISO-8601), level, logger, message, module, function, line, service,
and, when known, request_id, user_id, trace_id and span_id. Context travels in contextvars,
so it is correct per request under asyncio and never leaks between concurrent requests.
Lines go to stdout (for the container runtime) and to a rotating file; the ``security``
logger also writes its own rotating file.

The access log's line per request is written into the streams' buffers and flushed at most
FLUSH_INTERVAL_S later (by the next line, or by a background thread when the service goes
quiet); every other line, and anything at WARNING or above, is flushed at once, as is whatever
was buffered before it. Flushing each access line cost two or three system calls per request
on the event loop, each a chance for the batch worker to take the GIL: 2-core build box, 32
clients, median of 6 alternating rounds, 2568 -> 2746 req/s; per request the event loop's CPU
went 294 -> 280 us and the worker's 322 -> 292 us (bench/results/service.md). A line waits at
most FLUSH_INTERVAL_S; a service killed outright loses at most that much of its access log.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from .config import SERVICE_NAME

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)

SECURITY_LOGGER = "security"
ACCESS_LOGGER = "fugatto_lab.access"  # one INFO line per request: the only lines left buffered
FLUSH_INTERVAL_S = 0.2  # how long an access line may wait in a buffer
LOG_FILE = "fugatto_lab.log"
SECURITY_LOG_FILE = "security.log"
_FIELDS = ["timestamp", "levelname", "name", "message", "module", "funcName", "lineno"]
_RENAME = {"levelname": "level", "name": "logger", "funcName": "function", "lineno": "line"}
_MARK = "_fugatto_handler"
# The most characters of one logged string kept (half from its start, half from its end), so one
# hostile request (a 60 KB path) makes one short line, not a line that rotates the log away; a
# traceback keeps more.
FIELD_MAX_CHARS = 1024
TRACE_MAX_CHARS = 8192
_TRACE_FIELDS = frozenset({"exc_info", "stack_info"})


class ContextFilter(logging.Filter):
    """Adds request and trace identifiers from the current context to each record."""

    def __init__(self, tracing: bool = False) -> None:
        super().__init__()
        self._current_span = None
        if tracing:  # looked up once here, not on every record
            from opentelemetry import trace

            self._current_span = trace.get_current_span

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        user_id = user_id_var.get()
        if user_id is not None and not hasattr(record, "user_id"):
            record.user_id = user_id
        if self._current_span is not None:
            ctx = self._current_span().get_span_context()
            if ctx.is_valid:
                record.trace_id = format(ctx.trace_id, "032x")
                record.span_id = format(ctx.span_id, "016x")
        return True


class OncePerRecordJsonFormatter(OrjsonFormatter):
    """python-json-logger's formatter, serialising each record once however many handlers
    write it.

    Its orjson backend, not the stdlib ``json`` one: the same fields and values, compact and
    UTF-8, formatted in 5.4 instead of 10.8 us. The access log line is the largest part of the
    event loop's own work per request: without it (LOG_LEVEL=WARNING) the 2-core build box
    serves 27% more requests per second (bench/results/service.md).

    A request's log line goes to stdout and to the rotating file, whose rollover check formats
    the record again: three serialisations of the same record, on the event loop, for every
    request (63-78 -> 33-36 us per access-log line on the 2-core build box). Handlers that
    share this formatter reuse the first result, which is kept on the record under a reserved
    name so it never becomes a field.
    """

    _CACHE = "_fugatto_json_line"

    def __init__(self) -> None:
        super().__init__(
            _FIELDS,
            rename_fields=_RENAME,
            timestamp=True,
            static_fields={"service": SERVICE_NAME},
            reserved_attrs=[*RESERVED_ATTRS, self._CACHE],
        )

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get(self._CACHE)
        if cached is not None and cached[0] is self:
            return cached[1]
        line = super().format(record)
        record.__dict__[self._CACHE] = (self, line)
        return line

    def serialize_log_record(self, log_data: dict[str, object]) -> str:
        line = super().serialize_log_record(log_data)
        # No value is longer than its line, so a short line needs no look at its values: one
        # len() per record, and the capping walk only for the rare long one.
        if len(line) <= FIELD_MAX_CHARS:
            return line
        capped = {k: _cap(v, TRACE_MAX_CHARS if k in _TRACE_FIELDS else FIELD_MAX_CHARS) for k, v in log_data.items()}
        return super().serialize_log_record(capped)


def _cap(value: object, limit: int) -> object:
    """``value`` with every string in it cut to ``limit`` characters around a visible marker."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        keep = limit // 2
        return f"{value[:keep]}...[{len(value) - 2 * keep} chars truncated]...{value[-keep:]}"
    if isinstance(value, list | tuple):
        return [_cap(item, limit) for item in value]
    if isinstance(value, dict):
        return {k: _cap(v, limit) for k, v in value.items()}
    return value


class _BufferedLines:
    """Mixin for stream handlers: access lines stay in the stream's buffer for up to
    FLUSH_INTERVAL_S (see the module notes); any other line flushes at once."""

    _flush_due = 0.0

    def _written(self, record: logging.LogRecord) -> None:
        if record.name != ACCESS_LOGGER or record.levelno >= logging.WARNING or time.monotonic() >= self._flush_due:
            self.flush()
        else:
            _FLUSHER.watch(self)

    def flush(self) -> None:
        super().flush()
        self._flush_due = time.monotonic() + FLUSH_INTERVAL_S


class StreamHandler(_BufferedLines, logging.StreamHandler):
    """The stdlib's stream handler, with buffered access lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            self._written(record)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - the stdlib's contract: report, never raise into the caller
            self.handleError(record)


class RotatingFileHandler(_BufferedLines, logging.handlers.RotatingFileHandler):
    """The standard size-rotating handler, with buffered access lines and a rollover check
    that costs no system call.

    The stdlib's check asks the stream for its position, which flushes it (and Python 3.11
    also stats the file twice): the handler counts the bytes it writes instead. It is the
    only writer of its file, so the count is the file's size.
    """

    _size = 0

    def _open(self):  # noqa: ANN202 - the stdlib's signature
        stream = super()._open()
        self._size = os.fstat(stream.fileno()).st_size
        return stream

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - the stdlib's name
        # Python 3.13's order (bpo-45401, gh-116263): never roll over an empty file, and look
        # at the file's type only when a rollover is due.
        if self.maxBytes <= 0 or not self._size or self._size + len(self.format(record)) + 1 < self.maxBytes:
            return False
        return not os.path.exists(self.baseFilename) or os.path.isfile(self.baseFilename)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            if self.shouldRollover(record):
                self.doRollover()
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(line)
            self._size += len(line.encode(self.encoding or "utf-8"))
            self._written(record)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - the stdlib's contract: report, never raise into the caller
            self.handleError(record)


class _Flusher:
    """One daemon thread that flushes handlers holding access lines once FLUSH_INTERVAL_S has
    passed, so a line never waits for the next request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[logging.Handler] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, handler: logging.Handler) -> None:
        if handler in self._waiting:  # unlocked read: a miss only costs the locked path below
            return
        with self._lock:
            self._waiting.add(handler)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="log-flusher", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush_all(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, set()
        for handler in waiting:
            try:
                handler.flush()
            except (OSError, ValueError):  # its stream was closed meanwhile: nothing left to write
                pass

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(FLUSH_INTERVAL_S)
            self.flush_all()


_FLUSHER = _Flusher()


def flush_logs() -> None:
    """Write out every buffered access line now (tests; shutdown flushes by itself)."""
    _FLUSHER.flush_all()


def configure_logging(
    level: str = "INFO",
    log_dir: Path | None = Path("logs"),
    *,
    tracing: bool = False,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    stream: object = None,
) -> None:
    """Install the JSON handlers; calling it again replaces them (tests build many apps)."""
    root = logging.getLogger()
    security = logging.getLogger(SECURITY_LOGGER)
    for logger in (root, security):
        for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
            logger.removeHandler(handler)
            handler.close()
    context = ContextFilter(tracing=tracing)
    formatter = OncePerRecordJsonFormatter()  # shared, so each record is serialised once

    def install(logger: logging.Logger, handler: logging.Handler) -> None:
        handler.setFormatter(formatter)
        handler.addFilter(context)
        setattr(handler, _MARK, True)
        logger.addHandler(handler)

    install(root, StreamHandler(stream or sys.stdout))
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        install(
            root,
            RotatingFileHandler(log_dir / LOG_FILE, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"),
        )
        install(
            security,
            RotatingFileHandler(
                log_dir / SECURITY_LOG_FILE, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            ),
        )
    root.setLevel(level.upper())
    # Security events are kept even when the service runs at WARNING.
    security.setLevel(logging.INFO)
    # uvicorn's own loggers propagate into ours; its access log is replaced by our request log.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def remove_handlers() -> None:
    """Undo :func:`configure_logging` (tests install handlers per test)."""
    for logger in (logging.getLogger(), logging.getLogger(SECURITY_LOGGER)):
        for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
            logger.removeHandler(handler)
            handler.close()


def security_log() -> logging.Logger:
    return logging.getLogger(SECURITY_LOGGER)
