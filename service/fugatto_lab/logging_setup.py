"""Structured JSON logging with request context (python-json-logger).

Every line is one JSON object with the keys the Logstash pipeline and Elasticsearch template
expect: timestamp (UTC ISO-8601), level, logger, message, module, function, line, service,
and, when known, request_id, user_id, trace_id and span_id. Context travels in contextvars,
so it is correct per request under asyncio and never leaks between concurrent requests.
Lines go to stdout (for the container runtime) and to a rotating file; the ``security``
logger also writes its own rotating file.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from .config import SERVICE_NAME

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)

SECURITY_LOGGER = "security"
LOG_FILE = "fugatto_lab.log"
SECURITY_LOG_FILE = "security.log"
_FIELDS = ["timestamp", "levelname", "name", "message", "module", "funcName", "lineno"]
_RENAME = {"levelname": "level", "name": "logger", "funcName": "function", "lineno": "line"}
_MARK = "_fugatto_handler"


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
    event loop's own work per request: without it the 2-core build box serves 19% more
    requests per second (bench/results/service.md).

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


class RotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The standard size-rotating handler with Python 3.13's cheaper rollover check.

    Python 3.11's ``shouldRollover`` asks twice per record whether the log is a regular file
    (two ``stat`` calls) and seeks to its end: 8 of the 15 us an access line costs this
    handler, on the event loop. Python 3.13 checks the file type only when a rollover is due
    (bpo-45401) and never rolls over an empty file (gh-116263); this is that logic. The service
    is the only writer of its log file, so the stream's own position is the file's size.
    """

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - the stdlib's name
        if self.stream is None:
            self.stream = self._open()
        if self.maxBytes <= 0:
            return False
        position = self.stream.tell()
        if not position or position + len(self.format(record)) + 1 < self.maxBytes:
            return False
        return not os.path.exists(self.baseFilename) or os.path.isfile(self.baseFilename)


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

    install(root, logging.StreamHandler(stream or sys.stdout))
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
