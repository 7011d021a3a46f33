"""The user data stream's names on a stream connection (trading spec part 4 §2).

A connection asks for a listen key's events in one of the forms clients use (part 4 §2.2,
§2.3, overview decision 2), each of which comes down to subscription names:

- ``<listenKey>``: every event of the key (``/ws/<k>``, ``/private/ws/<k>``,
  ``/stream?streams=<k>``, ``SUBSCRIBE ["<k>"]``, ``?listenKey=<k>`` without ``events``);
- ``<listenKey>@<EVENT>``: that event only (``?listenKey=<k>&events=A/B``, each key followed
  by its own ``events``; ``SUBSCRIBE ["<k>@A"]``; ``/stream?streams=<k>@A``).

The combined wrapper's ``stream`` echoes the name that matched (part 4 §6 Unresolved 4):
``"<k>"`` for a bare key, ``"<k>@<EVENT>"`` for an event item. An event name outside
``EVENTS`` is accepted and never delivers (unicorn asks for ``ALGO_ORDER_UPDATE``, §2.2);
``listenKeyExpired`` is always delivered, once, to every connection holding one of the key's
names, bare or by event (Unresolved 6).

A listen key is a bearer credential (§1.1): these names are never logged, and a name that
is none of them but holds a key's run of characters (a key sent with a stray newline,
``<key>@``) is logged ``withheld``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = [
    "EVENTS", "EXPIRED", "LISTEN_KEY", "is_listen_key_item", "listen_key_item", "names_from_query",
    "withheld",
]  # fmt: skip

LISTEN_KEY = re.compile(r"[A-Za-z0-9]{64}")  # every documented and captured key (§1.1)
# a run a listen key (64 letters and digits) may hide in, a few of its characters changed or
# cut: no market stream name holds a run past ~20 (`1000000mogusdt`, `continuousKline`)
_KEY_LIKE = re.compile(r"[A-Za-z0-9]{24,}")
EXPIRED = "listenKeyExpired"
# the `e` values of the user data stream (part 4 §2.2, §3)
EVENTS = frozenset(
    {
        "ORDER_TRADE_UPDATE", "TRADE_LITE", "ACCOUNT_UPDATE", "ACCOUNT_CONFIG_UPDATE", "MARGIN_CALL",
        "ALGO_UPDATE", "STRATEGY_UPDATE", "GRID_UPDATE", "CONDITIONAL_ORDER_TRIGGER_REJECT", EXPIRED,
    }
)  # fmt: skip


def listen_key_item(name: str) -> tuple[str, str | None] | None:
    """``(key, event)`` for ``<key>`` (event None) or ``<key>@<event>``; None for any other
    name (a market stream's)."""
    key, at, event = name.partition("@")
    if LISTEN_KEY.fullmatch(key) is None or (at and not event):
        return None
    return key, (event if at else None)


def withheld(name: str) -> str:
    """``name`` for a log line: every run of 24 or more letters and digits (no market stream
    name holds one; a listen key is one, and most of one is nearly as good) replaced by
    ``<withheld>``."""
    return _KEY_LIKE.sub("<withheld>", name)


def is_listen_key_item(name: str) -> bool:
    return listen_key_item(name) is not None


def names_from_query(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The names ``?listenKey=<k1>&events=A/B&listenKey=<k2>`` asks for: each key with the
    ``events`` that follow it before the next key (``/``-separated, percent-encoded or not),
    the bare key when none follow. Sorted, as Binance's LIST_SUBSCRIPTIONS lists them
    (trading part 4 §2.2: ``["<k>@ACCOUNT_UPDATE","<k>@MARGIN_CALL","<k>@ORDER_TRADE_UPDATE",
    "<k>@listenKeyExpired"]`` for ``events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/…``); the
    names SUBSCRIBE adds follow in subscription order (spec §3.4)."""
    names: list[str] = []
    key: str | None = None
    events: list[str] = []

    def close() -> None:
        if key is not None:
            names.extend([f"{key}@{event}" for event in events] if events else [key])

    for name, value in pairs:
        if name == "listenKey":
            close()
            key, events = value, []
        elif name == "events" and key is not None:
            events.extend(event for event in unquote(value).split("/") if event)
    close()
    return sorted(names)  # str order is code point order, UTF-8's byte order
