# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""``breakEvenPrice`` over a real socket (part 3 §7.7): the entry moved by the commission rate
paid on opening, a maker's 0.02 % as the doc's 0.385 × 1.0002, a taker's 0.05 %; the user
data stream's ``bep`` the same; a restart keeps what maker fills opened (the journal)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

import msgspec
from test_venue_clients import Venue, closing, plant, python_binance, user_stream, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

SYMBOL = "ETHUSDT"


def _moved(entry: str, rate: str) -> str:
    """``entry × (1 + rate)`` rounded down at 8 decimals, as positionRisk writes it."""
    text = str((Decimal(entry) * (1 + Decimal(rate))).quantize(Decimal("1e-8"), rounding=ROUND_FLOOR))
    return text.rstrip("0").rstrip(".") if "." in text else text


async def test_the_break_even_price_moves_by_the_rate_paid_on_opening(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """Alice's sell rests at the back of the best ask, and Bob's MARKET buy takes the level
    through it: Alice's short was opened by a maker fill (entry × (1 − 0.0002)), Bob's long
    by a taker's (× 1.0005)."""
    venue.store.deposit(venue.bob, Market.UM, "USDT", 10_000 * 10**8, plant.clock.now_ms())
    engine = plant.engines[Market.UM]
    inst = engine.instruments[SYMBOL]
    ask, ahead = next(engine.data.levels(SYMBOL, False))  # the still market's: it does not move
    price = fixed(ask, inst.price_decimals)
    alice = await python_binance(plant, closing, venue.alice_hmac)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    user = await user_stream(plant, venue.alice_hmac)
    rests = await alice.futures_create_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTX",
                                             quantity="0.010", price=price)  # fmt: skip
    assert rests["status"] == "NEW"
    taken = fixed(ahead + 10, inst.qty_decimals)  # the level and Alice's 0.010 behind it
    await bob.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=taken)
    (trade,) = await alice.futures_account_trades(symbol=SYMBOL)
    assert trade["maker"] is True and Decimal(trade["commission"]) == Decimal(price) * Decimal("0.010") * Decimal("0.0002")
    shown = None
    while shown is None:  # the fill's ACCOUNT_UPDATE
        event = msgspec.json.decode((await user.recv()).payload)
        if event["e"] == "ACCOUNT_UPDATE":
            shown = event["a"]["P"][0]
    await user.close()
    (short,) = [p for p in await alice.futures_position_information(symbol=SYMBOL) if float(p["positionAmt"])]
    (long,) = [p for p in await bob.futures_position_information(symbol=SYMBOL) if float(p["positionAmt"])]
    # entryPrice written without trailing zeros (an ask of 3135.50 is "3135.5"): compared as numbers
    assert (short["positionAmt"], Decimal(short["entryPrice"])) == ("-0.010", Decimal(price))
    assert short["breakEvenPrice"] == _moved(price, "-0.0002") == shown["bep"]  # not the taker's -0.0005
    assert long["breakEvenPrice"] == _moved(long["entryPrice"], "0.0005")
