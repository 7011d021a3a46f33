"""The simulated market's index, mark price and funding (feeds/simulator/derivatives.py),
driven with the simulator on a clock passed in: deterministic per seed, and every value the
formulas of market/derivatives/mark_price.py give over the books it sampled."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from tickerplant.feeds.simulator.derivatives import WARM_FUNDING_EVENTS, SimulatedDerivatives
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.derivatives.mark_price import (
    DEFAULT_CAP,
    FUNDING_INTERVAL_MS,
    ONE,
    PremiumAverage,
    funding_rate,
    impact_price,
    premium_index,
)
from tickerplant.market.instruments import ContractType, Instrument, Market, catalogue
from tickerplant.market.updates import FundingRate, IndexPrice, MarketUpdate, MarkPrice

FUNDING = 1_767_254_400_000  # 2026-01-01T08:00Z
START = FUNDING - 90_000  # a minute and a half before it


def _market() -> list[Instrument]:
    return [inst for market in Market for inst in catalogue(market, START)]


def _run(seed: int, seconds: int) -> tuple[Simulator, SimulatedDerivatives, list[Sequence[MarketUpdate]]]:
    insts = _market()
    sim = Simulator(insts, seed=seed, actions_per_s=1000.0, start_ms=START, book_levels=20)
    derivatives = SimulatedDerivatives(insts, seed=seed, start_ms=START)
    samples = []
    for now in range(START + 250, START + seconds * 1000, 250):
        sim.advance(now)
        derived = derivatives.advance(now, sim.books, sim.fair_price, lambda symbol: None)
        if derived:
            samples.append(derived)
    return sim, derivatives, samples


def test_same_seed_same_values_and_another_seed_others() -> None:
    _, first, a = _run(3, 20)
    _, _, b = _run(3, 20)
    _, _, c = _run(4, 20)
    assert a == b and a != c
    assert first.warm_funding(START) == SimulatedDerivatives(_market(), 3, START).warm_funding(START)


def test_one_sample_per_whole_second_with_every_symbol_and_coin_m_index() -> None:
    _, _, samples = _run(1, 10)
    assert len(samples) == 9
    for sample in samples:
        marks = [u for u in sample if type(u) is MarkPrice]
        assert len(marks) == len(_market())
        assert {u.time_ms for u in sample} == {marks[0].time_ms} and marks[0].time_ms % 1000 == 0
        pairs = {u.pair for u in sample if type(u) is IndexPrice}
        assert pairs == {inst.pair for inst in catalogue(Market.CM, START)}


def test_funding_rates_are_the_formula_over_the_premiums_of_the_books_sampled() -> None:
    insts = {inst.symbol: inst for inst in _market()}
    sim = Simulator(list(insts.values()), seed=7, actions_per_s=1000.0, start_ms=START, book_levels=20)
    derivatives = SimulatedDerivatives(list(insts.values()), seed=7, start_ms=START)
    perpetuals = [symbol for symbol, inst in insts.items() if inst.contract_type is ContractType.PERPETUAL]
    averages = {symbol: PremiumAverage() for symbol in perpetuals}
    fundings: list[FundingRate] = []
    for now in range(START + 500, FUNDING + 5_000, 500):
        sim.advance(now)
        for update in derivatives.advance(now, sim.books, sim.fair_price, lambda symbol: None):
            if type(update) is FundingRate:
                assert update.funding_ms == FUNDING
                expected = funding_rate(averages[update.symbol].average())
                assert update.rate == expected
                averages[update.symbol].reset()
                fundings.append(update)
                continue
            if type(update) is not MarkPrice:
                continue
            inst = insts[update.symbol]
            # the premium of the book as it stands, against the index handed out
            book = sim.books[update.symbol]
            sizes = {"price_decimals": inst.price_decimals, "qty_decimals": inst.qty_decimals,
                     "contract_size": inst.contract_size, "inverse": inst.market is Market.CM}  # fmt: skip
            notional = 25_000 if inst.base_asset in ("BTC", "ETH") else 10_000
            bid = impact_price(((p, book.bids[p]) for p in reversed(book.bid_prices)), notional, **sizes)  # type: ignore[arg-type]
            ask = impact_price(((p, book.asks[p]) for p in book.ask_prices), notional, **sizes)  # type: ignore[arg-type]
            assert bid is not None and ask is not None
            premium = premium_index(bid, ask, update.index_price)
            assert update.premium_index == premium, "every contract carries it, for premiumIndexKlines"
            if inst.contract_type is not ContractType.PERPETUAL:
                assert (update.funding_rate, update.interest_rate, update.next_funding_ms) == (None, None, 0)
                continue
            averages[update.symbol].add(premium)
            assert update.funding_rate == funding_rate(averages[update.symbol].average())
            assert update.next_funding_ms in (FUNDING, FUNDING + FUNDING_INTERVAL_MS)
            # a perpetual's mark stays near its index: within the funding cap
            assert abs(update.mark_price - update.index_price) * ONE <= DEFAULT_CAP * update.index_price
            unit = 10 ** (8 - inst.price_decimals)  # one price unit in mark units
            assert abs(derivatives.mark_units(update.symbol) * unit - update.mark_price) * 2 <= unit
    assert {f.symbol for f in fundings} == set(averages), "every perpetual funds once at 08:00"


def test_the_warm_funding_history_is_thirty_plausible_events_per_perpetual() -> None:
    derivatives = SimulatedDerivatives(_market(), seed=1, start_ms=START)
    history = derivatives.warm_funding(START)
    perpetuals = [i for i in _market() if i.contract_type is ContractType.PERPETUAL]
    assert len(history) == WARM_FUNDING_EVENTS * len(perpetuals)
    assert [e.funding_ms for e in history] == sorted(e.funding_ms for e in history)
    times = sorted({e.funding_ms for e in history})
    assert times[-1] == FUNDING - FUNDING_INTERVAL_MS and len(times) == WARM_FUNDING_EVENTS
    assert all(b - a == FUNDING_INTERVAL_MS for a, b in pairwise(times))
    assert all(abs(e.rate) <= DEFAULT_CAP and e.mark_price > 0 for e in history)
    rates = [e.rate for e in history]
    assert rates.count(10_000) > len(rates) // 2, "mostly the interest rate, as on Binance"
    assert len(set(rates)) > 5, "but not always"
    # asking for it changes nothing that follows
    _, _, a = _run(1, 5)
    insts = _market()
    sim = Simulator(insts, seed=1, actions_per_s=1000.0, start_ms=START, book_levels=20)
    other = SimulatedDerivatives(insts, seed=1, start_ms=START)
    other.warm_funding(START)
    b = []
    for now in range(START + 250, START + 5_000, 250):
        sim.advance(now)
        derived = other.advance(now, sim.books, sim.fair_price, lambda symbol: None)
        if derived:
            b.append(derived)
    assert a == b
