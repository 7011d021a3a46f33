"""The seeded decider: the same requests meet the same faults; windows, filters, the
-1008 exemption and the placed share as the profile says."""

from __future__ import annotations

import pytest

from tickerplant.faults import answers
from tickerplant.faults.decider import Apply, FaultDecider, throttle_exempt
from tickerplant.faults.profile import Family, FaultKind, parse_profile

ORDER = "POST /fapi/v1/order"
START = 1_800_000_000_000


def decider(text: str, seed: int = 1) -> FaultDecider:
    return FaultDecider(parse_profile(text), seed, START)


def kinds(made: FaultDecider, n: int, where: str = ORDER) -> list[str]:
    found = []
    for i in range(n):
        decision = made.decide(Family.ORDER, where, "BTCUSDT", 1, START + i)
        found.append(decision.apply.value if decision else "-")
    return found


def test_a_seed_repeats_its_faults_and_another_seed_differs() -> None:
    text = '[[fault]]\nkind = "unknown-error"\nrate = 0.3\nplaced = 0.5'
    first, again, other = kinds(decider(text), 200), kinds(decider(text), 200), kinds(decider(text, 2), 200)
    assert first == again != other
    hits = 200 - first.count("-")
    assert 40 < hits < 80  # about 30 %
    assert 0 < first.count("replace") < hits  # placed or not, by the share


def test_each_kind_s_answer_and_how_it_is_applied() -> None:
    cases = {
        "internal-error": (Apply.REFUSE, answers.INTERNAL_ERROR),
        "service-unavailable": (Apply.REFUSE, answers.SERVICE_UNAVAILABLE),
        "throttled": (Apply.REFUSE, answers.THROTTLED),
        "timeout": (Apply.LATER, answers.TIMEOUT),
        "slow-ack": (Apply.HOLD, None),
    }
    for kind, (apply, error) in cases.items():
        decision = decider(f'[[fault]]\nkind = "{kind}"\nrate = 1').decide(Family.ORDER, ORDER, "X", 1, START)
        assert decision is not None and (decision.apply, decision.error) == (apply, error), kind
    placed = decider('[[fault]]\nkind = "unknown-error"\nrate = 1\nplaced = 1').decide(
        Family.ORDER, ORDER, "X", 1, 0
    )
    assert placed is not None and placed.apply is Apply.REPLACE and placed.error == answers.UNKNOWN_ERROR
    assert answers.UNKNOWN_ERROR.body == (
        b'{"code":-1000,"msg":"Unknown error, please check your request or try again later."}'
    )
    assert answers.SERVICE_UNAVAILABLE.body == b"Service Unavailable."


def test_windows_filters_and_families() -> None:
    made = decider(
        '[[fault]]\nkind = "internal-error"\nat = "+10s"\nfor_s = 5\nsymbols = ["BTCUSDT"]\naccounts = [1]\n'
        '[[fault]]\nkind = "maintenance"\nat = "+60s"\nfor_s = 1'
    )
    assert made.decide(Family.ORDER, ORDER, "BTCUSDT", 1, START + 9_999) is None
    assert made.decide(Family.ORDER, ORDER, "BTCUSDT", 1, START + 10_000) is not None
    assert made.decide(Family.ORDER, ORDER, "ETHUSDT", 1, START + 12_000) is None
    assert made.decide(Family.ORDER, ORDER, "BTCUSDT", 2, START + 12_000) is None
    assert made.decide(Family.ORDER, "GET /fapi/v1/openOrders", "BTCUSDT", 1, START + 12_000) is None
    assert made.decide(Family.ORDER, ORDER, "BTCUSDT", 1, START + 15_000) is None
    read = made.decide(Family.MAINTENANCE, "GET /fapi/v2/account", "", 2, START + 60_500)
    assert read is not None and read.kind is FaultKind.MAINTENANCE
    assert made.decide(Family.MAINTENANCE, "GET /fapi/v2/account", "", 2, START + 61_000) is None
    assert made.record.counts == {FaultKind.INTERNAL_ERROR: 1, FaultKind.MAINTENANCE: 1}
    assert [f.at_ms - START for f in made.record.recent] == [10_000, 60_500]


@pytest.mark.parametrize(
    ("params", "exempt"),
    [
        ({"side": "BUY"}, False),
        ({"side": "SELL", "reduceonly": "true"}, True),
        ({"side": "SELL", "positionSide": "BOTH", "reduceOnly": "TRUE"}, True),
        ({"side": "SELL", "closePosition": "true"}, True),
        ({"side": "SELL", "positionside": "LONG"}, True),
        ({"side": "BUY", "positionside": "SHORT"}, True),
        ({"side": "BUY", "positionside": "LONG"}, False),
    ],
)
def test_throttling_spares_what_binance_spares(params: dict[str, str], exempt: bool) -> None:
    assert throttle_exempt(params) is exempt
    made = decider('[[fault]]\nkind = "throttled"\nrate = 1')
    decision = made.decide(Family.ORDER, ORDER, "X", 1, START, exempt=throttle_exempt(params))
    assert (decision is None) is exempt


def test_a_depth_break_only_on_the_diff_depth_streams_and_timed_faults_at_their_time() -> None:
    made = decider('[[fault]]\nkind = "depth-break"\nrate = 1\n\n[[fault]]\nkind = "rollover"\nat = "+90s"\n')
    hit = [s for s in ("btcusdt@depth", "btcusdt@depth@100ms", "btcusdt@depth20@100ms", "btcusdt@aggTrade")
           if made.decide(Family.MARKET, s, "BTCUSDT", None, START) is not None]  # fmt: skip
    assert hit == ["btcusdt@depth", "btcusdt@depth@100ms"]
    (rollover,) = made.timed(Family.MARKET)
    assert (rollover.kind, rollover.at_ms) == (FaultKind.ROLLOVER, START + 90_000)
    assert made.timed(Family.USER_STREAM) == []


def test_symbols_narrow_no_user_data_fault() -> None:
    """A key's events are every symbol's (docs/faults.md): a user data fault given
    ``symbols`` hits its accounts' events all the same (it hit none: the events are decided
    with no symbol)."""
    made = decider('[[fault]]\nkind = "event-drop"\nrate = 1\naccounts = [2]\nsymbols = ["BTCUSDT"]')
    dropped = made.decide(Family.USER_STREAM, "ORDER_TRADE_UPDATE", "", 2, START)
    assert dropped is not None and dropped.apply is Apply.DROP
    assert made.decide(Family.USER_STREAM, "ORDER_TRADE_UPDATE", "", 3, START) is None  # its accounts alone
