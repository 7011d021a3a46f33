"""How many trades and aggregate trades one symbol's simulated past holds, block by block
of days, day by day, hour by hour and minute by minute, and so the ids of both: a pure
function of the seed, the rate and the time asked about.

**Trades** are split top-down, exactly: a block of ``BLOCK_DAYS`` days (aligned to the
epoch) holds the symbol's rate at the configured ``--sim-rate`` times the path's
volatility at its middle; it is split over its days by each day's share of the weekly
cycle, its volatility multiplier and a little noise, a day's over its hours by their
activity, and an hour's over its minutes, every minute holding at least ``MIN_TRADES``.

**Aggregates** (spec §4.4: the fills of one taker order at one price) are the trades less
the *joins*, the trades that belong to the aggregate of the trade before them. A block
joins ``JOIN_SHARE`` of its trades beyond ``JOIN_FLOOR`` a minute; its joins are split over
its days in proportion to each day's trades beyond ``JOIN_FLOOR`` a minute, a day's over
its hours and an hour's over its minutes the same way. Cumulative rounding keeps each share
within one of its exact proportion, which (``JOIN_SHARE`` under one) keeps a day's joins
within its hours' room and every hour's and minute's within its own: a minute never joins
more than its trades beyond ``JOIN_FLOOR``, so its four pins stay alone and each of its at
most six (price, side) groups of body trades keeps one aggregate (``tape.SymbolTape`` lays
them out). Binance's aggregate ids run at about four in ten of its trade ids (spec §4.4's
capture: ``a`` 3,141,966,230 beside ``f`` 7,297,376,181); these at about a half.

**Ids** of both are contiguous per symbol from the listing day, the first trade and the
first aggregate each 1: a minute's first id is the count of everything before it. A block's
totals cost one value of the path's volatility tree, so what lies before any day is a sum
over the blocks since the listing (a few dozen, kept: two numbers a block) and the days of
its own block. A live market started at any moment takes the next ids of both
(``live_ids``): one sequence from the past into the live market, so the 24 h ticker's
``count`` is ``lastId - firstId + 1``.

**A server's numbering** (``id_bases``): what a server started at a given moment adds to
every id of its past and of its live market, ``IDS_PER_MS`` trade ids for each millisecond
its start is past 2026-01-01 (two fifths as many aggregate ids). No symbol trades that fast,
so a server started later numbers everything above whatever an earlier one gave, though its
past, which covers the time since, holds fewer trades than that one's live market made: a
restart goes on upward without a record of the last run, and within a run the ids stay one
sequence (the past is the same trades, numbered from a higher base).
"""

from __future__ import annotations

import math
from bisect import bisect_right

from tickerplant.market.history.draws import mix, split, stream
from tickerplant.market.history.path import AssetPath, Lru, hour_activity

__all__ = ["BLOCK_DAYS", "IDS_PER_MS", "JOIN_FLOOR", "JOIN_SHARE", "MIN_TRADES", "TradeCounts", "id_bases"]

MIN_TRADES = 4  # a minute's pins: its open, high, low and close are trades
JOIN_FLOOR = 10  # trades a minute the joins leave alone: the 4 pins and 6 (price, side) groups
JOIN_SHARE = 0.5  # of a block's trades beyond JOIN_FLOOR a minute, how many join an aggregate
BLOCK_DAYS = 64
_DAY_NOISE = 0.15
_BLOCKS_KEPT = 64  # blocks whose day counts are kept (a block's days cost ~0.3 ms to draw)
_COUNTS_KEPT = 256  # days of hour counts kept (eight times as many hours of minute counts)
# the mean of hour_activity over each weekday's 24 hours, Monday first (a day's is
# _WEEKDAY_CYCLE[(day - 4) % 7]: day 0 of the epoch was a Thursday)
_WEEKDAY_CYCLE = [sum(hour_activity(w * 24 + h) for h in range(24)) / 24.0 for w in range(7)]
_MEAN_CYCLE = sum(_WEEKDAY_CYCLE) / 7.0
IDS_PER_MS = 1000  # a server's base rises this much a millisecond: faster than any symbol trades
_BASES_FROM_MS = 1_767_225_600_000  # 2026-01-01: a server started before it numbers from 0


