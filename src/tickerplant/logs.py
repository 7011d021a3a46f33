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

What a command tells its operator (the start-up banner: what it serves and where; a
process of ``serve --workers`` saying it serves; why a replay ended) goes through ``say``,
on stdout in either format: lines of text, or one JSON record of the ``tickerplant`` logger
(INFO, whatever ``--log-level``) whose fields carry what the lines say (``um_url``, …).

In the JSON format nothing a process writes is anything else: ``setup`` routes Python's
own reports through the log (an uncaught exception in the main thread or another, an
exception it cannot raise, a warning), ``exits_logged`` a command's refusal ("cannot
start: …", which Python would print as text), and ``json_line`` wraps whatever line of a
child process is not a JSON record (``scaleout/supervisor.py``). A command's results are
not log lines and keep their form: ``accounts`` printing a key, ``tls init`` its files,
``record`` the files it wrote, ``watch`` and ``book`` their display (docs/cli.md).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = [
    "FORMATS", "LEVELS", "STRUCTURED_FIELDS", "Field", "JsonFormatter", "TextFormatter", "WarningBudget",
    "exits_logged", "json_line", "said", "said_text", "say", "setup",
]  # fmt: skip

FORMATS = ("text", "json")
# the record attributes a JSON line carries when a record has them (``extra=``)
STRUCTURED_FIELDS = (
    "connection", "peer", "market", "surface", "stream", "code", "reason", "suppressed",
    "fault", "where", "symbol", "account",  # a fault of the profile (gateway/fault_gate.py)
)  # fmt: skip
Field = str | int | float | bool
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
        line.update(getattr(record, "fields", None) or {})  # ``say``'s and ``json_line``'s own
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


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # what --log-level takes


def setup(level: str, log_format: str) -> None:
    """The root logger at ``level``, writing ``log_format`` lines to stderr, with the budget;
    in the JSON format, Python's own reports through it too."""
    if log_format not in FORMATS:
        raise ValueError(f"a log format is one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(WarningBudget())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # picows logs each client connection's opening and closing at INFO (``picows.client``:
    # a recorder's, a relay's, watch's): a line per connection the operator did not ask for,
    # as the listeners' own are (gateway/server.py). Shown under --log-level debug.
    if level.upper() != "DEBUG":
        logging.getLogger("picows.client").setLevel(logging.WARNING)
    _AS_JSON[0] = log_format == "json"
    if _AS_JSON[0]:
        sys.excepthook = _uncaught
        threading.excepthook = _uncaught_in_thread
        sys.unraisablehook = _unraisable
        logging.captureWarnings(True)  # the ``py.warnings`` logger


def _uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    _SAID.critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as Python's own hook: a thread's SystemExit ends it quietly
        return
    name = args.thread.name if args.thread is not None else "?"
    info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    _SAID.critical("uncaught %s in thread %s", args.exc_type.__name__, name, exc_info=info)


def _unraisable(unraisable: Any) -> None:
    kind = unraisable.exc_type
    info = (kind, unraisable.exc_value or kind(), unraisable.exc_traceback)
    about = unraisable.err_msg or "Exception ignored in"
    _SAID.error("%s: %r", about, unraisable.object, exc_info=info)


@contextlib.contextmanager
def exits_logged() -> Iterator[None]:
    """A command's refusal, ``SystemExit`` with a message, ends the process with status 1 as
    Python ends it; in the JSON format its message is an ERROR record, not a line of text."""
    try:
        yield
    except SystemExit as exc:
        if not _AS_JSON[0] or exc.code is None or isinstance(exc.code, int):
            raise
        _SAID.error("%s", exc.code)
        raise SystemExit(1) from None


def said(message: str, **fields: Field | None) -> str:
    """One notice in the JSON format: a record of the ``tickerplant`` logger at INFO with
    ``message`` and the ``fields`` that are not None."""
    record = _SAID.makeRecord(_SAID.name, logging.INFO, __file__, 0, message, (), None)
    record.fields = {name: value for name, value in fields.items() if value is not None}
    return JsonFormatter().format(record)


def say(message: str, *, lines: tuple[str, ...] = (), **fields: Field | None) -> None:
    """Tell the operator, on stdout: ``message`` then ``lines`` in the text format; in the
    JSON format one record (``said``), ``message`` with ``fields``, whatever the level."""
    text = "\n".join((message, *lines)) if not _AS_JSON[0] else said(message, **fields)
    print(text, flush=True)


def said_text(line: bytes, as_json: bool) -> str:
    """What a line of ``say``'s, read back from another process, says: the line, or in the
    JSON format its record's message ("" for a line that is no record)."""
    text = line.decode(errors="replace")
    if not as_json:
        return text
    try:
        record = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return ""
    message = record.get("message") if isinstance(record, dict) else None
    return message if isinstance(message, str) else ""


def json_line(line: bytes, logger: str, level: int, **fields: Field) -> bytes:
    """``line`` if it is one JSON object; else a record of ``logger`` at ``level`` with the
    line's text as its message, and ``fields``: what another process wrote, made a JSON line."""
    text = line.decode(errors="replace").rstrip("\r\n")
    try:
        if isinstance(msgspec.json.decode(text), dict):
            return text.encode() + b"\n"
    except msgspec.DecodeError:
        pass
    record = logging.getLogger(logger).makeRecord(logger, level, __file__, 0, text, (), None)
    record.fields = fields
    return JsonFormatter().format(record).encode() + b"\n"
