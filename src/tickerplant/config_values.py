"""How a flag's text (or a TOML string, number or date) becomes a setting's value
(``config.Setting.parse``): each a ``ValueError`` saying what is wrong."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from tickerplant.market.book.queue import queue_model
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.protocol.latency import latency_model

__all__ = [
    "latency_spec", "names", "payload_format", "positive_or_max", "queue_model_name", "time_ms",
    "time_or_listing",
]


def positive_or_max(text: str) -> float | None:
    """A rate or a speed: a positive number, or 'max' (None: as fast as it goes)."""
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError("a positive number, or 'max'")
    return value


def time_ms(value: str | date) -> int:
    """Unix milliseconds, or an ISO-8601 date/time (UTC unless it says otherwise); TOML's
    own dates and date-times too."""
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r}: not Unix ms nor an ISO date/time") from None
    if not isinstance(value, datetime):  # a date alone: its midnight
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def time_or_listing(value: str | int | date) -> int | None:
    """``listing`` (None: from each symbol's listing date), Unix ms, or a time as ``time_ms``
    reads it."""
    if value == "listing":
        return None
    if isinstance(value, int):
        return value
    return time_ms(value)


def queue_model_name(text: str) -> str:
    """One of ``market/book/queue.QUEUE_MODELS``' names (ValueError naming them)."""
    return queue_model(text).name


def latency_spec(text: str) -> str:
    """A latency model's spec (``protocol/latency.latency_model``), checked: ValueError saying
    what a spec is, or what is wrong with the file it names."""
    latency_model(text)
    return text.strip()


def payload_format(text: str | int) -> PayloadFormat:
    """``classic`` or ``2026`` (a TOML file may write the year as a number)."""
    try:
        return PayloadFormat(str(text))
    except ValueError:
        raise ValueError(f"{text!r}: classic or 2026") from None


def markets(text: str) -> tuple[str, ...]:
    """A comma-separated list of markets: ``um`` (USDⓈ-M), ``cm`` (COIN-M)."""
    chosen = names(text)
    wrong = [name for name in chosen if name not in ("um", "cm")]
    if wrong:
        raise ValueError(f"{wrong[0]!r}: um, cm or um,cm")
    return tuple(dict.fromkeys(chosen))


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list."""
    return tuple(name for name in text.split(",") if name)
