"""Units: the one home of exact decimals and ms constants."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tickerplant.market.units import (
    DAY_MS,
    FinerDigits,
    above_zero,
    bytes_to_units,
    decimals_of,
    fixed,
    fixed_format,
    fixed_texts,
    places_written,
    texts_to_units,
    to_units,
)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=10))
def test_fixed_and_to_units_are_inverse(units: int, decimals: int) -> None:
    text = fixed(units, decimals)
    assert Decimal(text) == Decimal(units).scaleb(-decimals)
    assert len(text.partition(".")[2]) == decimals and text.lstrip("-")[:1].isdigit()
    assert to_units(text, decimals) == units
    if units >= 0:
        assert bytes_to_units(text.encode(), decimals) == units


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10))
def test_fixed_format_writes_what_fixed_writes(units: int, decimals: int) -> None:
    scale, format_ = fixed_format(decimals, b'["', b'","')
    assert format_ % divmod(units, scale) == f'["{fixed(units, decimals)}","'.encode()


def test_reading_other_writings_exactly_and_refusing_finer_digits() -> None:
    assert to_units("25.35190000", 4) == 253519
    assert to_units("0.1", 2) == 10
    assert bytes_to_units(b"26.67000000", 2) == 2667
    assert bytes_to_units(b"7", 3) == 7000
    with pytest.raises(FinerDigits):
        to_units("0.125", 2)
    with pytest.raises(FinerDigits):
        bytes_to_units(b"0.125", 2)
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            to_units(bad, 2)


_TEXTS = st.one_of(
    st.builds(fixed, st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=4)),
    st.sampled_from(["25.35190000", "0.1", "7", "-1.50", ".50", "5.", "1_0.00", "١٢.٣٤", " 1.00", "0.125", "abc", ""]),
    st.text(alphabet="0123456789.,-", max_size=6),
)


@given(st.lists(_TEXTS, max_size=8), st.integers(min_value=0, max_value=4))
@example(["1,2"], 0).via("a comma inside a text")
@example(["1.00,2.00", "3.00"], 2).via("a comma inside a text")
def test_a_column_of_texts_reads_as_each_text_does(texts: list[str], decimals: int) -> None:
    """``texts_to_units`` gives ``to_units`` of each text, or raises what it raises: the
    C-level path takes only what ``fixed`` writes; a comma inside a text, a sign, other
    digits or another count of decimals go text by text."""
    try:
        expected: list[int] | type[Exception] = [to_units(text, decimals) for text in texts]
    except ValueError as exc:
        expected = type(exc)
    try:
        got: list[int] | type[Exception] = texts_to_units(texts, decimals)
    except ValueError as exc:
        got = type(exc)
    assert got == expected


_FILE_TEXTS = st.one_of(
    st.builds(lambda u, d: fixed(u, d).encode(), st.integers(0, 10**12), st.integers(0, 9)),
    st.sampled_from([b"26.67000000", b"0.10", b"7", b"-1.50", b"01.00", b".5", b"5.", b"1.25000001", b""]),
    st.text(alphabet="0123456789.,-", max_size=8).map(str.encode),
)


@given(st.lists(_FILE_TEXTS, max_size=6), st.integers(0, 8))
@example([b"42073.70000000", b"42073.00000000"], 2).via("Binance's bookTicker files: 8 decimals")
@example([b"7.000", b"30.000"], 0).via("the point cut too")
@example([b"1.0.00", b"200"], 2).via("two points in one text, none in the other")
@example([b"0", b"0", b"07"], 0).via("a leading zero")
@example([b"0,0"], 0).via("a comma inside a text")
def test_texts_written_longer_are_cut_to_what_fixed_writes(texts: list[bytes], decimals: int) -> None:
    """``fixed_texts`` gives what ``fixed`` writes for each text's units, when each text is
    written as ``fixed`` writes it with the first's decimals, the extra ones zeros; else None."""
    cut = fixed_texts(texts, decimals)
    places = [len(t.partition(b".")[2]) for t in texts]
    canonical = [
        bool(re.fullmatch(rb"(0|[1-9][0-9]*)(\.[0-9]*)?", t)) and p >= decimals and p == places[0]
        and not t.partition(b".")[2][decimals:].strip(b"0") and (b"." in t) == (p > 0)
        for t, p in zip(texts, places, strict=True)
    ]  # fmt: skip
    if texts and all(canonical):
        assert cut == [fixed(bytes_to_units(t, decimals), decimals).encode() for t in texts]
    else:
        assert cut is None


def test_digit_counts() -> None:
    assert decimals_of("26.67000000") == decimals_of(b"26.67000000") == 2
    assert decimals_of("1000") == 0
    assert decimals_of("0.10") == decimals_of("0.1") == 1
    assert places_written("0.10") == 2
    assert places_written("1000") == 0
    assert DAY_MS == 86_400_000


def test_mark_or_mid() -> None:
    from fractions import Fraction

    from tickerplant.market.units import mark_or_mid

    book = {True: [(5_999_900, 1)], False: [(6_000_100, 2)]}  # 59 999.00 / 60 001.00
    assert mark_or_mid(Fraction(7), book.__getitem__, 2) == 7  # the mark wins
    assert mark_or_mid(None, book.__getitem__, 2) == 60_000
    assert mark_or_mid(None, {True: [], False: [(1, 1)]}.__getitem__, 2) is None  # a side empty


def test_above_zero_reads_a_plain_decimal_text_or_bytes() -> None:
    """The first price a replayed symbol's files or recording hold: digits and a point only."""
    assert [above_zero(t) for t in ("412.50", b"0.0001", "7", "0", "0.000", "-1", "1e3", "", ".", "1.")] == [
        True, True, True, False, False, False, False, False, False, False,
    ]  # fmt: skip
