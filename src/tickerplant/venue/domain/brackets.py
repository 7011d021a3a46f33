"""Leverage brackets (part 3 §6), data: BTC and ETH have their own tables, every other
symbol ADAUSDT's ladder (USDⓈ-M, notional in USDT). COIN-M's are in the coin (§4.9), and
§6.2 gives BTCUSD_PERP's alone: every other pair has BTC's ladder, its floors and caps
scaled to the same value (``coin_scale``): BTC's 5 BTC first cap is 145 ETH or 3.2 M DOGE,
not 5 DOGE (at 20× its 50 DOGE, ~$7, were less than one 10 USD contract: DOGE could not
be traded). Each bracket's maintenance ratio and amount are exact, and also kept as
integers for the maintenance margin in 1e-8 (``Contract.maintenance_e8``):
the ratio as a numerator and a denominator, the amount in 1e-8 (a floor times ratios of a
few decimals: exact on that grid)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

from tickerplant.market.instruments import Instrument, Market, listed_price
from tickerplant.venue.domain.money import AMOUNT_SCALE

__all__ = ["Bracket", "bracket_at", "brackets_of", "caps_of", "coin_scale", "max_notional"]


@dataclass(frozen=True, slots=True)
class Bracket:
    initial_leverage: int
    floor: int  # notional (USDⓈ-M, in the margin asset) or quantity (COIN-M, in the coin)
    cap: int
    mmr: Fraction  # maintMarginRatio
    cum: Fraction  # maintenance amount
    mmr_den: int = 1  # ``mmr`` as ``mmr_num / mmr_den``, integers
    mmr_num: int = 0
    cum_e8: int = 0  # ``cum`` in 1e-8, exact


def _table(rows: tuple[tuple[int, int, int, str], ...]) -> tuple[Bracket, ...]:
    brackets: list[Bracket] = []
    cum, previous = Fraction(0), Fraction(0)
    for leverage, floor, cap, mmr_text in rows:
        mmr = Fraction(mmr_text)
        cum += floor * (mmr - previous)  # §6.1: the maintenance amount keeps MM continuous
        scaled = cum * AMOUNT_SCALE
        if scaled.denominator != 1:
            raise ValueError(f"a maintenance amount off the 1e-8 grid: {cum}")
        ratio = (mmr.denominator, mmr.numerator)
        brackets.append(Bracket(leverage, floor, cap, mmr, cum, *ratio, scaled.numerator))
        previous = mmr
    return tuple(brackets)


_BTCUSDT = _table((
    (125, 0, 50_000, "0.004"), (100, 50_000, 250_000, "0.005"), (50, 250_000, 3_000_000, "0.01"),
    (20, 3_000_000, 20_000_000, "0.025"), (10, 20_000_000, 40_000_000, "0.05"),
    (5, 40_000_000, 100_000_000, "0.1"), (4, 100_000_000, 120_000_000, "0.125"),
    (3, 120_000_000, 200_000_000, "0.15"), (2, 200_000_000, 300_000_000, "0.25"),
    (1, 300_000_000, 500_000_000, "0.5"),
))  # fmt: skip
_ETHUSDT = _table((
    (100, 0, 100_000, "0.005"), (75, 100_000, 250_000, "0.0065"), (50, 250_000, 2_000_000, "0.01"),
    (25, 2_000_000, 15_000_000, "0.02"), (10, 15_000_000, 30_000_000, "0.05"),
    (5, 30_000_000, 60_000_000, "0.1"), (4, 60_000_000, 80_000_000, "0.125"),
    (3, 80_000_000, 100_000_000, "0.15"), (2, 100_000_000, 150_000_000, "0.25"),
    (1, 150_000_000, 300_000_000, "0.5"),
))  # fmt: skip
_ALT_USDT = _table((
    (75, 0, 10_000, "0.0065"), (50, 10_000, 50_000, "0.01"), (25, 50_000, 250_000, "0.02"),
    (10, 250_000, 1_000_000, "0.05"), (5, 1_000_000, 2_000_000, "0.1"), (4, 2_000_000, 5_000_000, "0.125"),
    (3, 5_000_000, 10_000_000, "0.15"), (2, 10_000_000, 20_000_000, "0.25"),
))  # fmt: skip
_COIN_ROWS = (
    (125, 0, 5, "0.004"), (100, 5, 10, "0.005"), (50, 10, 20, "0.01"), (20, 20, 50, "0.025"),
    (10, 50, 100, "0.05"), (5, 100, 200, "0.1"), (4, 200, 400, "0.125"), (3, 400, 1000, "0.15"),
    (2, 1000, 1500, "0.25"), (1, 1500, 3000, "0.5"),
)  # fmt: skip


@functools.cache
def _coin(scale: int) -> tuple[Bracket, ...]:
    """BTCUSD_PERP's ladder (§6.2) with its floors and caps ``scale`` times the coin."""
    return _table(tuple((lev, floor * scale, cap * scale, mmr) for lev, floor, cap, mmr in _COIN_ROWS))


