"""Logging set-up: JSON lines for machines, readable lines for people.

JSON when stderr is not a terminal (a container, systemd, a log shipper), plain
text when it is; ``HOOKPOST_LOG_FORMAT=json|text`` forces one. Every line of a
run has the one format: ``hookpost serve``'s start-up lines are log records, and
uvicorn's own lines go through the same handler (``log_config=None``). Health
probes log nothing at info: no access log, and Alembic's per-connection notes
are held to warnings. Records carry ids as structured fields (``extra={...}``); no
secrets and no bodies are ever logged. When tracing is on (``hookpost[otel]`` and a
tracer provider), a line written inside a span carries its ``trace_id`` and ``span_id``
(the W3C hex forms a trace backend searches by), uvicorn's lines included: the handler
adds them, whoever logged.

A failure that repeats on every request (the database is down) goes through a
:class:`Throttle`: one line when it starts, then at most one line per interval
saying how many more there were. Logging a traceback per failed request wrote
5.5 MB in 10 s of a PostgreSQL outage at 50 publishes/s and buried everything else.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from hookpost.tracing import current_ids

#: Attributes of every LogRecord; anything else was passed with ``extra=``
#: (but uvicorn's ``color_message``, the same text with terminal colours).
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TraceIds(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the active span to each record (if any)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        if ids is not None and not hasattr(record, "trace_id"):
            record.trace_id, record.span_id = ids
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = {
            k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        }
        if extra:
            base += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return base


#: Libraries whose INFO lines say nothing an operator needs: Alembic announces its
#: dialect ("Context impl SQLiteImpl.") every time a migration context is made,
#: which /readyz does on every probe.
_QUIET = ("alembic",)
#: uvicorn's loggers: with ``log_config=None`` uvicorn adds no handler of its own,
#: and these propagate to the root handler, so its lines share hookpost's format.
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def wants_json(log_format: str = "auto") -> bool:
    """``json`` or ``text`` as asked; ``auto``: JSON unless stderr is a terminal."""
    if log_format not in ("auto", "json", "text"):
        raise ValueError(f"log format {log_format!r}: use auto, json or text")
    if log_format == "auto":
        return not sys.stderr.isatty()
    return log_format == "json"


def setup_logging(
    level: str = "info", json_lines: bool | None = None, *, log_format: str = "auto"
) -> bool:
    """One handler on the root logger for every line of the process; returns whether it is JSON.

    ``json_lines`` (when given) wins over ``log_format`` (``HOOKPOST_LOG_FORMAT``).
    """
    if json_lines is None:
        json_lines = wants_json(log_format)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(TraceIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return json_lines


class Throttle:
    """At most one log line per ``interval`` seconds for a repeating condition.

    :meth:`allow` says whether to log now and how many occurrences were held
    back since the last line (so the line can say "and 37 more"); :meth:`clear`
    ends the condition and returns how many occurrences it had in all.
    """

    def __init__(self, interval: float, now: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._now = now
        self._last: float | None = None
        self._held = 0
        self._total = 0

    def allow(self) -> tuple[bool, int]:
        self._total += 1
        at = self._now()
        if self._last is not None and at - self._last < self.interval:
            self._held += 1
            return False, 0
        held, self._held, self._last = self._held, 0, at
        return True, held

    @property
    def active(self) -> bool:
        return self._total > 0

    def clear(self) -> int:
        total, self._total, self._held, self._last = self._total, 0, 0, None
        return total
