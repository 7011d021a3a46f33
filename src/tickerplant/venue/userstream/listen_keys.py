"""Listen keys of one market, without I/O: time comes in as an argument (trading spec part 4
§1, overview decision 10).

- One key per account and market (part 4 §6 Unresolved 17). ``start`` returns the account's
  live key and extends it, or makes a new one: python-binance POSTs every 5 minutes and
  reconnects when the key it gets back differs (§1.1).
- A key lives ``VALIDITY_MS`` (60 minutes) from its start or its last keep-alive
  (sliding). ``keep_alive`` without a live key is ``None``: the endpoint answers ``-1125``.
- ``close`` ends the key at once (DELETE): its connections go silent (Unresolved 7).
- ``expire`` ends the keys whose time has come and names them, for ``listenKeyExpired``.

Keys are 64 letters and digits from ``secrets`` (§1.1: a bearer credential). Binance keeps
a key for its 60 minutes whatever happens to the servers behind it, so a server that journals
(``gateway/user_data.py``) journals each start, keep-alive and close and ``restore``s the keys
still live when it starts again: a client that reconnects on its key after a restart gets its
events, not silence until its next keep-alive. The table is bounded by the accounts: one key
each.
"""

from __future__ import annotations

import heapq
import secrets
import string
from collections.abc import Callable

__all__ = ["VALIDITY_MS", "ListenKeys", "new_listen_key"]

VALIDITY_MS = 60 * 60_000  # part 4 §1.1
_ALPHABET = string.ascii_letters + string.digits


def new_listen_key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(64))


class ListenKeys:
    """The live listen keys of one market's accounts."""

    def __init__(self, new_key: Callable[[], str] = new_listen_key) -> None:
        self._new_key = new_key
        self._by_account: dict[int, str] = {}
        self._account: dict[str, int] = {}  # live key -> its account
        self._until: dict[str, int] = {}  # live key -> when it expires, ms
        self._deadlines: list[tuple[int, str]] = []  # (until, key), stale entries skipped

    def __len__(self) -> int:
        return len(self._account)

    def start(self, account_id: int, now_ms: int) -> str:
        """The account's live key, extended; a new one if it has none."""
        key = self._live(account_id, now_ms)
        if key is None:
            key = self._new_key()
            while key in self._account:  # 62^64: never, but a key is never shared
                key = self._new_key()
            self._by_account[account_id] = key
            self._account[key] = account_id
        self._extend(key, now_ms)
        return key

    def keep_alive(self, account_id: int, now_ms: int) -> str | None:
        """Extend the account's live key; None when it has none (expired, closed, never
        started)."""
        key = self._live(account_id, now_ms)
        if key is not None:
            self._extend(key, now_ms)
        return key

    def restore(self, account_id: int, key: str, until_ms: int, now_ms: int) -> bool:
        """A key kept from before a restart, live until ``until_ms``; whether it is taken
        back: not one that has expired meanwhile, nor one whose end is more than
        ``VALIDITY_MS`` away (journaled on a clock ahead of this one, a replay's later time:
        it would outlive its 60 minutes, §1.1)."""
        if not now_ms < until_ms <= now_ms + VALIDITY_MS:
            return False
        if key in self._account or account_id in self._by_account:
            return False
        self._by_account[account_id] = key
        self._account[key] = account_id
        self._until[key] = until_ms
        heapq.heappush(self._deadlines, (until_ms, key))
        return True

    def until_ms(self, key: str) -> int:
        """When a live key expires, unless kept alive before."""
        return self._until[key]

    def close(self, account_id: int) -> str | None:
        """End the account's key at once; the key, or None when it had none."""
        key = self._by_account.pop(account_id, None)
        if key is not None:
            del self._account[key]
            del self._until[key]
        return key

    def account_of(self, key: str, now_ms: int) -> int | None:
        """The account of a live key."""
        account_id = self._account.get(key)
        if account_id is None or self._until[key] <= now_ms:
            return None
        return account_id

    def key_of(self, account_id: int, now_ms: int) -> str | None:
        return self._live(account_id, now_ms)

    def accounts(self, now_ms: int) -> list[int]:
        """The accounts with a live key."""
        return [account_id for account_id in self._by_account if self._live(account_id, now_ms) is not None]

    def next_expiry_ms(self) -> int | None:
        """When the earliest live key expires, unless kept alive before."""
        deadlines, until = self._deadlines, self._until
        while deadlines and until.get(deadlines[0][1]) != deadlines[0][0]:
            heapq.heappop(deadlines)  # kept alive since, or closed
        return deadlines[0][0] if deadlines else None

    def expire(self, now_ms: int) -> list[str]:
        """End the keys whose time has come; they are named once, here."""
        ended: list[str] = []
        while (when := self.next_expiry_ms()) is not None and when <= now_ms:
            _, key = heapq.heappop(self._deadlines)
            account_id = self._account.pop(key)
            del self._until[key]
            if self._by_account.get(account_id) == key:  # not replaced by a new start
                del self._by_account[account_id]
            ended.append(key)
        return ended

    def _live(self, account_id: int, now_ms: int) -> str | None:
        key = self._by_account.get(account_id)
        if key is None or self._until[key] <= now_ms:
            return None  # an expired key not yet named by ``expire`` is not live
        return key

    def _extend(self, key: str, now_ms: int) -> None:
        until = self._until[key] = now_ms + VALIDITY_MS
        heapq.heappush(self._deadlines, (until, key))
        if len(self._deadlines) > 4 * len(self._until) + 64:  # kept alive often: drop the stale
            self._deadlines = [(u, k) for k, u in self._until.items()]
            heapq.heapify(self._deadlines)
