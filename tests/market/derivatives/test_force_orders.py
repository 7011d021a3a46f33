"""The liquidation streams (market/derivatives/force_orders.py, spec §4.10): golden payload bytes on
both markets, and the one-per-second rule through the plant: USDⓈ-M the largest of the
second, COIN-M the latest, the same single object on `!forceOrder@arr`."""

from __future__ import annotations

import msgspec
import pytest

from tickerplant.market.derivatives.force_orders import force_order
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import Liquidation

T0 = 1_767_225_600_000  # a whole second
UM = catalogue(Market.UM, T0)
CM = catalogue(Market.CM, T0)
BTCUSDT = next(i for i in UM if i.symbol == "BTCUSDT")
BTCUSD = next(i for i in CM if i.symbol == "BTCUSD_PERP")
encode = msgspec.json.Encoder().encode


def test_golden_usdm_payload() -> None:
    # the documented example (spec §4.10), at BTCUSDT's precision
    order = Liquidation("BTCUSDT", 1568014460893, False, 14, 991000, 991000, 14)
    assert encode(force_order(BTCUSDT, order, 1568014460900)) == (
        b'{"e":"forceOrder","E":1568014460900,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",'
        b'"q":"0.014","p":"9910.00","ap":"9910.00","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}'
    )


def test_golden_coinm_payload_has_ps_right_after_s() -> None:
    order = Liquidation("BTCUSD_PERP", 1591154240949, False, 1, 94255, 94965, 1)
    assert encode(force_order(BTCUSD, order, 1591154240950)) == (
        b'{"e":"forceOrder","E":1591154240950,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"SELL","o":"LIMIT",'
        b'"f":"IOC","q":"1","p":"9425.5","ap":"9496.5","X":"FILLED","l":"1","z":"1","T":1591154240949}}'
    )


def test_a_short_liquidated_buys_and_an_unfilled_rest_expires() -> None:
    order = Liquidation("BTCUSDT", T0, True, 30, 9_100_000, 9_050_050, 20)
    payload = msgspec.json.decode(encode(force_order(BTCUSDT, order, T0)))
    assert payload["o"]["S"] == "BUY" and payload["o"]["X"] == "EXPIRED"
    assert (payload["o"]["q"], payload["o"]["z"], payload["o"]["l"]) == ("0.030", "0.020", "0.020")
    assert payload["o"]["ap"] == "90500.50"


def _liq(symbol: str, at_ms: int, filled: int) -> Liquidation:
    return Liquidation(symbol, at_ms, False, filled, 8_900_000, 8_950_000, filled)


def _pushed(out: list[StreamMessage]) -> list[tuple[str, dict[str, object]]]:
    return [(m.stream, msgspec.json.decode(m.payload)) for m in out if "forceOrder" in m.stream]


@pytest.mark.parametrize(("market", "symbol", "kept"), [(Market.UM, "BTCUSDT", 9), (Market.CM, "BTCUSD_PERP", 7)])
def test_one_per_symbol_per_second_um_the_largest_cm_the_latest(market: Market, symbol: str, kept: int) -> None:
    instruments = UM if market is Market.UM else CM
    plant = Plant(market, instruments, now_ms=T0)
    out: list[StreamMessage] = []
    for at, filled in ((T0 + 100, 5), (T0 + 200, 9), (T0 + 300, 7)):
        plant.apply(_liq(symbol, at, filled), at, out)
    plant.apply(_liq(instruments[1].symbol, T0 + 400, 3), T0 + 400, out)
    assert _pushed(out) == []  # nothing until the second is over
    assert plant.next_tick_ms <= T0 + 1000
    plant.tick(T0 + 999, out)
    assert _pushed(out) == []
    plant.tick(T0 + 1000, out)
    pushed = _pushed(out)
    lower = symbol.lower()
    assert [stream for stream, _ in pushed] == [
        f"{lower}@forceOrder", "!forceOrder@arr", f"{instruments[1].symbol.lower()}@forceOrder", "!forceOrder@arr",
    ]
    forced = [m for m in out if "forceOrder" in m.stream]
    assert forced[0].payload == forced[1].payload  # one object, the same bytes, on both
    first = pushed[0][1]
    assert isinstance(first, dict) and first["E"] == T0 + 1000
    order = first["o"]
    assert isinstance(order, dict) and order["z"] == str(kept) if market is Market.CM else order["z"] == f"0.00{kept}"
    # nothing in the next second: nothing pushed; one again: pushed after it
    out.clear()
    plant.tick(T0 + 2000, out)
    assert _pushed(out) == []
    plant.apply(_liq(symbol, T0 + 2500, 2), T0 + 2500, out)
    plant.tick(T0 + 3000, out)
    assert len(_pushed(out)) == 2


def test_a_kept_order_of_an_earlier_second_goes_before_a_new_one() -> None:
    plant = Plant(Market.UM, UM, now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(_liq("BTCUSDT", T0 + 900, 5), T0 + 900, out)
    plant.apply(_liq("BTCUSDT", T0 + 1100, 1), T0 + 1100, out)  # no tick came in between
    pushed = _pushed(out)
    assert len(pushed) == 2 and pushed[0][1]["E"] == T0 + 1000
    plant.tick(T0 + 2000, out)
    assert len(_pushed(out)) == 4
