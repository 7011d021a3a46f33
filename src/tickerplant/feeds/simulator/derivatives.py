"""The simulated market's derivatives data: index prices, premiums, mark prices, funding.

Each pair (``BTCUSDT`` on USDⓈ-M, ``BTCUSD`` on COIN-M) has an *index price*, the spot index
its contracts refer to. The simulated books follow a latent fair price (``fair_price``);
the index is that fair price (its perpetual's) times ``1 + x``, where ``x`` is the index's
own small noise: the sum of two mean-reverting (Ornstein-Uhlenbeck) processes, a fast one
(2 bp over minutes) and a slow one (3 bp over hours), so the perpetual trades at a
premium or discount to its index that comes and goes, as a real one does.

Once a second (each whole second the shell advances through, one sample however many
seconds a stall skipped), for every symbol:

- the index of its pair moves;
- the basis (mid − index) goes into its 30-minute moving average;
- its premium index comes from its book's impact bid and ask prices for its impact
  notional (``_IMPACT_NOTIONAL``; the last one sampled when the book is too thin for it);
  a perpetual's goes into the interval's time-weighted average, from which the funding
  rate of the next funding follows; every contract's is in its ``MarkPrice``, for
  premiumIndexKlines;
- its ``MarkPrice`` (``market/derivatives/mark_price.py``'s formulas) is handed out, and on COIN-M each
  pair's ``IndexPrice``.

At each funding time (00:00, 08:00, 16:00 UTC) every perpetual hands out a ``FundingRate``
at the rate its interval's premiums give, and starts a new interval. Delivery contracts
(COIN-M's quarterlies) have no funding: ``r`` "" and ``T`` 0 on the wire.

``warm_funding`` makes the 30 funding events before the start from the same formula over a
synthetic premium path (a sample every hour of the same noise), so the funding
history is plausible from the first request; asking for it changes nothing that follows.

Sans-I/O and deterministic per seed: time, the books, the fair prices and the last trade
prices come in as arguments, and every draw comes from ``random.Random``s seeded from the
seed. Memory is fixed per symbol: the basis ring of 1,800 samples (14 kB) and a few numbers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.derivatives.mark_price import (
    FUNDING_INTERVAL_MS,
    INTEREST_RATE,
    ONE,
    BasisAverage,
    PremiumAverage,
    SettleAverage,
    funding_rate,
    impact_price,
    mark_price,
    next_funding_ms,
    premium_index,
    price_to_mark,
    round_div,
)
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS
from tickerplant.market.updates import FundingRate, IndexPrice, MarketUpdate, MarkPrice

__all__ = ["WARM_FUNDING_EVENTS", "SimulatedDerivatives"]

WARM_FUNDING_EVENTS = 30  # funding events before the start: ten days of history
_FAST_TAU_MS, _FAST_SD = 10 * MINUTE_MS, 2e-4  # the index noise's two components
_SLOW_TAU_MS, _SLOW_SD = 6 * HOUR_MS, 3e-4
_WARM_SAMPLE_MS = HOUR_MS  # coarse: a server starts often (tests), and the path is synthetic anyway
# Impact margin notional, in the quote asset (USDT; USD on COIN-M): Binance's 200 USDT over
# the initial margin rate at the highest leverage, 25,000 for 125x and 10,000 for 50x.
_IMPACT_NOTIONAL = {"BTC": 25_000, "ETH": 25_000}
_DEFAULT_IMPACT_NOTIONAL = 10_000
_NO_UPDATES: tuple[MarketUpdate, ...] = ()


class _Index:
    """A pair's index: the fair price of ``reference`` times one plus its own noise."""

    __slots__ = ("fast", "pair", "price", "price_decimals", "reference", "slow")

    def __init__(self, pair: str, reference: Instrument, rng: random.Random) -> None:
        self.pair = pair
        self.reference = reference.symbol  # the pair's perpetual, whose fair price it tracks
        self.price_decimals = reference.price_decimals
        self.fast = rng.gauss() * _FAST_SD  # from the stationary distribution
        self.slow = rng.gauss() * _SLOW_SD
        self.price = price_to_mark(reference.initial_price, reference.price_decimals)

    def move(self, elapsed_ms: int, gauss: Callable[[], float]) -> None:
        self.fast = _ou(self.fast, elapsed_ms, _FAST_TAU_MS, _FAST_SD, gauss)
        self.slow = _ou(self.slow, elapsed_ms, _SLOW_TAU_MS, _SLOW_SD, gauss)