def id_bases(start_ms: int) -> tuple[int, int]:
    """What a server started at ``start_ms`` adds to its trade ids and to its aggregate trade
    ids (see the module docstring)."""
    trades = max(0, start_ms - _BASES_FROM_MS) * IDS_PER_MS
    return trades, trades * 2 // 5


class TradeCounts:
    """One symbol's counts and ids (see the module docstring)."""

    def __init__(self, path: AssetPath, key: int, rate: float, first_day: int) -> None:
        """``rate``: the mean trades a minute; ``first_day``: the listing's day, where the
        ids start."""
        self.path = path
        self.rate = rate
        self._key = key
        self.first_day = first_day
        self._first_block = first_day // BLOCK_DAYS
        self._blocks: Lru[int, tuple[list[int], list[int]]] = Lru(_BLOCKS_KEPT)
        self._hour_counts: Lru[int, list[int]] = Lru(_COUNTS_KEPT)
        self._minute_counts: Lru[int, list[int]] = Lru(_COUNTS_KEPT * 8)
        self._hour_joins: Lru[int, list[int]] = Lru(_COUNTS_KEPT)
        self._minute_joins: Lru[int, list[int]] = Lru(_COUNTS_KEPT * 8)
        # the trades and the joins before each block from the listing's: index 0 its
        # (none), one pair a block up to the latest asked about (bounded by the calendar)
        self._trades_before: list[int] = [0]
        self._joins_before: list[int] = [0]
        days = self.block_days(self._first_block)
        listed = first_day - self._first_block * BLOCK_DAYS
        # the listing block's days before the listing, which no id counts
        self._unlisted = (sum(days[0][:listed]), sum(days[1][:listed]))

    def forget_minutes(self) -> None:
        """Its hours' minute counts and joins let go (``SimulatedPast.forget_minutes``)."""
        self._minute_counts.clear()
        self._minute_joins.clear()

    # -- blocks and days ------------------------------------------------------------------

    def _block_total(self, block: int) -> tuple[int, int]:
        """The trades and the joins of ``block``."""
        vol = self.path.day_vol(block * BLOCK_DAYS + BLOCK_DAYS // 2)
        mean = self.rate * 1440.0 * BLOCK_DAYS * _MEAN_CYCLE * vol
        trades = max(MIN_TRADES * 1440 * BLOCK_DAYS, round(mean))
        return trades, int(JOIN_SHARE * max(0, trades - JOIN_FLOOR * 1440 * BLOCK_DAYS))

    def block_days(self, block: int) -> tuple[list[int], list[int]]:
        """The trades and the joins of each day of ``block``."""

        def make() -> tuple[list[int], list[int]]:
            first = block * BLOCK_DAYS
            rng = stream(mix(self._key, block))
            vols = self.path.day_vols(first, first + BLOCK_DAYS - 1)
            weights = [
                _WEEKDAY_CYCLE[(first + i - 4) % 7] * vol * math.exp(_DAY_NOISE * rng.gauss())
                for i, vol in enumerate(vols)
            ]
            trades, joins = self._block_total(block)
            counts = split(trades, weights, MIN_TRADES * 1440)
            return counts, split(joins, [max(0, c - JOIN_FLOOR * 1440) for c in counts])

        return self._blocks.get(block, make)

    def day_count(self, day: int) -> int:
        """Trades on ``day`` (days since the epoch)."""
        return self.block_days(day // BLOCK_DAYS)[0][day % BLOCK_DAYS]

    def hour_counts(self, day: int) -> list[int]:
        """Trades in each hour of ``day``."""

        def make() -> list[int]:
            hours = self.path.hours(day)
            return split(self.day_count(day), [b.activity for b in hours], MIN_TRADES * 60)

        return self._hour_counts.get(day, make)

    def minute_counts(self, hour: int) -> list[int]:
        """Trades in each minute of ``hour``."""
        return self._minute_counts.get(
            hour, lambda: self.split_hour(hour, [b.activity for b in self.path.minutes(hour)])
        )

    def split_hour(self, hour: int, activity: list[float]) -> list[int]:
        """``hour``'s trades split over its minutes by their ``activity`` (the path's)."""
        return split(self.hour_counts(hour // 24)[hour % 24], activity, MIN_TRADES)

    def hour_joins(self, day: int) -> list[int]:
        """Joins in each hour of ``day``."""

        def make() -> list[int]:
            joins = self.block_days(day // BLOCK_DAYS)[1][day % BLOCK_DAYS]
            return split(joins, [max(0, c - JOIN_FLOOR * 60) for c in self.hour_counts(day)])

        return self._hour_joins.get(day, make)

    def minute_joins(self, hour: int) -> list[int]:
        """Joins in each minute of ``hour``: never more than its trades beyond JOIN_FLOOR."""

        def make() -> list[int]:
            joins = self.hour_joins(hour // 24)[hour % 24]
            return split(joins, [max(0, c - JOIN_FLOOR) for c in self.minute_counts(hour)])

        return self._minute_joins.get(hour, make)

    # -- ids ------------------------------------------------------------------------------

    def _blocks_before(self, block: int) -> tuple[int, int]:
        """The trades and joins of the blocks from the listing's to ``block`` (excluded)."""
        index = max(0, block - self._first_block)
        trades, joins = self._trades_before, self._joins_before
        while len(trades) <= index:
            more, joined = self._block_total(self._first_block + len(trades) - 1)
            trades.append(trades[-1] + more)
            joins.append(joins[-1] + joined)
        return trades[index], joins[index]

    def _before(self, day: int) -> tuple[int, int]:
        """The trades and joins from the listing to ``day``'s start."""
        day = max(day, self.first_day)
        block, at = divmod(day, BLOCK_DAYS)
        trades, joins = self._blocks_before(block)
        counts, joined = self.block_days(block)
        return trades + sum(counts[:at]) - self._unlisted[0], joins + sum(joined[:at]) - self._unlisted[1]

    def day_first_id(self, day: int) -> int:
        """The id of ``day``'s first trade (``first_ids`` of its first minute)."""
        return 1 + self._before(day)[0]

    def first_ids(self, minute: int) -> tuple[int, int]:
        """The ids of ``minute``'s first trade and first aggregate."""
        day, hour = minute // 1440, minute // 60
        trades, joins = self._before(day)
        h, m = hour % 24, minute % 60
        trades += sum(self.hour_counts(day)[:h]) + sum(self.minute_counts(hour)[:m])
        joins += sum(self.hour_joins(day)[:h]) + sum(self.minute_joins(hour)[:m])
        return 1 + trades, 1 + trades - joins

    def live_ids(self, time_ms: int) -> tuple[int, int]:
        """The first trade id and aggregate id of a live market started at ``time_ms``: the
        next after the past's, which ends before its minute."""
        return self.first_ids(time_ms // 60_000)

    def minute_at(self, an_id: int, aggregates: bool, last_minute: int) -> int:
        """The minute holding trade ``an_id`` (``aggregates``: aggregate ``an_id``), at most
        ``last_minute``; for an id before the listing, a minute before its first."""
        last_day = last_minute // 1440
        if last_day < self.first_day:
            return last_minute
        self._blocks_before(last_day // BLOCK_DAYS + 1)
        unlisted = self._unlisted[0] - (self._unlisted[1] if aggregates else 0)
        offset = max(0, an_id - 1) + unlisted  # from the listing block's start
        trades, joins = self._trades_before, self._joins_before
        held = [t - j for t, j in zip(trades, joins, strict=True)] if aggregates else trades
        at = bisect_right(held, offset, hi=last_day // BLOCK_DAYS + 2 - self._first_block) - 1
        block = self._first_block + at
        if block * BLOCK_DAYS > last_day:
            return last_minute
        offset -= held[at]
        counts, joined = self.block_days(block)
        day = block * BLOCK_DAYS
        for size in _sizes(counts, joined, aggregates):
            if offset < size:
                break
            offset -= size
            day += 1
        if day > last_day:
            return last_minute
        hour = day * 24
        for size in _sizes(self.hour_counts(day), self.hour_joins(day), aggregates):
            if offset < size:
                break
            offset -= size
            hour += 1
        minute = hour * 60
        for size in _sizes(self.minute_counts(hour), self.minute_joins(hour), aggregates):
            if offset < size:
                break
            offset -= size
            minute += 1
        return min(minute, last_minute)


def _sizes(counts: list[int], joins: list[int], aggregates: bool) -> list[int]:
    """What each part holds: its trades, or its aggregates (trades less joins)."""
    return [c - j for c, j in zip(counts, joins, strict=True)] if aggregates else counts
