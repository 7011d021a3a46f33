"""A fault profile's user data stream faults draw for every event (docs/faults.md: the same
seed and the same requests give the same faults), an event held behind an earlier
``event-delay`` too: which events are dropped does not depend on how fast they come.

Before, an event that came while its account's events were held joined the hold without a
draw, so the events dropped changed with the requests' pace, and a delay shielded the
account's events from every drop for its ``delay_ms``."""

from __future__ import annotations

from tickerplant.clock import ManualClock
from tickerplant.faults.decider import FaultDecider
from tickerplant.faults.profile import parse_profile
from tickerplant.gateway.fault_gate import FaultGate
from tickerplant.gateway.user_data import UserData
from tickerplant.market.instruments import Market

START = 1_800_000_000_000
PROFILE = """
[[fault]]
kind = "event-delay"
rate = 0.15
delay_ms = 20000

[[fault]]
kind = "event-drop"
rate = 0.2
"""
ACCOUNT = 7


def _fates(gap_ms: int, events: int = 80) -> list[str]:
    """What became of each of ``events`` events of one account, ``gap_ms`` apart: sent at
    once, held (to come after its hold), or dropped."""
    clock = ManualClock(START)
    user = UserData(clock)
    user.follow(FaultGate(FaultDecider(parse_profile(PROFILE), 3, START), clock, Market.UM))
    fates = []
    for n in range(events):
        payload = b"%d" % n
        if user._passes(ACCOUNT, "ORDER_TRADE_UPDATE", payload, clock.now_ms()):
            fates.append("sent")
        else:
            held = user._held.get(ACCOUNT, [])
            fates.append("held" if held and held[-1][1] == payload else "dropped")
        clock.advance(gap_ms)
    return fates


def test_the_events_dropped_are_the_same_whatever_the_pace() -> None:
    slow, quick = _fates(30_000), _fates(50)  # past each hold's 20 s; well within one
    dropped = [n for n, fate in enumerate(slow) if fate == "dropped"]
    assert dropped == [n for n, fate in enumerate(quick) if fate == "dropped"]
    assert 8 <= len(dropped) <= 28  # about a fifth
    # at the quick pace most events came while one was held: drops among them too
    assert any(fate == "dropped" for fate in quick[quick.index("held") :])
