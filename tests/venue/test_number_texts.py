"""Numbers as a client writes them, read without sockets: a decimal parameter only as
Binance's legal range writes it (part 1 §6.3, ``-1100``), a LONG only as digits within
Java's 64 bits (``-1102``). Text such as "1e999999" made Decimal build integers of a million
digits on the event loop (tens of seconds), and 4,301 digits made ``int()`` raise; each is a
refusal now, before anything is computed or changed."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, Published, catalogue
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.checks import check_timing
from tickerplant.venue.domain.algo_params import parse_new_algo
from tickerplant.venue.domain.order_params import DECIMAL_RANGE, LONG_MAX, decimal_units, parse_long

NOW = 1_790_000_000_000

NOT_DECIMALS = [
    "1e999999", "1e-30000000", "1E2", "3e4", "+0.01", "-1", "-0", " 0.01", "0.01 ", "0.0_10", "1_0",
    "٠.٠١٠", "１", "1/2", "NaN", "Infinity", "inf", ".5", "1.", "0x10", "1" * 21, "0." + "1" * 21, "",
]  # fmt: skip


def refusal(call: object, *args: object, **kwargs: object) -> tuple[int, str]:
    with pytest.raises(RequestRefused) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code, caught.value.msg


@pytest.mark.parametrize("text", NOT_DECIMALS)
def test_a_decimal_written_otherwise_is_illegal_characters(text: str) -> None:
    assert refusal(decimal_units, text, "quantity", 3) == (
        -1100, f"Illegal characters found in parameter 'quantity'; legal range is '{DECIMAL_RANGE}'.")  # fmt: skip


def test_what_the_range_takes() -> None:
    assert decimal_units("0.0100", "quantity", 3) == 10  # zeros past the precision: exact (decision 4)
    assert decimal_units("60000", "price", 2) == 6_000_000
    assert decimal_units("0", "price", 2) == 0  # the filters refuse it, with their own codes
    assert refusal(decimal_units, "0.0001", "quantity", 3)[0] == -1111
    assert decimal_units("9" * 20 + "." + "9" * 20, "x", 20) == int("9" * 40)  # the range's widest


@given(st.integers(min_value=0, max_value=10**20 - 1), st.integers(min_value=0, max_value=8))
def test_every_number_written_by_fixed_reads_back(units: int, decimals: int) -> None:
    text = fixed(units, decimals)
    if len(text.partition(".")[0]) <= 20:
        assert decimal_units(text, "x", decimals) == units


@pytest.mark.parametrize("text", ["1" * 4301, str(LONG_MAX + 1), "9" * 20, "²", "٣", "-1", "+1", "1.0", " 1"])
def test_a_long_is_digits_within_64_bits(text: str) -> None:
    assert refusal(parse_long, text, "orderId") == (
        -1102, "Mandatory parameter 'orderId' was not sent, was empty/null, or malformed.")  # fmt: skip


def test_a_long_at_its_bounds() -> None:
    assert parse_long(str(LONG_MAX), "orderId") == LONG_MAX
    assert parse_long("0", "orderId") == 0


def test_a_recv_window_of_thousands_of_digits_is_not_valid() -> None:
    assert refusal(check_timing, NOW, "1" * 4301, NOW) == (-1130, "Data sent for parameter 'recvWindow' is not valid.")
    check_timing(NOW, str(2**63 - 1), NOW)  # a LONG: taken as 60000 (§5.2, decision 4)
    for past in (str(2**63), "9" * 19):  # 19 digits, past a LONG (part 2 §3.1: recvWindow is one)
        assert refusal(check_timing, NOW, past, NOW) == (-1130, "Data sent for parameter 'recvWindow' is not valid.")


def algo(**more: str) -> dict[str, str]:
    base = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.001"}
    return base | {k.lower(): v for k, v in more.items()}


def test_an_algo_orders_numbers_meet_the_range_and_the_filters() -> None:
    """Part 2 §8: the stop price at most the symbol's maxPrice (-4007), LOT_SIZE / MARKET_LOT_SIZE,
    PRICE_FILTER for a STOP's limit price: a 20-digit quantity or trigger price no longer
    reaches the journal (a SQLite INTEGER holds 64 bits)."""
    instruments = {i.symbol: i for i in catalogue(Market.UM, NOW)}

    def place(params: dict[str, str]) -> tuple[int, str]:
        return refusal(parse_new_algo, params, instruments, NOW, False)

    assert place(algo(triggerPrice="1e5000"))[0] == -1100
    assert place(algo(triggerPrice="400000/2"))[0] == -1100
    assert place(algo(triggerPrice="9" * 20)) == (-4007, "Stop price greater than max price.")
    assert place(algo(triggerPrice="70000", quantity="9" * 20)) == (-4005, "Quantity greater than max quantity.")
    assert place(algo(triggerPrice="70000", quantity="0.0015"))[0] == -1111
    assert place(algo(type="STOP", triggerPrice="70000", price="70000.05")) == (
        -4014, "Price not increased by tick size.")  # fmt: skip
    trailing = {"type": "TRAILING_STOP_MARKET", "side": "SELL"}
    assert place(algo(**trailing, callbackRate="3/2"))[0] == -1100
    assert place(algo(**trailing, callbackRate=" 1.5"))[0] == -1100
    assert place(algo(**trailing, callbackRate="25")) == (-2007, "Invalid callBack rate.")
    assert place(algo(**trailing, callbackRate="1", activationPrice="9" * 20))[0] == -4007
    # echoed with one place at least, whatever zeros it was sent with (the docs' "5.0", "0.3")
    for sent, echoed in (("1.50", "1.5"), ("01", "1.0"), ("2", "2.0"), ("0.30000000", "0.3")):
        assert parse_new_algo(algo(**trailing, callbackRate=sent), instruments, NOW, False).callback_rate == echoed
    assert parse_new_algo(algo(triggerPrice="70000.00"), instruments, NOW, False).trigger_price == 7_000_000


def test_an_algo_orders_trigger_and_activation_prices_are_on_the_tick() -> None:
    """Part 2 §8's table: a stop or trigger price meets PRICE_FILTER's tick rule as a price
    does (-4014), an activation price too; a relayed listing's ``maxPrice`` 0 is no maximum
    for them, as for a price."""
    instruments = {i.symbol: i for i in catalogue(Market.UM, NOW)}
    tick = (-4014, "Price not increased by tick size.")
    assert refusal(parse_new_algo, algo(triggerPrice="70000.05"), instruments, NOW, False) == tick
    assert refusal(parse_new_algo, algo(stopPrice="70000.01"), instruments, NOW, False) == tick
    trailing = algo(type="TRAILING_STOP_MARKET", side="SELL", callbackRate="1", activatePrice="70000.05")
    assert refusal(parse_new_algo, trailing, instruments, NOW, False) == tick
    assert parse_new_algo(algo(triggerPrice="70000.10"), instruments, NOW, False).trigger_price == 7_000_010
    unbounded = dataclasses.replace(instruments["BTCUSDT"], published=Published(*[None] * 9)._replace(max_price=0))
    relayed = instruments | {"BTCUSDT": unbounded}
    assert parse_new_algo(algo(triggerPrice="9" * 9), relayed, NOW, False).trigger_price == int("9" * 9) * 100
