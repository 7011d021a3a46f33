"""REST requests that wait their turn (gateway/rest_turns.py) over real sockets: with one
answer a loop turn (``rest_turn_ms`` 0), a burst of concurrent and pipelined requests is
answered whole and in order on each connection, and clients that leave while in line
cost their turn and no more (how long streams wait meanwhile: ``benchmarks/stall``). A
client pipelining faster than its turns answer is read no further than they answer: its
bytes wait in its socket, not in the server."""

from __future__ import annotations

import asyncio

import msgspec
from conftest import StartServer
from rawws import read_answer

from tickerplant.market.instruments import Market

TARGETS = [
    "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500",
    "/fapi/v1/trades?symbol=BTCUSDT&limit=1000",
    "/fapi/v1/time",
    "/fapi/v1/aggTrades?symbol=ETHUSDT&limit=1000",
]


async def _pipeline(port: int) -> list[object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % t.encode() for t in TARGETS))
    bodies = [msgspec.json.decode((await read_answer(reader)).split(b"\r\n\r\n", 1)[1]) for _ in TARGETS]
    writer.close()
    return bodies


async def test_a_burst_waits_in_line_and_is_answered_whole_and_in_order(start_server: StartServer) -> None:
    plant = await start_server(rest_turn_ms=0.0)
    listener = plant.listeners[Market.UM]
    turns = listener.rest_turns
    assert turns is not None
    answers = await asyncio.gather(*(_pipeline(listener.port) for _ in range(20)))
    for klines, trades, time, agg in answers:
        assert isinstance(klines, list) and klines and len(klines[0]) == 12
        assert isinstance(trades, list) and trades and set(trades[0]) >= {"id", "price", "qty", "quoteQty"}
        assert isinstance(time, dict) and list(time) == ["serverTime"]
        assert isinstance(agg, list) and agg and list(agg[0])[:3] == ["a", "p", "q"]
    assert turns.queued > 0 and turns.turns_from_line > 0  # they did wait
    assert len(turns) == 0


async def test_clients_that_leave_in_line_empty_it_and_others_are_answered(start_server: StartServer) -> None:
    plant = await start_server(rest_turn_ms=0.0)
    listener = plant.listeners[Market.UM]
    turns = listener.rest_turns
    assert turns is not None
    writers = []
    for _ in range(10):
        _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"GET /fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500 HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        writers.append(writer)
    for writer in writers:
        writer.close()
    klines, *_ = await _pipeline(listener.port)  # in line behind them, answered
    assert isinstance(klines, list) and len(klines[0]) == 12
    for _ in range(100):  # the closes reach the server within a few turns
        if len(turns) == 0:
            break
        await asyncio.sleep(0)
    assert len(turns) == 0


async def test_requests_in_line_before_a_half_close_are_answered(start_server: StartServer) -> None:
    """A client that pipelines requests and then half-closes (its FIN after the last) gets
    every answer: the ones waiting in line when the FIN comes are answered in their turns,
    then the server ends the connection."""
    plant = await start_server(rest_turn_ms=0.0)
    listener = plant.listeners[Market.UM]
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
    writer.write_eof()
    answers = [await read_answer(reader) for _ in range(4)]
    assert [answer[:13] for answer in answers] == [b"HTTP/1.1 200 "] * 4, answers
    assert await reader.read() == b""  # and then the server's end of the stream
    writer.close()


async def test_a_pipeline_faster_than_its_turns_is_not_read_ahead_of_them(start_server: StartServer) -> None:
    """One connection sending ``/fapi/v1/time`` pipelined as fast as it can, reading its
    answers, grew the server by a read (~256 KiB) a turn, every turn: ~60 MB a second, held
    until it closed. Read no further than its turns answer, what it sent waits in its own
    socket: past the kernel's buffers (a few MB on loopback), in its transport's."""
    plant = await start_server(rest_turn_ms=0.0)  # one answer a turn
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    sent = b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n" * 1_000_000  # 40 MB
    writer.write(sent)
    for _ in range(300):  # 300 turns: a read a turn would have taken it all in
        await read_answer(reader)
    assert writer.transport.get_write_buffer_size() > len(sent) // 2  # most of it still the client's
    writer.close()
