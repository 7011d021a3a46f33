"""When a replay at full speed waits for its clients (sans-I/O; ``player`` asks it between
batches).

At ``--speed max`` the replay makes events far faster than a client over a network reads
them. Without a rule the fan-out would cut every such client off as a slow consumer once
its send buffer passed its bound (``--send-buffer``). The rule instead:

- Before each batch, every stream connection whose unsent bytes are more than half its
  bound (``HIGH_SHARE``) holds the replay back: the replay waits until it has taken them
  below that. Half leaves room for a batch: a batch never takes a connection that was
  waited for past its bound, so a client that reads slower than the replay makes events
  but keeps up on average loses nothing and sees everything in order.
- The replay waits for a connection at most ``patience_ms`` at a time: one that has not
  taken its backlog below the mark by then is not waited for any longer, and the replay
  goes on; the connection is cut off as a slow consumer when a batch would pass its
  bound, as at any other speed, or, if it gets below the mark first, is waited for again
  the next time. So a client that stops reading (or reads a trickle) holds the others
  back ``patience_ms`` once, never for ever.

At a set speed (``--speed N``) the replay clock does not wait for anybody: a client that
cannot keep up with the market's own pace is cut off, as a live one is.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from tickerplant.feeds import Backlog

__all__ = ["HIGH_SHARE", "ConsumerWaits"]

HIGH_SHARE = 0.5  # of a connection's bound: above it the replay waits for the connection


class ConsumerWaits:
    """Which connections a full-speed replay waits for, from their backlogs (``waiting``)."""

    def __init__(self, patience_ms: int) -> None:
        if patience_ms <= 0:
            raise ValueError(f"patience_ms must be positive, not {patience_ms!r}")
        self.patience_ms = patience_ms
        self._behind: dict[Hashable, int] = {}  # connection over its mark -> since when (ms); -1: given up
        self.held = 0  # looks that held the replay back
        self.given_up = 0  # connections no longer waited for (over the mark for patience_ms)

    def waiting(self, backlogs: Iterable[Backlog], now_ms: int) -> bool:
        """Whether the replay waits before its next batch: some connection holds more than
        ``HIGH_SHARE`` of its bound, and has for less than ``patience_ms``."""
        behind = self._behind
        over: list[Hashable] = []
        wait = False
        for consumer, unsent, bound in backlogs:
            if unsent <= bound * HIGH_SHARE:
                continue
            over.append(consumer)
            since = behind.setdefault(consumer, now_ms)
            if since < 0:
                continue  # given up
            if now_ms - since < self.patience_ms:
                wait = True
            else:
                behind[consumer] = -1
                self.given_up += 1
        if len(over) != len(behind):  # below their marks again, or gone: forgotten
            kept = {consumer: behind[consumer] for consumer in over}
            behind.clear()
            behind.update(kept)
        self.held += wait
        return wait
