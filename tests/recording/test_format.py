"""The recording format: exact lines, byte-identical payloads, rotation, truncated files."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.instruments import Market
from tickerplant.recording.format import (
    Item,
    Recorded,
    RecordedLoss,
    RecordedSnapshot,
    RecordingHeader,
    RecordingWriter,
    Rotation,
    decode_header,
    decode_item,
    encode_header,
    encode_item,
    file_name,
)
from tickerplant.recording.reading import is_recording, read_recording, recording_files

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs
URL = "wss://fstream.binance.com"
BOOK = b'{"e":"bookTicker","u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000","T":1568014460891,"E":1568014460893}'


def read_all(path: Path) -> tuple[RecordingHeader, list[Item]]:
    header, items = read_recording(path)
    return header, list(items)


def read_files(files: list[Path]) -> list[Item]:
    return [item for path in files for item in read_all(path)[1]]


# -- lines ---------------------------------------------------------------------------------


def test_lines_are_exactly_the_documented_format() -> None:
    header = RecordingHeader(Market.UM, URL, ("btcusdt@bookTicker", "btcusdt@aggTrade"), T0)
    assert encode_header(header) == (
        b'{"format":"tickerplant-recording","version":2,"market":"um","url":"wss://fstream.binance.com",'
        b'"streams":["btcusdt@bookTicker","btcusdt@aggTrade"],"started_us":1767225600000000}\n'
    )
    assert encode_item(Recorded(T0 + 5, "bnbusdt@bookTicker", BOOK)) == (
        b'{"r":1767225600000005,"s":"bnbusdt@bookTicker","d":' + BOOK + b"}\n"
    )
    assert (
        encode_item(RecordedLoss(T0 + 6, ("a@trade", "b@trade")))
        == b'{"r":1767225600000006,"lost":["a@trade","b@trade"]}\n'
    )
    snapshot = b'{"lastUpdateId":7,"E":1,"T":1,"bids":[["1.0","2"]],"asks":[]}'
    assert encode_item(RecordedSnapshot(T0 + 7, "BTCUSDT", snapshot)) == (
        b'{"r":1767225600000007,"depth":"BTCUSDT","d":' + snapshot + b"}\n"
    )


def test_version_1_files_still_read() -> None:
    """Written before depth snapshots were recorded: read as they are, marked version 1."""
    line = b'{"format":"tickerplant-recording","version":1,"market":"um","url":"u","streams":["a"],"started_us":5}'
    assert decode_header(line) == RecordingHeader(Market.UM, "u", ("a",), 5, 1)


def test_header_and_items_decode_back() -> None:
    header = RecordingHeader(Market.CM, "ws://127.0.0.1:8766", ("btcusd_perp@bookTicker",), T0)
    assert decode_header(encode_header(header)) == header
    items = (Recorded(T0, "!miniTicker@arr", b"[]"), RecordedLoss(T0, ("x",)), RecordedSnapshot(T0, "X", b"{}"))
    for item in items:
        assert decode_item(encode_item(item)) == item


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"{}",
        b"[1]",
        b'{"r":1}',
        b'{"r":1,"s":"x"}',
        b'{"r":1,"d":{}}',
        b'{"r":1,"depth":"X"}',
        b'{"r":"1","s":"x","d":1}',
        b"not json",
    ],
)
def test_lines_that_are_not_items_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_item(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"format":"something-else","version":1,"market":"um","url":"u","streams":[],"started_us":0}',
        b'{"format":"tickerplant-recording","version":3,"market":"um","url":"u","streams":[],"started_us":0}',
        b'{"format":"tickerplant-recording","version":1,"market":"xx","url":"u","streams":[],"started_us":0}',
        b'{"r":1,"s":"x","d":1}',
    ],
)
def test_headers_of_other_formats_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_header(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Every way a server may legitimately spell a payload on one line: spaces around ":" and
# ",", escaped or raw unicode, \u2028 and control characters escaped inside strings.
spellings = st.tuples(st.sampled_from([(",", ":"), (", ", ": "), (" ,  ", " : ")]), st.booleans())


@settings(max_examples=300)
@given(json_values, spellings, st.text(min_size=1, max_size=30), st.integers(min_value=0, max_value=2**62))
def test_any_one_line_payload_comes_back_byte_for_byte(
    value: object, spelling: tuple[tuple[str, str], bool], stream: str, received_us: int
) -> None:
    separators, ascii_only = spelling
    payload = json.dumps(value, separators=separators, ensure_ascii=ascii_only).encode()
    line = encode_item(Recorded(received_us, stream, payload))
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert decode_item(line) == Recorded(received_us, stream, payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":\n1}',  # a newline would split the line
        b' {"a":1}',  # whitespace outside the value would not come back
        b'{"a":1}\r',
        b"",
        b'{"a":}',
        b'{"a":1} {"b":2}',
        b"nan",
    ],
)
def test_payloads_that_would_not_come_back_identical_are_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        encode_item(Recorded(T0, "x@trade", payload))


def test_odd_but_valid_payloads_are_kept() -> None:
    odd = [
        '{"s":"é€😀","n":"\\u00e9\\ud83d\\ude00","q":"\\"\\\\\\/\\b\\f\\n\\r\\t"}'.encode(),
        b'{ "a" : [ 1 , 2.50 , -0.0e+10 ] , "b" : { } }',
        b'"just a string"',
        b"123.4500",
        b"\xe2\x80\xa8".join([b'["', b'"]']),  # U+2028 raw inside a string: JSON allows it
    ]
    for payload in odd:
        assert decode_item(encode_item(Recorded(T0, "x", payload))).data == payload


def test_stream_names_are_escaped_in_the_line() -> None:
    item = Recorded(T0, 'we"ird\\name\u2028é', b"1")
    assert decode_item(encode_item(item)) == item


def test_file_names_carry_the_utc_start_to_the_microsecond() -> None:
    assert file_name(Market.UM, T0 + 123_456) == "tickerplant-um-20260101T000000123456Z.jsonl.gz"
    assert file_name(Market.CM, 1_700_000_000_999_999) == "tickerplant-cm-20231114T221320999999Z.jsonl.gz"


# -- rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "age_us", "due"),
    [
        (0, 0, False),
        (999, 9_999_999, False),
        (1000, 0, True),  # holds rotate_bytes
        (0, 10_000_000, True),  # rotate_s old
        (5000, 20_000_000, True),
    ],
)
def test_rotation_is_due_by_size_or_by_age(size: int, age_us: int, due: bool) -> None:
    assert Rotation(rotate_bytes=1000, rotate_s=10.0).due(size, T0, T0 + age_us) is due


def test_rotation_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Rotation(rotate_bytes=0)
    with pytest.raises(ValueError):
        Rotation(rotate_s=0.0)


# -- files ---------------------------------------------------------------------------------


def test_a_recording_round_trips_through_its_file(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"  # created
    items: list[Item] = [
        Recorded(T0 + 10, "bnbusdt@bookTicker", BOOK),
        RecordedLoss(T0 + 20, ("bnbusdt@bookTicker",)),
        Recorded(T0 + 30, "!miniTicker@arr", b'[{"e":"24hrMiniTicker"}]'),
    ]
    with RecordingWriter(out, Market.UM, URL, ["bnbusdt@bookTicker", "!miniTicker@arr"]) as writer:
        for item in items:
            writer.write(item, item.received_us)
    assert writer.files == [out / "tickerplant-um-20260101T000000000010Z.jsonl.gz"]
    header, read = read_all(writer.files[0])
    assert header == RecordingHeader(Market.UM, URL, ("bnbusdt@bookTicker", "!miniTicker@arr"), T0 + 10)
    assert read == items
    assert recording_files(out) == writer.files and is_recording(writer.files[0])
    # A plain gzip of JSON lines: any tool can read it.
    lines = gzip.decompress(writer.files[0].read_bytes()).splitlines()
    assert [json.loads(line) for line in lines][1] == {
        "r": T0 + 10,
        "s": "bnbusdt@bookTicker",
        "d": json.loads(BOOK),
    }


def test_files_rotate_by_size_each_with_its_own_header(tmp_path: Path) -> None:
    line = len(encode_item(Recorded(T0, "bnbusdt@bookTicker", BOOK)))
    items = [Recorded(T0 + i, "bnbusdt@bookTicker", BOOK) for i in range(50)]
    with RecordingWriter(tmp_path, Market.UM, URL, ["bnbusdt@bookTicker"], rotate_bytes=10 * line) as writer:
        for item in items:
            writer.write(item, item.received_us)
    assert len(writer.files) == 5
    assert recording_files(tmp_path) == writer.files
    for path in writer.files:
        header, read = read_all(path)
        assert header.started_us == read[0].received_us  # opened for its first item
        size = len(gzip.decompress(path.read_bytes()))
        # Rotated as soon as a file holds rotate_bytes, header included; the last may hold less.
        assert size - line < 10 * line <= size or (path == writer.files[-1] and size < 10 * line)
    assert read_files(writer.files) == items


def test_files_rotate_by_age_on_the_clock_they_are_given(tmp_path: Path) -> None:
    times = [T0 + s * 1_000_000 for s in (0, 1, 9, 10, 11, 25, 31, 100)]
    with RecordingWriter(tmp_path, Market.CM, URL, ["x"], rotate_s=10.0) as writer:
        for now_us in times:
            writer.write(Recorded(now_us, "x", b"1"), now_us)
    starts = [read_all(path)[0].started_us for path in writer.files]
    assert starts == [T0, T0 + 10_000_000, T0 + 25_000_000, T0 + 100_000_000]
    assert [p.name for p in writer.files][1] == "tickerplant-cm-20260101T000010000000Z.jsonl.gz"
    assert [len(read_all(path)[1]) for path in writer.files] == [3, 2, 2, 1]


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 3_000_000), st.binary(max_size=40)), min_size=1, max_size=60),
    rotate_bytes=st.integers(1, 2000),
    rotate_s=st.floats(0.5, 20.0),
)
def test_rotation_loses_and_reorders_nothing(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[int, bytes]],
    rotate_bytes: int,
    rotate_s: float,
) -> None:
    out = tmp_path_factory.mktemp("rotation")
    now_us = T0
    items: list[Item] = []
    with RecordingWriter(out, Market.UM, URL, ["s"], rotate_bytes=rotate_bytes, rotate_s=rotate_s) as writer:
        for step_us, noise in steps:
            now_us += step_us
            item: Item = (
                Recorded(now_us, "s", json.dumps(noise.hex()).encode())
                if noise
                else RecordedLoss(now_us, ("s",))
            )
            writer.write(item, now_us)
            items.append(item)
    assert recording_files(out) == writer.files
    assert read_files(writer.files) == items
    for path in writer.files:
        header, read = read_all(path)
        assert all(0 <= i.received_us - header.started_us < rotate_s * 1_000_000 for i in read[1:])


def test_files_opened_in_the_same_microsecond_get_distinct_names(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"], rotate_bytes=1) as writer:
        for _ in range(3):
            writer.write(Recorded(T0, "s", b"1"), T0)
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"]) as other:  # another recorder, same second
        other.write(Recorded(T0, "s", b"2"), T0)
    names = [p.name for p in [*writer.files, *other.files]]
    assert len(set(names)) == 4
    assert [i.data for i in read_files(recording_files(tmp_path))] == [b"1", b"1", b"1", b"2"]


def test_a_refused_payload_leaves_the_recording_untouched(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"]) as writer:
        writer.write(Recorded(T0, "s", b"1"), T0)
        with pytest.raises(ValueError):
            writer.write(Recorded(T0 + 1, "s", b"{\n}"), T0 + 1)
        writer.write(Recorded(T0 + 2, "s", b"2"), T0 + 2)
    assert [i.data for i in read_files(writer.files)] == [b"1", b"2"]


def test_nothing_written_means_no_file(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"]) as writer:
        writer.flush()
    assert writer.files == [] and list(tmp_path.iterdir()) == []


# -- a recorder that was killed ------------------------------------------------------------


def test_what_was_flushed_a_second_ago_is_on_disk_before_close(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path, Market.UM, URL, ["s"])
    for tenth in range(35):  # 3.4 s of messages, never closed
        now_us = T0 + tenth * 100_000
        writer.write(Recorded(now_us, "s", b"%d" % tenth), now_us)
    killed = tmp_path / "killed.jsonl.gz"
    killed.write_bytes(writer.files[0].read_bytes())  # what a kill -9 would leave
    _, read = read_all(killed)
    assert [i.data for i in read] == [b"%d" % t for t in range(len(read))]
    assert len(read) >= 25, "at most ~1 s lost"
    writer.close()


def test_a_truncated_file_reads_up_to_the_cut_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    items = [Recorded(T0 + i, "s", json.dumps({"i": i, "pad": "x" * (i % 50)}).encode()) for i in range(400)]
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"]) as writer:
        for item in items:
            writer.write(item, item.received_us)
            if item.received_us % 37 == 0:
                writer.flush()  # sync points all along the file
    whole = writer.files[0].read_bytes()
    cut_file = tmp_path / "cut.jsonl.gz"
    lengths = []
    for cut in [*range(0, len(whole), 7), len(whole) - 1]:  # up to into the gzip trailer
        cut_file.write_bytes(whole[:cut])
        caplog.clear()
        try:
            with caplog.at_level(logging.WARNING, logger="tickerplant.recording"):
                header, read = read_all(cut_file)
        except ValueError:
            assert not lengths, "cut before the header's sync point: not a recording (yet)"
            continue
        assert header.started_us == T0
        assert read == items[: len(read)], "a prefix of what was written, never garbage"
        assert "ends early" in caplog.text or "cut short" in caplog.text
        lengths.append(len(read))
    assert lengths == sorted(lengths) and lengths[0] == 0 and lengths[-1] > 350


def test_only_recordings_are_recordings(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path, Market.UM, URL, ["s"]) as writer:
        writer.write(Recorded(T0, "s", b"1"), T0)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.jsonl.gz").write_bytes(b"")
    (tmp_path / "plain.jsonl.gz").write_bytes(b'{"format":"tickerplant-recording"}\n')
    (tmp_path / "other.jsonl.gz").write_bytes(gzip.compress(b'{"r":1,"s":"x","d":1}\n'))
    (tmp_path / "dir.jsonl.gz").mkdir()
    renamed = tmp_path / "recording.json.gz"
    renamed.write_bytes(writer.files[0].read_bytes())
    assert [is_recording(p) for p in sorted(tmp_path.iterdir())] == [False] * 6 + [True]
    assert recording_files(tmp_path) == writer.files
    with pytest.raises(ValueError):
        read_recording(tmp_path / "other.jsonl.gz")
    with pytest.raises(ValueError):
        read_recording(tmp_path / "empty.jsonl.gz")


def test_recording_files_are_ordered_by_start_across_markets(tmp_path: Path) -> None:
    for market, start in ((Market.UM, T0 + 2), (Market.CM, T0 + 1), (Market.UM, T0)):
        with RecordingWriter(tmp_path, market, URL, ["s"]) as writer:
            writer.write(Recorded(start, "s", b"1"), start)
    assert [read_all(p)[0].started_us for p in recording_files(tmp_path)] == [T0, T0 + 1, T0 + 2]