class _Contract:
    """One symbol's derivatives state."""

    __slots__ = (
        "_per_unit", "basis", "index", "inst", "mark", "mark_units", "notional", "perpetual", "premium",
        "rate", "sampled", "settle",
    )  # fmt: skip

    def __init__(self, inst: Instrument, index: _Index) -> None:
        self.inst = inst
        self.index = index
        self.perpetual = inst.contract_type is ContractType.PERPETUAL
        self.notional = _IMPACT_NOTIONAL.get(inst.base_asset, _DEFAULT_IMPACT_NOTIONAL)
        self.basis = BasisAverage()
        self.premium = PremiumAverage()
        self.sampled: int | None = None  # the last premium index sampled from the book
        self.settle = SettleAverage()
        self.rate = funding_rate(0) if self.perpetual else None  # the next funding's, so far
        self._per_unit = price_to_mark(1, inst.price_decimals)  # mark units a price unit
        self.mark = self.mark_units = 0
        self.moved_to(index.price)

    def moved_to(self, mark: int) -> None:
        """The mark price (mark units), and in the book's price units, rounded half up: the
        liquidation engine reads that at each look (every 20 ms, every symbol), the mark
        moves once a second."""
        self.mark = mark
        self.mark_units = round_div(mark, self._per_unit)


