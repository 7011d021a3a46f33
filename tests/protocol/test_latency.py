"""The order latency models (``protocol/latency.py``): what each spec makes, the seeded
draw repeating, a file's rows interpolated, and the path first in first out each way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickerplant.clock import ManualClock
from tickerplant.gateway.order_latency import order_path
from tickerplant.protocol.latency import (
    ConstantLatency,
    IntervalLatency,
    LogNormalLatency,
    OrderPath,
    latency_model,
)


def test_none_is_no_model_and_a_constant_gives_its_legs() -> None:
    assert latency_model("none") is None
    assert latency_model(" constant:25 ") == ConstantLatency(" constant:25 ", 25, 25)
    model = latency_model("constant:40,12")
    assert model is not None and [model.legs(t) for t in (0, 10**12)] == [(40, 12), (40, 12)]


def test_a_lognormal_draw_repeats_with_its_seed_and_stays_under_its_bound() -> None:
    def draws(seed: int | str) -> list[tuple[int, int]]:
        model = latency_model("lognormal:20,0.5,60", seed)
        assert isinstance(model, LogNormalLatency)
        return [model.legs(n) for n in range(2000)]

    first = draws(7)
    assert first == draws(7) and first != draws(8)
    legs = [leg for pair in first for leg in pair]
    assert max(legs) == 60 and min(legs) >= 1  # the bound holds, and it is reached in 4,000 draws
    median = sorted(legs)[len(legs) // 2]
    assert 18 <= median <= 22  # MEDIAN × e^(σz): z's median is 0


def test_a_lognormal_of_a_large_sigma_draws_within_its_bound() -> None:
    model = latency_model("lognormal:100,1000", 3)  # e^(σz) past a float for |z| > 0.71
    assert model is not None
    legs = [leg for n in range(2000) for leg in model.legs(n)]
    assert set(legs) >= {0, 1000} and min(legs) >= 0 and max(legs) == 1000  # MAX: 10 × MEDIAN


def test_a_files_rows_are_interpolated_and_held_past_its_ends(tmp_path: Path) -> None:
    measured = tmp_path / "latency.csv"
    measured.write_text("time_ms,entry_ms,response_ms\n1000,10,20\n2000,30,20\n3000,30,60\n")
    path = order_path(f"file:{measured}", "1/um", ManualClock())  # the gateway reads the file
    assert path is not None and isinstance(path.path.model, IntervalLatency)
    model = path.path.model
    assert [model.legs(t) for t in (0, 1000, 1500, 1999, 2000, 2500, 9000)] == [
        (10, 20), (10, 20), (20, 20), (29, 20), (30, 20), (30, 40), (30, 60),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("constant", "constant takes 1 to 2 numbers"),
        ("constant:-5", "not negative"),
        ("constant:1,2,3", "constant takes 1 to 2 numbers"),
        ("lognormal:20", "lognormal takes 2 to 3 numbers"),
        ("lognormal:20,nan", "finite"),
        ("lognormal:10,0.5,5", "MAX is at least its MEDIAN"),
        ("lognormal:10000,0.5", "at most 60000 ms"),  # its MAX, 10 × the median, past it
        ("constant:1e9", "at most 60000 ms"),
        ("constant:5,60001", "at most 60000 ms"),
        ("lognormal:7000,0.1", r"MAX, 10 × MEDIAN unless given"),
        ("gauss:1,2", "a latency model is none, constant"),
        ("none:3", "a latency model is none, constant"),
    ],
)
def test_a_bad_spec_says_what_a_spec_is(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        latency_model(spec)


def test_a_missing_file_is_named() -> None:
    assert latency_model("file:/nonexistent/latency.csv") is None  # the spec alone: checked, not read
    with pytest.raises(ValueError, match=r"latency file /nonexistent/latency\.csv: No such file"):
        order_path("file:/nonexistent/latency.csv", "1/um", ManualClock())


@pytest.mark.parametrize(
    ("rows", "says"),
    [("", "at least one row"), ("2000,1,1\n1000,1,1\n", "ascending"), ("1000,1\n", "three columns"),
     ("1000,a,1\n", "integers"), ("1000,-1,1\n", "never negative"), ("1000,1,1\n2000,1,60001\n", "row 2: a latency is at most 60000 ms")],
)  # fmt: skip
def test_a_bad_file_says_which_row(tmp_path: Path, rows: str, says: str) -> None:
    measured = tmp_path / "latency.csv"
    measured.write_text(rows)
    with pytest.raises(ValueError, match=says):
        order_path(f"file:{measured}", "1/um", ManualClock())


class Drawn:
    """Legs given in turn, as a seeded draw gives them."""

    name = "drawn"

    def __init__(self, legs: list[tuple[int, int]]) -> None:
        self._legs = iter(legs)

    def legs(self, now_ms: int) -> tuple[int, int]:
        return next(self._legs)


def test_the_path_keeps_requests_and_answers_in_the_order_sent() -> None:
    path = OrderPath(Drawn([(50, 40), (5, 1), (60, 0)]))
    assert path.send(1000) == (1050, 40)
    assert path.send(1001) == (1050, 1)  # sent after the first: never there before it
    assert path.send(1002) == (1062, 0)
    assert path.answer(1050, 40) == 1090
    assert path.answer(1051, 1) == 1090  # behind the first answer on the way back
    assert path.answer(1100, 0) == 1100
