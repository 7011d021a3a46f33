"""A public file's integer and maker columns, each read as one JSON array
(``feeds/replay/file_columns.py``): whatever a field's spelling, the column reads, or raises, as
``int`` and the files' true spellings read each field."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tickerplant.feeds.replay.file_columns import ints, is_true, makers

_INTS = st.sampled_from([b"7", b"007", b" 7", b"7 ", b"\t7", b"-7", b"+7", b"1_000", b"7.0", b"1e3", b"x", b"",
                         b"[7]", b"null", b"true", b"99999999999999999999", b"-0"])  # fmt: skip
_MAKERS = st.sampled_from([b"true", b"false", b"True", b"False", b" true", b"false ", b"1", b"null", b"[]", b""])


@given(st.lists(st.one_of(_INTS, st.integers(-(10**20), 10**20).map(lambda n: b"%d" % n)), min_size=1, max_size=8))
@example([b"[7", b"8]"]).via("a field that opens an array another closes")
def test_an_integer_column_reads_as_int_reads_each_field(fields: list[bytes]) -> None:
    try:
        expected: list[int] | None = [int(field) for field in fields]
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            ints(fields)
    else:
        assert ints(fields) == expected


@given(st.lists(_MAKERS, min_size=1, max_size=8))
@example([b" true"]).via("JSON takes spaces around a literal; the files' spelling does not")
@example([b"true ", b"false"]).via("a space after")
def test_a_maker_column_reads_as_the_true_spellings_read_each_field(fields: list[bytes]) -> None:
    assert makers(fields) == [is_true(field) for field in fields]
