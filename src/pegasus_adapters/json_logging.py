"""Structured logs: one JSON object per line, with the request id of the work in hand."""

from __future__ import annotations

import logging
import sys
import time

import msgspec

from pegasus_core.log_context import REQUEST_ID

# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Format records as JSON: time, level, logger, message, request_id and extras."""

    def __init__(self) -> None:
        super().__init__()
        # Many records share a second (an access line per request): format it once.
        self._second = -1
        self._second_text = ""

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

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"


def configure_logging(*, level: int = logging.INFO, json: bool = True) -> None:
    """Send logs to stderr, as JSON lines (services) or plain text (the CLI)."""
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
