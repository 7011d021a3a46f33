"""The profile read once into typed values, every mistake refused saying where."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickerplant.faults.builtin import BUILTIN
from tickerplant.faults.profile import FaultKind, ProfileError, parse_profile


def test_a_fault_read_with_its_window_filters_and_defaults() -> None:
    profile = parse_profile(
        """
        name = "x"
        [[fault]]
        kind = "unknown-error"
        rate = 0.25
        at = "+90s"
        for_s = 30
        endpoints = ["POST /fapi/v1/order"]
        symbols = ["btcusdt"]
        accounts = [7]
        [[fault]]
        kind = "timeout"
        at = 2026-11-26T02:00:00Z
        [[fault]]
        kind = "maintenance"
        at = "+5m"
        """
    )
    unknown, timeout, maintenance = profile.faults
    assert (unknown.kind, unknown.rate, unknown.at_ms, unknown.after_start, unknown.duration_ms) == (
        FaultKind.UNKNOWN_ERROR, 0.25, 90_000, True, 30_000,
    )  # fmt: skip
    assert unknown.symbols == {"BTCUSDT"} and unknown.accounts == {7} and unknown.placed == 0.5
    assert (timeout.at_ms, timeout.after_start, timeout.rate, timeout.delay_ms) == (
        1795658400000,
        False,
        1.0,
        1000,
    )
    assert maintenance.at_ms == 300_000 and maintenance.duration_ms is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[[fault]]\nkind = "nope"\nrate = 1', "kind is one of"),
        ('[[fault]]\nkind = "timeout"', "give a rate, a window"),
        ('[[fault]]\nkind = "timeout"\nrate = 1.5', "rate 1.5 is outside"),
        ('[[fault]]\nkind = "timeout"\nrate = 1\ncolour = 2', "unknown keys ['colour']"),
        ('[[fault]]\nkind = "rollover"\nrate = 1', "give at"),
        ('[[fault]]\nkind = "timeout"\nat = "soon"', "at is Unix ms"),
        ('[[fault]]\nkind = "timeout"\nrate = 1\naccounts = ["a"]', "accounts is a list of int"),
        ('[[fault]]\nkind = "internal-error"\nrate = 1\nplaced = 0.5', "placed is for request-timeout, unknown-error alone"),
        ('[[fault]]\nkind = "throttled"\nrate = 1\ndelay_ms = 9', "delay_ms is for event-delay, reply-delay, slow-ack, timeout alone"),
        ('[[fault]]\nkind = "timeout"\nrate = 1\ndelay_ms = inf', "delay_ms is a finite number, not inf"),
        ('[[fault]]\nkind = "market-stall"\nat = "+1s"\nfor_s = inf', "for_s is a finite number, not inf"),
        ('[[fault]]\nkind = "internal-error"\nfor_s = 1e306', "for_s 1e+306 is outside 0..3162240000"),
        ('[[fault]]\nkind = "timeout"\nrate = 1\ndelay_ms = 1e308', "delay_ms 1e+308 is outside 0..3162240000000"),
        ("faults = 1", "unknown keys"),
        ("fault = [1, 2]", "fault 1: write each as a [[fault]] table, not 1"),
        ('[[fault]]\nkind = "timeout"\nat = "+' + "9" * 400 + '"', "is past any time a replay or a clock reaches"),
        ('[[fault]]\nkind = "timeout"\nat = 100000000000000000000', "is no time a replay or a clock reaches"),
        ('[[fault]]\nkind = "timeout"\nat = -1', "at -1 is no time a replay or a clock reaches"),
        ('[[fault]]\nkind = "timeout"\nat = 1969-12-31T23:59:59Z', "at -1000 is no time"),
        ('[[fault]]\nkind = "depth-break"\nrate = 1\naccounts = [1]', "accounts narrow no market stream fault"),
        # a setting that would be dropped without a word, or a window that never opens
        ('[[fault]]\nkind = "internal-error"\nat = "+1s"\nfor_s = 0', "for_s 0 is a window that never opens"),
        ('[[fault]]\nkind = "rollover"\nat = "+1s"\nrate = 0.5', "rate is not rollover's: it fires once, at at"),
        ('[[fault]]\nkind = "market-stall"\nat = "+1s"\nrate = 0.5', "rate is not market-stall's"),
        ('[[fault]]\nkind = "listen-key-expired"\nat = "+1s"\nfor_s = 5', "for_s is not listen-key-expired's"),
        ('[[fault]]\nkind = "timeout"\nrate = 1\ndelay_ms = 0.5', "delay_ms is a whole number of milliseconds, not 0.5"),
        ("[[fault", "not TOML"),
    ],
)
def test_mistakes_are_refused_saying_where(text: str, said: str) -> None:
    with pytest.raises(ProfileError, match=None) as refused:
        parse_profile(text)
    assert said in str(refused.value)


def test_the_ready_profiles_read() -> None:
    kinds = {name: {f.kind for f in parse_profile(text).faults} for name, text in BUILTIN.items()}
    assert kinds["maintenance"] == {FaultKind.MAINTENANCE}
    assert {FaultKind.UNKNOWN_ERROR, FaultKind.TIMEOUT, FaultKind.THROTTLED} <= kinds["binance-bad-day"]


def test_the_docs_show_the_ready_profiles_as_they_are() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "faults.md").read_text()
    for text in BUILTIN.values():
        assert f"```toml\n{text}```" in docs
