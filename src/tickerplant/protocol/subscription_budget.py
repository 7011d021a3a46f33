"""What market-stream subscriptions may hold: their names' bytes, per connection and per
process.

Spec §2.5 bounds the *names* a connection holds (1024) and §3.4 keeps each exactly as sent,
known stream or not; neither bounds a name's length, and a message may be 1 MiB
(``gateway/message_assembly.py``). So one connection could hold 1024 names of ~1 MiB each
(a GiB), and the connections of a process together as many of them as it has file
descriptors. Two bounds close that, each answered as stream 1025 is (``{"error":{"code":4,
"msg":"Too many subscriptions"},"id":…}``, then close 1008 ``Invalid request``; a stream
URL: HTTP 400 ``{"code":4,"msg":"Too many subscriptions"}``), so a client meets one refusal
it already handles:

- per connection, the names' UTF-8 bytes at most ``NAME_BYTES`` a name it may hold
  (``within``: 128 × ``max_streams``, 128 KiB at Binance's 1024). The longest name
  Binance delivers is a listen key's event (``<64 characters>@ORDER_TRADE_UPDATE``, 83
  bytes): no client that means to be delivered comes near it;
- per process, every connection's names, each counted as its bytes and ``NAME_COST``
  beside them (what keeping one costs: the session's entry, its delivery key's, the
  fan-out's), at most ``limits.subscription_bytes_total`` (``default_total``: an eighth of
  the machine's memory, at most 1 GiB).

Sans-I/O: the session (``subscriptions.py``) asks and gives back; the shell makes one
``SubscriptionBudget`` per process and hands it to its listeners.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["NAME_BYTES", "NAME_COST", "SubscriptionBudget", "default_total", "name_bytes", "within"]

NAME_BYTES = 128  # a name's bytes, on average, a connection's bound allows it per stream
NAME_COST = 256  # what holding a name costs beside its text, about (measured: docs/operations.md)
_MOST = 1024**3  # the default total's ceiling: 1 GiB


def default_total(memory: int | None) -> int:
    """The process' default bound on a machine of ``memory`` bytes (the shell reads it:
    ``gateway/send_budget.machine_memory``): an eighth of it, at most 1 GiB (128 MiB where
    it cannot be read)."""
    return 128 * 1024**2 if memory is None else min(memory // 8, _MOST)


def within(count: int, size: int, max_streams: int) -> bool:
    """Whether ``count`` names of ``size`` bytes fit one connection: §2.5's number, and
    ``NAME_BYTES`` a stream it may hold."""
    return count <= max_streams and size <= NAME_BYTES * max_streams


def name_bytes(names: Iterable[str]) -> int:
    """The names' UTF-8 bytes (a name of raw UTF-8 is kept as sent, §3.4)."""
    return sum(len(name.encode("utf-8", errors="replace")) for name in names)


class SubscriptionBudget:
    """The bytes every connection's names hold in one process, each name with ``NAME_COST``."""

    __slots__ = ("held", "limit", "refused")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the bound must be positive")
        self.limit = limit
        self.held = 0  # the bytes the names hold now, their costs in
        self.refused = 0  # subscriptions refused for the process' bound, ever

    def fits(self, cost: int) -> bool:
        """Whether ``cost`` more fits under the bound (nothing is taken)."""
        return self.held + cost <= self.limit

    def take(self, cost: int) -> bool:
        """``cost`` more held, if it fits; False (nothing taken, counted refused) if not."""
        if self.held + cost > self.limit:
            self.refused += 1
            return False
        self.held += cost
        return True

    def charge(self, cost: int) -> None:
        """``cost`` held whatever the bound: names a connection's URL brought, which its
        route let through (``fits``) before the connection was made."""
        self.held += cost

    def give(self, cost: int) -> None:
        """``cost`` no longer held."""
        self.held -= cost