class SimulatedDerivatives:
    """Index, premium, mark price and funding of a simulated market; see the module
    docstring. ``advance`` is called with every batch and returns nothing until a new
    second is due; ``mark_units`` is the last mark price of a symbol."""

    def __init__(self, instruments: Sequence[Instrument], seed: int, start_ms: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed * 1_000_003 + 0x4D41524B)  # its own stream: "MARK"
        self._indexes: dict[tuple[Market, str], _Index] = {}
        for inst in sorted(instruments, key=lambda i: i.contract_type is not ContractType.PERPETUAL):
            key = (inst.market, inst.pair)
            if key not in self._indexes:
                self._indexes[key] = _Index(inst.pair, inst, self._rng)
        self._contracts = {i.symbol: _Contract(i, self._indexes[(i.market, i.pair)]) for i in instruments}
        self._cm_indexes = [index for (market, _), index in self._indexes.items() if market is Market.CM]
        self._last_sample_ms = start_ms
        self._next_ms = (start_ms // SECOND_MS + 1) * SECOND_MS
        self.next_funding_ms = next_funding_ms(start_ms)

    def mark_units(self, symbol: str) -> int:
        """The last mark price of ``symbol`` in its price units (``10**-price_decimals``,
        the units of its book), rounded half up."""
        return self._contracts[symbol].mark_units

    @property
    def next_ms(self) -> int:
        """When the next sample falls due (``advance``): the next whole second."""
        return self._next_ms

    def advance(
        self,
        now_ms: int,
        books: Mapping[str, OrderBook],
        fair_price: Callable[[str], int],
        last_price: Callable[[str], int | None],
    ) -> Sequence[MarketUpdate]:
        """What falls due up to ``now_ms``: nothing within a second already sampled, else a
        sample (``sample``) stamped with the whole second."""
        if now_ms < self._next_ms:
            return _NO_UPDATES
        return self.sample(now_ms // SECOND_MS * SECOND_MS, books, fair_price, last_price)

    def sample(
        self,
        now_ms: int,
        books: Mapping[str, OrderBook],
        fair_price: Callable[[str], int],
        last_price: Callable[[str], int | None],
    ) -> list[MarketUpdate]:
        """Move the indexes to ``now_ms``, pay the fundings that fell due, sample every
        symbol and return its ``MarkPrice`` (and each COIN-M pair's ``IndexPrice``): the
        parts of ``sample_parts``, at once.

        ``fair_price(symbol)`` and ``last_price(symbol)`` are in the symbol's price units;
        ``last_price`` is None for a symbol that never traded."""
        parts = self.sample_parts(now_ms, books, fair_price, last_price)
        return [update for part in parts for update in part]

    def sample_parts(
        self,
        now_ms: int,
        books: Mapping[str, OrderBook],
        fair_price: Callable[[str], int],
        last_price: Callable[[str], int | None],
        size: int | None = None,
    ) -> Iterator[list[MarketUpdate]]:
        """``sample``'s updates, ``size`` symbols' at a time (None: all in one part): the
        indexes move and the fundings are paid before the first, each COIN-M pair's
        ``IndexPrice`` comes with the last. Each symbol's sample reads only its own book and
        prices and draws nothing at random, so a shell that hands the parts out on loop
        turns of their own (``feeds/simulator/pump.py``: a whole sample held its loop about
        a millisecond) puts the same values on the wire as one part would, for the books as
        each part finds them."""
        out: list[MarketUpdate] = []
        elapsed = max(0, now_ms - self._last_sample_ms)
        self._last_sample_ms = now_ms
        self._next_ms = now_ms // SECOND_MS * SECOND_MS + SECOND_MS
        gauss = self._rng.gauss
        for pair in self._indexes.values():
            pair.move(elapsed, gauss)
            fair = price_to_mark(fair_price(pair.reference), pair.price_decimals)
            pair.price = max(1, round(fair * (1.0 + pair.fast + pair.slow)))
        if now_ms >= self.next_funding_ms:
            self._fund(self.next_funding_ms, out)
            self.next_funding_ms = next_funding_ms(now_ms)
        until_funding = self.next_funding_ms - now_ms
        size = size or len(self._contracts)
        for n, (symbol, contract) in enumerate(self._contracts.items()):
            if n and n % size == 0:
                yield out
                out = []
            out.append(self._mark(contract, books[symbol], now_ms, until_funding, last_price(symbol)))
        for pair in self._cm_indexes:
            out.append(IndexPrice(pair.pair, now_ms, pair.price))
        yield out

    def _mark(
        self, contract: _Contract, book: OrderBook, now_ms: int, until_funding: int, last: int | None
    ) -> MarkPrice:
        """``contract``'s sample at ``now_ms``: its basis, premium, funding rate and mark."""
        inst, index = contract.inst, contract.index.price
        top = book.top()
        if top is not None:
            mid = price_to_mark(top[0] + top[2], inst.price_decimals) // 2
            contract.basis.add(mid - index)
        contract.settle.add(now_ms, index)
        premium = self._premium(contract, book, index)  # delivery's too: premiumIndexKlines
        if premium is not None:
            contract.sampled = premium
        if contract.perpetual:
            if premium is not None:
                contract.premium.add(premium)
            contract.rate = funding_rate(contract.premium.average())
        last_mark = None if last is None else price_to_mark(last, inst.price_decimals)
        basis = contract.basis.average()
        contract.moved_to(mark_price(index, contract.rate, until_funding, basis, last_mark))
        interest, next_ms = (INTEREST_RATE, self.next_funding_ms) if contract.perpetual else (None, 0)
        settle, rate = contract.settle.value(), contract.rate
        return MarkPrice(
            inst.symbol, now_ms, contract.mark, index, settle, rate, interest, next_ms, contract.sampled
        )

    def warm_funding(self, now_ms: int, count: int = WARM_FUNDING_EVENTS) -> list[FundingRate]:
        """The ``count`` funding events of every perpetual before ``now_ms``, ascending in
        time: the formula over a synthetic premium path, one sample an hour, and a
        mark price that walks back from the instrument's initial price at its volatility."""
        rng = random.Random(self.seed * 1_000_003 + 0x46554E44)  # "FUND": apart from the live draws
        last_funding = next_funding_ms(now_ms) - FUNDING_INTERVAL_MS
        times = [last_funding - k * FUNDING_INTERVAL_MS for k in range(count)][::-1]
        samples = FUNDING_INTERVAL_MS // _WARM_SAMPLE_MS
        out: list[FundingRate] = []
        for symbol, contract in self._contracts.items():
            if not contract.perpetual:
                continue
            inst = contract.inst
            fast, slow = rng.gauss() * _FAST_SD, rng.gauss() * _SLOW_SD
            step_sd = inst.daily_volatility * math.sqrt(FUNDING_INTERVAL_MS / DAY_MS)
            walk = [rng.gauss() * step_sd for _ in times]
            log_factor = -sum(walk)  # the first funding's price, walking forward to now
            start = price_to_mark(inst.initial_price, inst.price_decimals)
            for time_ms, step in zip(times, walk, strict=True):
                average = PremiumAverage()
                for _ in range(samples):
                    fast = _ou(fast, _WARM_SAMPLE_MS, _FAST_TAU_MS, _FAST_SD, rng.gauss)
                    slow = _ou(slow, _WARM_SAMPLE_MS, _SLOW_TAU_MS, _SLOW_SD, rng.gauss)
                    average.add(round(-(fast + slow) * ONE))  # the book at the fair price
                log_factor += step
                mark = max(1, round(start * math.exp(log_factor)))
                out.append(FundingRate(symbol, time_ms, funding_rate(average.average()), mark))
        out.sort(key=lambda event: event.funding_ms)
        return out

    # -- internals --------------------------------------------------------------------

    def _fund(self, funding_ms: int, out: list[MarketUpdate]) -> None:
        for symbol, contract in self._contracts.items():
            if contract.rate is None:
                continue
            out.append(FundingRate(symbol, funding_ms, contract.rate, contract.mark))
            contract.premium.reset()
            contract.rate = funding_rate(0)

    @staticmethod
    def _premium(contract: _Contract, book: OrderBook, index: int) -> int | None:
        inst = contract.inst
        pd, qd, size = inst.price_decimals, inst.qty_decimals, inst.contract_size
        inverse = inst.market is Market.CM
        bids = ((p, book.bids[p]) for p in reversed(book.bid_prices))
        asks = ((p, book.asks[p]) for p in book.ask_prices)
        notional = contract.notional
        bid = impact_price(
            bids, notional, price_decimals=pd, qty_decimals=qd, contract_size=size, inverse=inverse
        )
        ask = impact_price(
            asks, notional, price_decimals=pd, qty_decimals=qd, contract_size=size, inverse=inverse
        )
        if bid is None or ask is None:
            return None
        return premium_index(bid, ask, index)


def _ou(x: float, elapsed_ms: int, tau_ms: int, sd: float, gauss: Callable[[], float]) -> float:
    """An Ornstein-Uhlenbeck step of ``elapsed_ms``, exact: it keeps its stationary ``sd``."""
    keep = math.exp(-elapsed_ms / tau_ms)
    return x * keep + sd * math.sqrt(1.0 - keep * keep) * gauss()