def coin_scale(inst: Instrument) -> int:
    """How many of ``inst``'s coin BTC's ladder's one BTC is (a COIN-M pair's): BTC's price
    over the coin's, both as the catalogue lists them (a pair it does not list, a replay's or
    a relay's: at its initial price, its files' first or its upstream's mark when listed), to
    two significant digits; 1 for BTC, for a coin with no price and for a coin
    worth more. The listed prices, not the market's: the ladder does not move between
    starts, nor with the price (Binance's tables change by announcement)."""
    btc = listed_price(Market.CM, "BTC")
    price = listed_price(Market.CM, inst.base_asset)
    if price is None:
        price = Fraction(inst.initial_price, 10**inst.price_decimals)
    if btc is None or price <= 0 or price >= btc:
        return 1
    ratio = btc / price
    unit: int = 10 ** max(0, math.floor(math.log10(ratio)) - 1)  # two significant digits
    return max(1, round(ratio / unit) * unit)


def brackets_of(inst: Instrument) -> tuple[Bracket, ...]:
    if inst.market is Market.CM:
        return _coin(coin_scale(inst))
    return {"BTC": _BTCUSDT, "ETH": _ETHUSDT}.get(inst.base_asset, _ALT_USDT)


def bracket_at(brackets: tuple[Bracket, ...], size: int, den: int = 1) -> Bracket:
    """The bracket that holds a notional of ``size / den`` (§6.1): its cap at least it."""
    for candidate in brackets:
        if size <= candidate.cap * den:
            return candidate
    return brackets[-1]


def max_notional(brackets: tuple[Bracket, ...], leverage: int) -> int:
    """§6.1: the cap of the highest bracket whose initial leverage is at least ``leverage``."""
    allowed = [b.cap for b in brackets if b.initial_leverage >= leverage]
    return max(allowed) if allowed else brackets[0].cap


# a table's caps (``caps_of``) by the table's identity, the table kept beside them: while an
# entry holds it, no other object can have its id. The tables are few (``brackets_of``'s
# constants, one per COIN-M scale), each engine's ``Contract``s read them at every start.
_CAPS_KEPT = 64
_caps: dict[int, tuple[tuple[Bracket, ...], tuple[int, ...]]] = {}


def caps_of(brackets: tuple[Bracket, ...]) -> tuple[int, ...]:
    """``max_notional`` at each leverage from 0 to the highest, by index: read by every
    placement's -2027 check (at most 126 entries), made once per table in a process (an
    engine's 40 symbols made them in ~2.8 ms at each start; by identity, not by value: a
    table's hash is its ``Fraction``s')."""
    kept = _caps.get(id(brackets))
    if kept is not None and kept[0] is brackets:
        return kept[1]
    caps = tuple(max_notional(brackets, leverage) for leverage in range(brackets[0].initial_leverage + 1))
    if len(_caps) >= _CAPS_KEPT:
        _caps.clear()
    _caps[id(brackets)] = (brackets, caps)
    return caps
