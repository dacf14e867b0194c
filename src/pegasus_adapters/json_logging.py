"""Structured logs: one JSON object per line, with the request id of the work in hand."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from typing import TextIO

import msgspec

from pegasus_core.log_context import REQUEST_ID

# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class _IsoTime:
    """Format a time.time() value as `2026-01-31T12:00:00.123Z`."""

    def __init__(self) -> None:
        # Many lines share a second (an access line per request): format it once.
        self._second = -1
        self._second_text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """Format records as JSON: time, level, logger, message, request_id and extras."""

    def __init__(self) -> None:
        super().__init__()
        self._time = _IsoTime()

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        entry: dict[str, object] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key[0] != "_":  # the extras, in the caller's order
                entry[key] = value
        if entry.get("request_id") is None:
            entry["request_id"] = REQUEST_ID.get()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


class JsonLineWriter:
    """Writes batches of one logger's INFO lines, shaped as JsonFormatter's, to a handler.

    For lines a service queues as it goes (the access lines of pegasus_http.request_log):
    a batch costs one encode per line and one write, where `logging` costs a LogRecord, a
    handler dispatch and a write per line. The batch goes to the handler's stream under
    the handler's lock, so lines of other loggers never land inside it. The caller checks
    the logger's level.
    """

    def __init__(self, handler: logging.StreamHandler[TextIO], logger: str) -> None:
        self._handler = handler
        self._logger = logger
        self._time = _IsoTime()

    def __call__(self, lines: Iterable[tuple[float, str, Mapping[str, object]]]) -> None:
        """Write lines given as (time.time() when logged, message, fields in their order)."""
        text = [
            msgspec.json.encode(
                {
                    "time": self._time(created),
                    "level": "info",
                    "logger": self._logger,
                    "message": message,
                    **fields,
                },
                enc_hook=str,
            ).decode()
            for created, message, fields in lines
        ]
        if not text:
            return
        text.append("")  # the last line's newline
        handler = self._handler
        handler.acquire()
        try:
            # A closed or broken stream (a shut pipe) loses the batch, as it would the lines
            # written one at a time.
            with contextlib.suppress(OSError, ValueError):
                handler.stream.write(handler.terminator.join(text))
                handler.stream.flush()
        finally:
            handler.release()


def configure_logging(
    *, level: int = logging.INFO, json: bool = True
) -> logging.StreamHandler[TextIO]:
    """Send logs to stderr, as JSON lines (services) or plain text (the CLI).

    Returns the handler, which every logger reaches through the root logger.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    if json:
        # The JSON lines never print a record's thread or process: spare every record
        # looking them up (the access log writes one record per request).
        logging.logThreads = False
        logging.logProcesses = False
        logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg's pool logs every checkout at INFO, and fontTools about 40 lines per PDF
    # export it subsets a font for: noise at service log levels.
    for noisy in ("psycopg.pool", "fontTools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return handler
