"""Log set-up: one line per event, with the context fields the core attaches
(``channel``, ``day``, ``error``…) appended as key=value, or JSON lines with
PAPERPOST_LOG_FORMAT=json (read by bot/config.py). Secrets never reach a record:
the config keeps them out of its repr and the HTTP clients redact them."""

from __future__ import annotations

import json
import logging

from paperpost.bot.config import LogFormat

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{k: str(v) for k, v in _context(record).items()},
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ReplicaName(logging.Filter):
    """Names the replica on every record, so the logs of several can be told apart."""

    def __init__(self, replica: str) -> None:
        super().__init__()
        self.replica = replica

    def filter(self, record: logging.LogRecord) -> bool:
        record.replica = self.replica
        return True


def configure_logging(
    *, verbose: bool, log_format: LogFormat = "text", replica: str | None = None
) -> None:
    handler = logging.StreamHandler()
    if replica is not None:
        handler.addFilter(ReplicaName(replica))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    # httpx logs every request URL at INFO; keep it for --verbose only.
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
