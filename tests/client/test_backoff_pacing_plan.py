"""Reconnect delays, control-message pacing and the stream-to-connection plan: pure, no clock."""

from __future__ import annotations

import bisect
import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.client.backoff import backoff
from tickerplant.client.pacing import Pacer
from tickerplant.client.plan import MAX_NAMES_PER_MESSAGE, ConnectionPlan, chunks

# ---- backoff ----------------------------------------------------------------------------------


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    delays = list(itertools.islice(backoff(jitter=0), 12))
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0]


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    first = list(itertools.islice(backoff(rng=random.Random(7)), 50))
    again = list(itertools.islice(backoff(rng=random.Random(7)), 50))
    assert first == again


@given(
    initial=st.floats(0.001, 5),
    factor=st.floats(1, 4),
    cap=st.floats(5, 120),
    jitter=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_jitter_only_shortens_and_stays_within_its_band(
    initial: float, factor: float, cap: float, jitter: float, seed: int
) -> None:
    plain = itertools.islice(backoff(initial, factor, cap, 0), 200)
    jittered = itertools.islice(backoff(initial, factor, cap, jitter, random.Random(seed)), 200)
    for base, delay in zip(plain, jittered, strict=True):
        assert base * (1 - jitter) - 1e-12 <= delay <= base <= cap


def test_full_jitter_spreads_over_the_whole_range() -> None:
    delays = list(itertools.islice(backoff(1, 1, 1, jitter=1.0, rng=random.Random(3)), 1000))
    assert min(delays) < 0.05 and max(delays) > 0.95


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": -1}, {"initial_s": 5, "max_s": 1}, {"factor": 0.5}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_backoff_refuses_nonsense_at_the_call(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        backoff(**kwargs)  # type: ignore[arg-type]


# ---- pacing -----------------------------------------------------------------------------------


def most_in_any_window(times: list[float], window_s: float) -> int:
    """The most sends in any half-open window [t, t + window_s), as the server counts (§2.5)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + window_s) - i for i, t in enumerate(times))


def test_default_pacer_is_five_per_second_half_of_binances_ten() -> None:
    pacer = Pacer()
    assert (pacer.rate_per_s, pacer.burst, pacer.window_s) == (5.0, 5, 1.0)
    for _ in range(5):
        assert pacer.delay_s(100.0) == 0.0
        pacer.sent(100.0)
    assert pacer.delay_s(100.0) == pytest.approx(1.0, abs=1e-5)
    assert pacer.delay_s(100.6) == pytest.approx(0.4, abs=1e-5)
    assert pacer.delay_s(101.0) == 0.0
    assert pacer.delay_s(101.5) == 0.0


def test_reset_starts_a_new_connections_window() -> None:
    pacer = Pacer(rate_per_s=2, burst=2)
    pacer.sent(0.0)
    pacer.sent(0.0)
    assert pacer.delay_s(0.0) > 0
    pacer.reset()
    assert pacer.delay_s(0.0) == 0.0


def pace(pacer: Pacer, wanted: list[float]) -> list[float]:
    """Send one message at each wanted time, waiting as the pacer says (as a shell would)."""
    sent: list[float] = []
    now = 0.0
    for want in sorted(wanted):
        now = max(now, want)
        now += pacer.delay_s(now)
        assert pacer.delay_s(now) == 0.0  # after waiting as told, the pacer lets it go
        pacer.sent(now)
        sent.append(now)
    return sent


@given(st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=200))
def test_default_pacing_never_allows_more_than_five_in_any_second(wanted: list[float]) -> None:
    sent = pace(Pacer(), wanted)
    assert most_in_any_window(sent, 1.0) <= 5
    assert most_in_any_window(sent, 1.0) < 10  # Binance's limit, with room for pings and jitter


@given(
    st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=200),
    st.integers(1, 20),
    st.floats(0.5, 20),
)
def test_pacing_never_allows_more_than_burst_in_any_window(
    wanted: list[float], burst: int, rate: float
) -> None:
    pacer = Pacer(rate_per_s=rate, burst=burst)
    sent = pace(pacer, wanted)
    assert most_in_any_window(sent, pacer.window_s) <= burst
    assert len(sent) == len(wanted)


@given(st.integers(1, 10), st.integers(2, 60))
def test_pacing_reaches_its_rate_when_saturated(limit: int, n: int) -> None:
    # Not needlessly slow either: n back-to-back sends take just over (n - 1) // limit windows.
    pacer = Pacer(rate_per_s=limit, burst=limit)
    sent = pace(pacer, [0.0] * n)
    assert sent[-1] == pytest.approx((n - 1) // limit * 1.0, abs=1e-4)


def test_pacer_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Pacer(rate_per_s=0)
    with pytest.raises(ValueError):
        Pacer(burst=0)


# ---- plan -------------------------------------------------------------------------------------


def names(n: int, prefix: str = "s") -> list[str]:
    return [f"{prefix}{i}@bookTicker" for i in range(n)]


def test_plan_fills_existing_connections_first_then_opens_new_ones() -> None:
    plan = ConnectionPlan(max_streams_per_connection=3)
    assert plan.add(names(2)) == {0: names(2)}
    assert plan.add(["x", "y", "z", "w", "v"]) == {0: ["x"], 1: ["y", "z", "w"], 2: ["v"]}
    assert plan.connections() == [0, 1, 2]
    assert plan.streams_of(0) == [*names(2), "x"]
    assert plan.connection_of("w") == 1
    assert len(plan) == 7


def test_plan_skips_names_already_planned_and_repeats() -> None:
    plan = ConnectionPlan(max_streams_per_connection=4)
    plan.add(["a", "b"])
    assert plan.add(["b", "c", "c", "a"]) == {0: ["c"]}
    assert plan.add([]) == {}
    assert plan.add(["a"]) == {}


def test_plan_remove_says_where_to_unsubscribe_and_frees_room() -> None:
    plan = ConnectionPlan(max_streams_per_connection=2)
    plan.add(["a", "b", "c", "d"])
    assert plan.remove(["a", "d", "nope", "a"]) == {0: ["a"], 1: ["d"]}
    assert plan.streams_of(0) == ["b"]
    assert plan.add(["e", "f", "g"]) == {0: ["e"], 1: ["f"], 2: ["g"]}


def test_dropped_connection_indices_are_never_reused() -> None:
    plan = ConnectionPlan(max_streams_per_connection=2)
    plan.add(["a", "b", "c"])
    assert plan.drop_connection(1) == ["c"]
    assert plan.drop_connection(1) == []
    assert plan.connection_of("c") is None
    assert plan.add(["c", "d", "e"]) == {2: ["c", "d"], 3: ["e"]}
    with pytest.raises(KeyError):
        plan.streams_of(1)


def test_default_cap_is_binances_1024() -> None:
    plan = ConnectionPlan()
    placed = plan.add(names(2500))
    assert {index: len(batch) for index, batch in placed.items()} == {0: 1024, 1: 1024, 2: 452}


@given(
    st.integers(1, 50),
    st.lists(
        st.tuples(st.sampled_from(["add", "remove", "drop"]), st.lists(st.integers(0, 120), max_size=80)),
        max_size=30,
    ),
)
def test_plan_never_exceeds_the_cap_and_every_name_has_one_home(
    cap: int, operations: list[tuple[str, list[int]]]
) -> None:
    plan = ConnectionPlan(max_streams_per_connection=cap)
    planned: set[str] = set()
    for operation, numbers in operations:
        batch = [f"n{i}" for i in numbers]
        if operation == "add":
            placed = plan.add(batch)
            assert sorted(n for names_ in placed.values() for n in names_) == sorted(set(batch) - planned)
            planned |= set(batch)
        elif operation == "remove":
            removed = plan.remove(batch)
            assert sorted(n for names_ in removed.values() for n in names_) == sorted(set(batch) & planned)
            planned -= set(batch)
        elif plan.connections():
            planned -= set(plan.drop_connection(plan.connections()[len(numbers) % len(plan.connections())]))
        homes = {index: plan.streams_of(index) for index in plan.connections()}
        assert all(len(streams) <= cap for streams in homes.values())
        everywhere = [name for streams in homes.values() for name in streams]
        assert sorted(everywhere) == sorted(planned)  # each planned name on exactly one connection
        assert all(plan.connection_of(name) == index for index, streams in homes.items() for name in streams)


def test_chunks_split_params_per_subscribe_message() -> None:
    assert MAX_NAMES_PER_MESSAGE == 200
    split = chunks(names(450))
    assert [len(c) for c in split] == [200, 200, 50]
    assert [n for c in split for n in c] == names(450)
    assert chunks([]) == []
    assert chunks(["a", "b", "c"], max_per_message=2) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError):
        chunks(["a"], max_per_message=0)
