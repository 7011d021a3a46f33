"""How the command line writes its log: text lines or JSON lines, and a budget for
warnings that repeat.

``--log-format json`` writes one JSON object a line: ``timestamp`` (ISO 8601, UTC, ms),
``level``, ``logger``, ``message``, and the structured fields a record was given with
``extra=`` (``STRUCTURED_FIELDS``: the connection, its peer, the stream, the close code,
…), so that a log pipeline filters on them instead of parsing the message.

``WarningBudget`` lets ``per_interval`` warnings (and errors) of one kind through per
``interval_s``; a kind is the logger and the message's template (``record.msg``, before
its arguments), the code's own text. What it holds back is counted, and the next record
of that kind let through says how many (``suppressed``; the text format appends "(N more
like it were not logged)"). So a relay whose upstream is down, a replay's unreadable rows
or a failing source cannot fill the disk. The listeners keep their own, finer budgets per
client-caused kind (``gateway/log_budget.py``). Time is each record's own ``created``.

What a command tells its operator (the start-up banner: its URLs; why a replay ended) goes
through ``say``: lines on stdout in the text format, and in the JSON format one record of
the ``tickerplant`` logger (INFO, whatever ``--log-level``), so that a log collector merging
stdout and stderr reads nothing but JSON lines.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["FORMATS", "STRUCTURED_FIELDS", "JsonFormatter", "TextFormatter", "WarningBudget", "say", "setup"]

FORMATS = ("text", "json")
# the record attributes a JSON line carries when a record has them (``extra=``)
STRUCTURED_FIELDS = ("connection", "peer", "market", "surface", "stream", "code", "reason", "suppressed")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MAX_KINDS = 1024  # kinds tracked before the table starts over: a bound on f-string messages
_SAID = logging.getLogger("tickerplant")
_AS_JSON: list[bool] = [False]  # the format ``setup`` chose: where ``say`` writes


def _held_note(record: logging.LogRecord) -> str:
    held = getattr(record, "suppressed", 0)
    return f" ({held} more like it were not logged)" if held else ""


class TextFormatter(logging.Formatter):
    """The classic line, and the budget's note when records were held back before it."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        note = _held_note(record)
        if not note:
            return line
        head, newline, rest = line.partition("\n")  # a traceback follows the message
        return f"{head}{note}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in STRUCTURED_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value if isinstance(value, (int, float, str, bool)) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


class WarningBudget(logging.Filter):
    """At most ``per_interval`` records at WARNING or above of one kind per ``interval_s``."""

    def __init__(self, per_interval: int = 10, interval_s: float = 10.0) -> None:
        super().__init__()
        if per_interval <= 0 or interval_s <= 0:
            raise ValueError("a log budget must allow something per positive interval")
        self.per_interval = per_interval
        self.interval_s = interval_s
        self._windows: dict[tuple[str, str], tuple[float, int, int]] = {}  # kind -> (start, spent, held)
        self.suppressed = 0  # records held back, ever
        _BUDGETS.append(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, str(record.msg))
        windows = self._windows
        start, spent, held = windows.get(kind, (-1.0, 0, 0))
        if record.created - start >= self.interval_s:
            start, spent = record.created, 0
        if spent >= self.per_interval:
            windows[kind] = (start, spent, held + 1)
            self.suppressed += 1
            return False
        if len(windows) >= _MAX_KINDS and kind not in windows:
            windows.clear()
        windows[kind] = (start, spent + 1, 0)
        if held:
            record.suppressed = held
        return True


_BUDGETS: list[WarningBudget] = []  # every budget made (one per setup: a handful at most)


def suppressed() -> int:
    """Warnings the process' budgets held back, ever (``tickerplant_log_suppressed``)."""
    return sum(budget.suppressed for budget in _BUDGETS)


def setup(level: str, log_format: str) -> None:
    """The root logger at ``level``, writing ``log_format`` lines to stderr, with the budget."""
    if log_format not in FORMATS:
        raise ValueError(f"a log format is one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(WarningBudget())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    _AS_JSON[0] = log_format == "json"


def say(*lines: str) -> None:
    """Tell the operator ``lines``: on stdout in the text format; in the JSON format as one
    INFO record (its message the lines joined by newlines), logged whatever the level."""
    if not _AS_JSON[0]:
        print(*lines, sep="\n", flush=True)
        return
    record = _SAID.makeRecord(_SAID.name, logging.INFO, __file__, 0, "\n".join(lines), (), None)
    for handler in logging.getLogger().handlers:
        if record.levelno >= handler.level:
            handler.handle(record)
    sys.stderr.flush()
