"""Pacing of control messages so a client never trips a connection's message limit.

Binance closes a market-stream connection that receives more than 10 messages in a second
(spec §2.5; measured: 40 back-to-back SUBSCRIBEs got 1008 "Too many requests"). What
counts is undocumented for futures; on spot pings and pongs count too and the limit is 5.
tickerplant's server enforces "no more than N in any 1000 ms" with a sliding window, so
this pacer keeps the same kind of window on the sending side, at half the limit by
default: the WebSocket library's own pings and pongs and network jitter (two frames sent
a window apart may arrive closer together) then cannot push a client over.

Pure: the shell passes the time in (seconds on its injected ``Clock``) and sleeps itself::

    while (wait := pacer.delay_s(now_s := clock.now_ns() / 1e9)) > 0:
        await clock.sleep_until((now_s + wait) * 1000)  # may wake a hair early: ask again
    send(frame)
    pacer.sent(clock.now_ns() / 1e9)
"""

from __future__ import annotations

from collections import deque

__all__ = ["Pacer"]

# Added to every wait so that ``now + delay`` never rounds to a hair inside the window.
_ROUNDING_S = 1e-6


class Pacer:
    """At most ``burst`` messages in any window of ``burst / rate_per_s`` seconds.

    The defaults, 5 per second, allow five messages back to back and then one more each
    time the oldest of the last five is a second old: half of Binance's 10 per second.
    """

    __slots__ = ("_sent", "burst", "rate_per_s", "window_s")

    def __init__(self, rate_per_s: float = 5.0, burst: int = 5) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("need rate_per_s > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.window_s = burst / rate_per_s
        # Send times of the last `burst` messages; the next may go once the oldest of them
        # has left the window. Memory is bounded by `burst`.
        self._sent: deque[float] = deque(maxlen=burst)

    def delay_s(self, now_s: float) -> float:
        """Seconds to wait from ``now_s`` before the next message may go; 0.0 for now."""
        sent = self._sent
        if len(sent) < self.burst:
            return 0.0
        wait = sent[0] + self.window_s - now_s
        return wait + _ROUNDING_S if wait > 0 else 0.0

    def sent(self, now_s: float) -> None:
        """A message went at ``now_s`` (recorded even if it went too early)."""
        self._sent.append(now_s)

    def reset(self) -> None:
        """A new connection: the server's window is per connection."""
        self._sent.clear()
