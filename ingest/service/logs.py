"""Logging set-up: plain lines for people, JSON lines with fixed keys for log shippers."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Context keys framewatch attaches with `extra=`; always present in JSON lines.
FIXED_KEYS = ("source", "url", "article_id", "story")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIXED_KEYS:
            line[key] = getattr(record, key, None)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{key}={getattr(record, key)}" for key in FIXED_KEYS if getattr(record, key, None)
        )
        line = super().format(record)
        return f"{line} [{context}]" if context else line


class SkippedRunFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": a poll
    that outlasts its tick is skipped by design (``max_instances=1``), and the catch-up
    poll after an outage would otherwise add a line per tick."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def configure_logging(level: int, fmt: str = "text") -> None:
    """Replace any earlier handlers (the CLI may configure twice) with one on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SkippedRunFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' chatter (per-request lines) is noise at the service's INFO level.
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
