"""The history answers' past trades (protocol/past_trades.py), without sockets: the latest
past trades before the live ones, made a piece at a time, are made once for every answer
that asks for them while they are made (a burst of kept-alive clients is routed, a request
a turn, before the first answer is whole), each answer the same bytes as one made alone."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import msgspec
import pytest

from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.trades.history import Aggregate
from tickerplant.market.units import DAY_MS
from tickerplant.protocol.past_trades import PastTrades

NOW = 1_795_000_000_123  # the live start
_encode = msgspec.json.Encoder().encode


def _past_trades() -> tuple[PastTrades, dict[str, Instrument]]:
    """A server's past trades, its caches its own (a fresh past: nothing made yet)."""
    listed = [i for m in Market for i in catalogue(m, NOW)]
    spec = PastSpec(1, 2000.0, NOW, None, NOW - DAY_MS)
    return PastTrades(SimulatedPast(listed, 1, 2000.0), spec), {i.symbol: i for i in listed}


def _counted(encoded: list[int]) -> Callable[[Aggregate], bytes]:
    """A row of an answer, each call counted in ``encoded``."""

    def row(a: Aggregate) -> bytes:
        encoded[0] += 1
        return _encode([a.agg_id, a.first_id, a.last_id, a.time_ms, a.price, a.qty, a.buyer_is_maker])

    return row


def _round_robin(answers: list[Iterator[None]]) -> None:
    """Step each of ``answers`` in turn, a piece each, until every one is made."""
    waiting = list(answers)
    while waiting:
        for pieces in list(waiting):
            if next(pieces, StopIteration) is StopIteration:
                waiting.remove(pieces)


@pytest.mark.parametrize("kind", ["aggTrades", "trades"])
def test_answers_begun_while_the_latest_past_trades_are_made_make_them_once(kind: str) -> None:
    alone, insts = _past_trades()
    inst = insts["BTCUSDT"]
    encoded = [0]
    row = _counted(encoded)
    _round_robin([alone.recent_pieces(inst, 1000, None, kind, row)])
    made_alone = alone.recent_rows(inst, 1000, None, kind, row)
    assert encoded[0] == 1000  # each of the 1,000 rows once

    burst, _ = _past_trades()
    encoded[0] = 0
    answers = [burst.recent_pieces(inst, count, None, kind, row) for count in (1000, 1000, 300, 1000)]
    _round_robin(answers)
    assert encoded[0] == 1000  # four answers begun together: the rows made once, not four times
    rows = [burst.recent_rows(inst, count, None, kind, row) for count in (1000, 300)]
    assert encoded[0] == 1000  # and kept: each answer after is a join
    assert rows[0] == made_alone
    decoded = [msgspec.json.decode(b"[" + r + b"]") for r in rows]
    assert decoded[1] == decoded[0][-300:]
    ids = [r[0] if kind == "aggTrades" else r[2] for r in decoded[0]]
    trade_id, agg_id = burst.past.live_ids("BTCUSDT", NOW)  # the live market's first
    first_live = agg_id + burst.agg_base if kind == "aggTrades" else trade_id + burst.trade_base
    assert ids == list(range(first_live - 1000, first_live))  # contiguous up to the live start


def test_an_answer_that_leaves_midway_leaves_the_making_to_the_others() -> None:
    trades, insts = _past_trades()
    inst = insts["ETHUSDT"]
    encoded = [0]
    row = _counted(encoded)
    left, stays = (trades.recent_pieces(inst, 1000, None, "trades", row) for _ in range(2))
    for pieces in itertools.islice(itertools.cycle([left, stays]), 6):
        next(pieces)
    left.close()  # its client gone: its answer is dropped
    for _ in stays:
        pass
    assert encoded[0] == 1000
    fresh, _ = _past_trades()
    assert trades.recent_rows(inst, 1000, None, "trades", row) == fresh.recent_rows(inst, 1000, None, "trades", row)
