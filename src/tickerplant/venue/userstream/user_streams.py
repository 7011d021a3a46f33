"""One market's user data streams, without I/O: an account's events go to the connections
of its live listen key (trading spec part 4 §2, ``protocol/user_streams.py``'s names).

An event is handed to ``deliver`` twice, under ``<key>`` (bare-key subscribers) and under
``<key>@<e>`` (subscribers of that event): a name nobody holds costs the fan-out a dict
miss. An account with no live key gets nothing: Binance pushes only to a key in use.

``expire`` pushes ``listenKeyExpired`` (§1.3) to each key whose time has come, under
``<key>@listenKeyExpired``, which every connection holding one of the key's names takes once,
bare or by event (Unresolved 6: always delivered; ``gateway/market_streams.py``), then
``end`` is called with the key: the listener closes its connections (overview decision 10).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import msgspec

from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.user_streams import EXPIRED
from tickerplant.venue.userstream.listen_keys import ListenKeys

__all__ = ["UserStreams"]


class _Expired(msgspec.Struct):
    """``listenKeyExpired`` (part 4 §1.3): keys in this order, ``E`` a number (Unresolved 15)."""

    e: str
    E: int
    listenKey: str


class UserStreams:
    def __init__(
        self,
        keys: ListenKeys,
        deliver: Callable[[Sequence[StreamMessage]], None],
        end: Callable[[str], None],
    ) -> None:
        """``deliver``: the listener's fan-out; ``end``: close a key's connections."""
        self.keys = keys
        self._deliver = deliver
        self._end = end
        self.pushed = 0  # events delivered to a live key, ever

    def push(self, account_id: int, event: str, payload: bytes, now_ms: int) -> tuple[str, ...]:
        """Deliver ``payload`` (an event whose ``e`` is ``event``) to the account's live key:
        the streams it went on (none without a live key)."""
        key = self.keys.key_of(account_id, now_ms)
        if key is None:
            return ()
        streams = (key, f"{key}@{event}")
        self._deliver((StreamMessage(streams[0], payload), StreamMessage(streams[1], payload)))
        self.pushed += 1
        return streams

    def expire(self, now_ms: int) -> list[str]:
        """End the keys whose time has come: ``listenKeyExpired``, then their connections."""
        return self._ended(self.keys.expire(now_ms), now_ms)

    def expire_early(self, account_ids: Iterable[int], now_ms: int) -> list[str]:
        """End the accounts' live keys before their time, as ``expire`` ends them (a fault
        profile's ``listen-key-expired``, docs/faults.md)."""
        ended = []
        for account_id in account_ids:
            key = self.keys.key_of(account_id, now_ms) and self.keys.close(account_id)
            if key:
                ended.append(key)
        return self._ended(ended, now_ms)

    def _ended(self, ended: list[str], now_ms: int) -> list[str]:
        for key in ended:
            payload = msgspec.json.encode(_Expired(EXPIRED, now_ms, key))
            self._deliver((StreamMessage(f"{key}@{EXPIRED}", payload),))
        for key in ended:
            self._end(key)
        return ended
