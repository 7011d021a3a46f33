"""An order's placement answer written straight (``order_payloads.placed_json``): the bytes
``msgspec.json.encode(placed(…))`` writes, for every instrument of both markets and any
order's fields."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.payloads.order_payloads import placed, placed_json

_LISTED = [*catalogue(Market.UM, 1_700_000_000_000), *catalogue(Market.CM, 1_700_000_000_000)]
_UNITS = st.integers(min_value=0, max_value=10**14)


@given(
    st.sampled_from(_LISTED), st.sampled_from(list(OrderType)), st.sampled_from(list(OrderStatus)),
    st.sampled_from(list(TimeInForce)), st.sampled_from(list(Side)), st.sampled_from(list(PositionSide)),
    _UNITS, _UNITS, _UNITS, st.booleans(), st.text(max_size=40), st.sampled_from(["NONE", "QUEUE", "EXPIRE_MAKER"]),
    st.integers(min_value=0, max_value=2**62),
)  # fmt: skip
def test_placed_json_is_the_encoded_placement(
    inst, kind, status, tif, side, position_side, price, qty, done, reduce_only, client_id, stp, when
) -> None:  # type: ignore[no-untyped-def]
    order = Order(
        1, inst.symbol, when // 3, client_id, side, kind, tif, price, qty, reduce_only, when, when, when,
        status, done, price_match=stp, stp_mode=stp, position_side=position_side,
    )  # fmt: skip
    assert placed_json(order, inst) == msgspec.json.encode(placed(order, inst))


def test_a_negative_number_is_written_by_way_of_the_dict() -> None:
    inst = _LISTED[0]
    order = Order(1, inst.symbol, 1, "c", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, -5, 1, False, 0, 0, 0)
    assert placed_json(order, inst) == msgspec.json.encode(placed(order, inst))
