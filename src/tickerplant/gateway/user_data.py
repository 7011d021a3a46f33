"""A listener's user data streams: its listen keys on the listener's clock, and the events
pushed to their connections through its fan-out (trading spec part 4; the rules are
``venue/userstream/listen_keys.py``'s and ``venue/userstream/user_streams.py``'s, the names
``protocol/user_streams.py``'s).

``drain`` hands the engine's events to the keys' connections, after each command and each
batch of the market's trades the engine took. ``UserData`` is also what the private
endpoints start, keep alive and close keys through
(``venue.rest.ListenKeyTable``): each time a key is started or kept alive, its expiry is
timed (one timer, for the earliest key; a key kept alive since it was armed is looked at
again and passed over). At expiry, ``listenKeyExpired`` goes to the key's connections and,
once the fan-out has queued it, they are closed 1000 (overview decision 10).

Under ``--workers`` the listen keys live in the plant, beside the engines: its ``UserData``
is ``connect``ed to the bus instead of a stream surface, so the events go out as the
market's messages and a key's end as a notice, which each gateway's ``end`` carries out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tickerplant.clock import Clock, Timer
from tickerplant.gateway.market_streams import StreamSurface
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import CloseReason
from tickerplant.venue.auth.checks import Keys
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.userstream.activity import VenueActivity
from tickerplant.venue.userstream.listen_keys import ListenKeys
from tickerplant.venue.userstream.user_events import written
from tickerplant.venue.userstream.user_streams import UserStreams

__all__ = ["CLOSE_LISTEN_KEY_EXPIRED", "UserData"]

CLOSE_LISTEN_KEY_EXPIRED = CloseReason(1000, "listenKey expired")


class UserData:
    """One listener's listen keys and user data streams."""

    def __init__(self, clock: Clock, keys: ListenKeys | None = None) -> None:
        self.keys = keys or ListenKeys()
        self._clock = clock
        self._surface: StreamSurface | None = None
        self._publish: Callable[[Sequence[StreamMessage]], None] | None = None  # instead, connected
        self._ended: Callable[[str], None] | None = None
        self._timer: Timer | None = None
        self._timer_ms = 0
        self.streams = UserStreams(self.keys, self._deliver, self._end)
        self.activity = VenueActivity()  # orders, fills and refusals, for the metrics

    def attach(self, surface: StreamSurface) -> None:
        """The listener's stream surface, once it listens: where events go."""
        self._surface = surface

    def connect(
        self, publish: Callable[[Sequence[StreamMessage]], None], ended: Callable[[str], None]
    ) -> None:
        """Where events go in the plant (``--workers``): ``publish`` them on the bus, and
        tell the gateways a key ``ended`` (they close its connections: ``end``)."""
        self._publish, self._ended = publish, ended

    def drain(self, engine: Engine, accounts: Keys, now_ms: int) -> int:
        """Hand what the engine reported since the last drain (after a command, after a batch
        of the market's trades) to its accounts' keys, as part 4's events
        (``venue/userstream/user_events.py``); how many were written. An account whose events cannot be
        written loses its events of this drain, and its error is raised once every other
        account's are handed on."""
        events = engine.outbox.take()
        if not events:
            return 0
        self.activity.saw(events)
        # written for the accounts a live key would deliver them to only: Binance pushes only to
        # a key in use, and the payloads are most of a command's cost (part 4 §2)
        live: dict[int, bool] = {}
        for reported in events:
            if reported.account_id not in live:
                live[reported.account_id] = self.keys.key_of(reported.account_id, now_ms) is not None
        events = [e for e in events if live[e.account_id]]
        if not events:
            return 0

        def alias_of(account_id: int) -> str:
            account = accounts.account(account_id)
            return account.alias if account is not None else ""

        failed: list[Exception] = []
        payloads = written(engine, events, alias_of, failed)
        push = self.streams.push
        streams: set[str] = set()
        for account_id, event, payload in payloads:
            streams.update(push(account_id, event, payload, now_ms))
        if self._publish is None and self._surface is not None:
            # written now, beside the answers this drain goes before, not at the fan-out's
            # flush: scheduled from inside the journal's commit, that ran only after the
            # loop's next poll and every request it read (new → ORDER_TRADE_UPDATE p99)
            self._surface.fanout.flush_streams(streams)
        if failed:  # the other accounts' events are on their way: now the step that ran this logs it
            raise failed[0]
        return len(payloads)

    # -- venue.rest.ListenKeyTable ----------------------------------------------------

    def start(self, account_id: int, now_ms: int) -> str:
        key = self.keys.start(account_id, now_ms)
        self._arm()
        return key

    def keep_alive(self, account_id: int, now_ms: int) -> str | None:
        key = self.keys.keep_alive(account_id, now_ms)
        self._arm()
        return key

    def close(self, account_id: int) -> str | None:
        return self.keys.close(account_id)  # its connections go silent (part 4 Unresolved 7)

    # -- internals ---------------------------------------------------------------------

    def _deliver(self, messages: Sequence[StreamMessage]) -> None:
        if self._publish is not None:
            self._publish(messages)
        elif self._surface is not None:
            self._surface.fanout.publish(messages)

    def _end(self, key: str) -> None:
        if self._ended is not None:
            self._ended(key)
        else:
            self.end(key)

    def end(self, key: str) -> None:
        """Close the connections of a key that expired, after what is queued for them."""
        surface = self._surface
        if surface is not None:
            surface.fanout.flush_now()  # listenKeyExpired is queued before the close frame
            surface.close_listening(key, CLOSE_LISTEN_KEY_EXPIRED)

    def _arm(self) -> None:
        when = self.keys.next_expiry_ms()
        if when is None or (self._timer is not None and self._timer_ms <= when):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_ms = when
        self._timer = self._clock.call_at(when, self._due)

    def _due(self) -> None:
        self._timer = None
        self.streams.expire(self._clock.now_ms())
        self._arm()
