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

A fault profile's user data stream faults (``follow``, docs/faults.md) are applied here, where
events are pushed: an event dropped or held (and every later one of its account behind it,
so the order holds), the key's connections cut without a close frame, a key expired early.
The engine and REST never see them: the state stays right on REST. Under ``--workers`` they
are the plant's, whose keys and events these are: a cut goes to the gateways as a notice.

Under ``--workers`` the listen keys live in the plant, beside the engines: its ``UserData``
is ``connect``ed to the bus instead of a stream surface, so the events go out as the
market's messages and a key's end as a notice, which each gateway's ``end`` carries out.

Beside a venue's journal (``keep``) each start, keep-alive and close, and each key ended
early, is journaled with the loop iteration's commands (``Batch.listen_keys``), so the answer
that hands a key out waits for the commit as an order's does; at a start the keys still live
are taken back (``ListenKeys.restore``): a client that reconnects on its key after a restart,
or a kill -9, is fed again at once: a key lives its 60 minutes from its start or last
keep-alive (part 4 §1.1), whatever happens to the server behind it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from tickerplant.clock import Clock, Timer
from tickerplant.faults.decider import Timed
from tickerplant.faults.profile import Family, FaultKind
from tickerplant.gateway.fault_gate import FaultGate
from tickerplant.gateway.market_streams import StreamSurface
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import CloseReason
from tickerplant.venue.auth.checks import Keys
from tickerplant.venue.book.ports import Journal
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.userstream.activity import VenueActivity
from tickerplant.venue.userstream.listen_keys import ListenKeys
from tickerplant.venue.userstream.user_events import UserEvent, written
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
        self._cut_key: Callable[[str], None] | None = None
        self._timer: Timer | None = None
        self._timer_ms = 0
        self.streams = UserStreams(self.keys, self._deliver, self._end)
        self.activity = VenueActivity()  # orders, fills and refusals, for the metrics
        self.faults: FaultGate | None = None  # a fault profile's (``follow``)
        self._held: dict[int, list[tuple[str, bytes]]] = {}  # account -> its events held back, in order
        self._journal: Journal | None = None  # where the keys are journaled (``keep``)
        self._loads_seen = -1  # the keyring's load whose accounts ``drain`` looked at last

    def attach(self, surface: StreamSurface) -> None:
        """The listener's stream surface, once it listens: where events go."""
        self._surface = surface

    def follow(self, faults: FaultGate | None) -> None:
        """Apply ``faults``' user data stream faults (None: no profile): per event in
        ``drain``, and its timed ones (a key expired early, connections cut) at their market
        time."""
        if faults is not None and faults.decider.has(Family.USER_STREAM):
            self.faults = faults
            for timed in faults.decider.timed(Family.USER_STREAM):
                self._clock.call_at(timed.at_ms, functools.partial(self._timed, timed))

    def connect(
        self, publish: Callable[[Sequence[StreamMessage]], None], ended: Callable[[str], None],
        cut: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        """Where events go in the plant (``--workers``): ``publish`` them on the bus, and
        tell the gateways a key ``ended`` (they close its connections: ``end``), or that a
        fault ``cut`` its connections (they do: ``cut``)."""
        self._publish, self._ended, self._cut_key = publish, ended, cut

    def keep(self, journal: Journal, held: Sequence[tuple[int, str, int]], accounts: Keys) -> int:
        """Journal the keys through ``journal`` (an engine's: stamped with its market) from
        now on, after taking back those of ``held`` (account, key, until ms: the journal's
        rows, ``listen_key_rows.held_listen_keys``) that are still live and whose account
        still exists enabled; how many."""
        now_ms, taken, dropped = self._clock.now_ms(), 0, []
        for account_id, key, until_ms in held:
            account = accounts.account(account_id)
            enabled = account is not None and not account.disabled
            if enabled and self.keys.restore(account_id, key, until_ms, now_ms):
                taken += 1
            else:
                dropped.append(account_id)
        self._journal = journal
        # the rows not taken back are closed: a disabled account enabled again before a later
        # restart must not find its old key live (a key ended stays ended, part 1 §8.6)
        self._journal_closed(dropped)
        self._arm()
        return taken

    def drain(self, engine: Engine, accounts: Keys, now_ms: int) -> int:
        """Hand what the engine reported since the last drain (after a command, after a batch
        of the market's trades) to its accounts' keys, as part 4's events
        (``venue/userstream/user_events.py``), each command's in part 4 §4.3's order; how
        many were written. An account whose events cannot be written loses those events, and
        its error is raised once every other account's are handed on."""
        if accounts.loads != self._loads_seen and accounts.loads:  # read again since (0: never read)
            self._loads_seen = accounts.loads
            self._end_gone(accounts, now_ms)
        made = engine.outbox.take_made()  # command by command: §4.3's order is each one's
        if not made:
            return 0
        events = [event for one in made for event in one]
        self.activity.saw(events)
        # written for the accounts a live key would deliver them to only: Binance pushes only to
        # a key in use, and the payloads are most of a command's cost (part 4 §2)
        live: dict[int, bool] = {}
        ended: list[int] = []  # a disabled or deleted account's key: ended, not fed
        for reported in events:
            account_id = reported.account_id
            if account_id not in live:
                key = self.keys.key_of(account_id, now_ms)
                held = accounts.account(account_id)
                gone = key is not None and (held is None or held.disabled)
                if gone:
                    ended.append(account_id)
                live[account_id] = key is not None and not gone and self._in_use(key)
        if ended:  # as a revoked key's session is ended (part 1 §8.6): listenKeyExpired, then closed
            self.streams.expire_early(ended, now_ms)
            self._journal_closed(ended)
        if not any(live.values()):
            return 0

        def alias_of(account_id: int) -> str:
            account = accounts.account(account_id)
            return account.alias if account is not None else ""

        failed: list[Exception] = []
        payloads: list[UserEvent] = []
        for one in made:
            if kept := [e for e in one if live[e.account_id]]:
                payloads += written(engine, kept, alias_of, failed)
        push = self.streams.push
        streams: set[str] = set()
        for account_id, event, payload in payloads:
            if self.faults is None or self._passes(account_id, event, payload, now_ms):
                streams.update(push(account_id, event, payload, now_ms))
        if self._publish is None and self._surface is not None:
            # written now, beside the answers this drain goes before, not at the fan-out's
            # flush: scheduled from inside the journal's commit, that ran only after the
            # loop's next poll and every request it read (new → ORDER_TRADE_UPDATE p99)
            self._surface.fanout.flush_streams(streams)
        if failed:  # the other accounts' events are on their way: now the step that ran this logs it
            raise failed[0]
        return len(payloads)

    def _end_gone(self, accounts: Keys, now_ms: int) -> None:
        """End the live keys of accounts the operator deleted or disabled, whether or not this
        market's engine reports anything of them: the delete's WITHDRAW is told only where the
        account has a wallet, and the other market's key lived on to its hour."""
        gone = [
            account_id for account_id in self.keys.accounts(now_ms)
            if (held := accounts.account(account_id)) is None or held.disabled
        ]  # fmt: skip
        if gone:  # as a revoked key's session is ended (part 1 §8.6): listenKeyExpired, then closed
            self.streams.expire_early(gone, now_ms)
            self._journal_closed(gone)

    def _in_use(self, key: str) -> bool:
        """Whether ``key``'s events are written: a key no connection of this listener holds gets
        none (the payloads are most of a command's cost), unless they go on the bus (the
        plant: the gateways hold the connections) or a fault profile decides on each one."""
        surface = self._surface
        return surface is None or self._publish is not None or self.faults is not None or (
            surface.fanout.holds_key(key)
        )  # fmt: skip

    # -- venue.rest.ListenKeyTable ----------------------------------------------------

    def start(self, account_id: int, now_ms: int) -> str:
        key = self.keys.start(account_id, now_ms)
        self._journal_key(account_id, key)
        self._arm()
        return key

    def keep_alive(self, account_id: int, now_ms: int) -> str | None:
        key = self.keys.keep_alive(account_id, now_ms)
        if key is not None:
            self._journal_key(account_id, key)
        self._arm()
        return key

    def close(self, account_id: int) -> str | None:
        key = self.keys.close(account_id)  # its connections go silent (part 4 Unresolved 7)
        if key is not None:
            self._journal_key(account_id, "")
        return key

    def _journal_key(self, account_id: int, key: str) -> None:
        """A key started or kept alive (until when it now lives), or closed (``""``), into
        the iteration's transaction: the answer that names it waits for the commit."""
        if self._journal is not None:
            until_ms = self.keys.until_ms(key) if key else 0
            self._journal.commit(Batch(listen_keys=((account_id, key, until_ms),)))

    def _journal_closed(self, account_ids: Sequence[int]) -> None:
        """The keys of ``account_ids`` ended early or not taken back, closed in the journal
        too: a restart must not bring them back. Committed with the loop iteration's batch,
        after a ``listenKeyExpired`` went: a ``kill -9`` between the two brings such a key
        back, whose client was told it ended (its next POST gets it again)."""
        if self._journal is not None and account_ids:
            self._journal.commit(Batch(listen_keys=tuple((account_id, "", 0) for account_id in account_ids)))

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

    def cut(self, key: str) -> None:
        """Cut a key's connections without a close frame (a fault profile's ``stream-drop``)."""
        if self._surface is not None:
            self._surface.close_listening(key, None)

    def _passes(self, account_id: int, event: str, payload: bytes, now_ms: int) -> bool:
        """Whether an event goes out now, the profile applied: dropped, held ``delay_ms``
        (its account's later events behind it), or lost with its connections, cut. Drawn
        for every event, held ones too, so that the same seed and the same events meet the
        same faults whatever their pace (an event held behind an earlier one may still be
        dropped, or cut with its connections; a delay drawn for it is the hold's)."""
        assert self.faults is not None
        decision = self.faults.decide_stream(Family.USER_STREAM, event, "", account_id, now_ms)
        held = self._held.get(account_id)
        if held is not None and (decision is None or decision.kind is FaultKind.EVENT_DELAY):
            held.append((event, payload))
            return False
        if decision is None:
            return True
        if decision.kind is FaultKind.EVENT_DELAY:
            self._held[account_id] = [(event, payload)]
            self._clock.call_at(now_ms + decision.delay_ms, functools.partial(self._release, account_id))
        elif decision.kind is FaultKind.STREAM_DROP:
            self._cut([account_id], now_ms)
        return False  # EVENT_DROP: never sent; REST has it

    def _release(self, account_id: int) -> None:
        now_ms = self._clock.now_ms()
        streams: set[str] = set()
        for event, payload in self._held.pop(account_id, []):
            streams.update(self.streams.push(account_id, event, payload, now_ms))
        if self._surface is not None:
            self._surface.fanout.flush_streams(streams)

    def _cut(self, account_ids: Sequence[int], now_ms: int) -> None:
        for account_id in account_ids:
            key = self.keys.key_of(account_id, now_ms)
            if key is None:
                continue
            if self._cut_key is not None:  # the plant's: the gateways hold the connections
                self._cut_key(key)
            else:
                self.cut(key)

    def _timed(self, timed: Timed) -> None:
        """A timed fault at its time: the keys of its accounts that hold one here (all, when
        it names none) expired early, or their connections cut, each counted as hit. A
        gateway under ``--workers`` leaves them to the plant, whose keys they are (``faults``
        None)."""
        if self.faults is None:
            return
        now_ms = self._clock.now_ms()
        keyed = self.keys.accounts(now_ms)  # a named account without a key here: nothing to hit
        accounts = sorted(timed.accounts.intersection(keyed)) if timed.accounts else keyed
        for account_id in accounts:
            self.faults.fired(timed.kind, "user data stream", account_id, now_ms)
        if timed.kind is FaultKind.LISTEN_KEY_EXPIRED:
            if self.streams.expire_early(accounts, now_ms):
                self._journal_closed(accounts)
        else:
            self._cut(accounts, now_ms)

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
