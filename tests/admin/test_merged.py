"""The whole server's metrics and status from its processes' own (admin/merged.py): the
expositions parsed and added up by name and labels, the statuses merged as the dashboard
reads them."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tickerplant.admin.merged import Said, merge_metrics, merge_status

PLANT = """\
# HELP tickerplant_published_messages_total Messages published
# TYPE tickerplant_published_messages_total counter
tickerplant_published_messages_total{market="um"} 100.0
# HELP tickerplant_book_levels Price levels
# TYPE tickerplant_book_levels gauge
tickerplant_book_levels{market="um",side="bid",symbol="BTCUSDT"} 20.0
# HELP process_resident_memory_bytes RSS
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1000.0
# HELP process_start_time_seconds Start
# TYPE process_start_time_seconds gauge
process_start_time_seconds 50.0
"""


def _gateway(connections: int, fast: int, slow: int, start: float) -> str:
    return f"""\
# HELP tickerplant_connections Connections open
# TYPE tickerplant_connections gauge
tickerplant_connections{{market="um",surface="streams"}} {connections}.0
# HELP tickerplant_request_duration_seconds Requests
# TYPE tickerplant_request_duration_seconds histogram
tickerplant_request_duration_seconds_bucket{{endpoint="depth",le="0.001"}} {fast}.0
tickerplant_request_duration_seconds_bucket{{endpoint="depth",le="+Inf"}} {fast + slow}.0
tickerplant_request_duration_seconds_count{{endpoint="depth"}} {fast + slow}.0
tickerplant_request_duration_seconds_sum{{endpoint="depth"}} 0.5
# HELP tickerplant_book_levels Price levels
# TYPE tickerplant_book_levels gauge
tickerplant_book_levels{{market="um",side="bid",symbol="BTCUSDT"}} 19.0
# HELP process_resident_memory_bytes RSS
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 500.0
# HELP process_start_time_seconds Start
# TYPE process_start_time_seconds gauge
process_start_time_seconds {start}
"""


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def test_counters_gauges_and_histograms_add_up_the_market_gauges_are_the_plants() -> None:
    said = [
        Said("plant", PLANT),
        Said("gateway", _gateway(3, 1, 2, 40.0)),
        Said("gateway", _gateway(4, 5, 0, 60.0)),
    ]
    samples = _samples(merge_metrics(said))
    assert samples["tickerplant_connections", (("market", "um"), ("surface", "streams"))] == 7
    depth = (("endpoint", "depth"),)
    assert samples["tickerplant_request_duration_seconds_bucket", (*depth, ("le", "0.001"))] == 6
    assert samples["tickerplant_request_duration_seconds_bucket", (*depth, ("le", "+Inf"))] == 8
    assert samples["tickerplant_request_duration_seconds_count", depth] == 8
    assert samples["tickerplant_request_duration_seconds_sum", depth] == 1.0
    assert samples["tickerplant_published_messages_total", (("market", "um"),)] == 100
    book = (("market", "um"), ("side", "bid"), ("symbol", "BTCUSDT"))
    assert samples["tickerplant_book_levels", book] == 20  # the plant's, not a sum of views
    assert samples["process_resident_memory_bytes", ()] == 2000  # the whole server's
    assert samples["process_start_time_seconds", ()] == 40  # the oldest process'
    assert samples["tickerplant_workers", (("role", "gateway"),)] == 2
    assert samples["tickerplant_workers_up", (("role", "gateway"),)] == 2


def test_a_process_that_did_not_answer_adds_nothing_and_is_counted_down() -> None:
    said = [Said("plant", PLANT), Said("gateway", _gateway(3, 1, 2, 40.0)), Said("gateway", None)]
    samples = _samples(merge_metrics(said))
    assert samples["tickerplant_connections", (("market", "um"), ("surface", "streams"))] == 3
    assert samples["tickerplant_workers", (("role", "gateway"),)] == 2
    assert samples["tickerplant_workers_up", (("role", "gateway"),)] == 1
    assert samples["tickerplant_workers_up", (("role", "plant"),)] == 1
    cut_short = '# TYPE x counter\nx_total{a="b} 1\n'
    samples = _samples(merge_metrics([Said("plant", cut_short)]))
    assert samples["tickerplant_workers_up", (("role", "plant"),)] == 0


def _listener(streams: int, rate: float, busiest: list[dict[str, Any]], hits: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": 8765, "rest": "http://127.0.0.1:8765", "streams": "ws://127.0.0.1:8765",
        "connections": {"streams": streams, "wsApi": 1}, "symbols": ["BTCUSDT"],
        "messagesPerSecond": rate, "bytesPerSecond": rate * 100, "busiestStreams": busiest,
        "limitHits": {"too_many_requests": hits, "banned": 0},
    }  # fmt: skip


def _gateway_status(listener: dict[str, Any], closes: list[int]) -> dict[str, Any]:
    return {
        "source": "plant", "startedMs": 5, "serverTimeMs": 9, "finished": False, "finishReason": "",
        "listeners": {"um": listener}, "replay": None,
        "recentCloses": [{"time": t, "market": "um", "surface": "streams", "code": 1000, "reason": "", "peer": ""}
                         for t in closes],
    }  # fmt: skip


def test_the_status_is_the_plants_source_and_the_gateways_listeners_added_up() -> None:
    replay = {"state": "playing", "speed": 1.0}
    plant = {"source": "replay", "startedMs": 1, "serverTimeMs": 10, "finished": False, "finishReason": "",
             "listeners": {}, "recentCloses": [], "replay": replay}  # fmt: skip
    one = _listener(2, 10.0, [{"stream": "a", "subscribers": 2, "messages": 5, "bytes": 50}], 1)
    two = _listener(3, 5.5, [{"stream": "a", "subscribers": 1, "messages": 1, "bytes": 10},
                             {"stream": "b", "subscribers": 2, "messages": 7, "bytes": 70}], 2)  # fmt: skip
    status = merge_status(
        [Said("plant", plant), Said("gateway", _gateway_status(one, [30, 10])),
         Said("gateway", _gateway_status(two, [20])), Said("gateway", None)]
    )  # fmt: skip
    assert (status["source"], status["startedMs"], status["replay"]) == ("replay", 1, replay)
    um = status["listeners"]["um"]
    assert (um["port"], um["symbols"]) == (8765, ["BTCUSDT"])
    assert um["connections"] == {"streams": 5, "wsApi": 2}
    assert (um["messagesPerSecond"], um["bytesPerSecond"]) == (15.5, 1550.0)
    assert um["limitHits"] == {"too_many_requests": 3, "banned": 0}
    assert um["busiestStreams"] == [
        {"stream": "a", "subscribers": 3, "messages": 6, "bytes": 60},
        {"stream": "b", "subscribers": 2, "messages": 7, "bytes": 70},
    ]
    assert [close["time"] for close in status["recentCloses"]] == [30, 20, 10]
    assert [worker["up"] for worker in status["workers"]] == [True, True, True, False]


def test_without_the_plant_the_gateways_say_what_they_can() -> None:
    status = merge_status(
        [Said("plant", None), Said("gateway", _gateway_status(_listener(1, 1.0, [], 0), []))]
    )
    assert (status["source"], status["replay"]) == ("plant", None)
    assert status["listeners"]["um"]["connections"]["streams"] == 1


def _bus_up(*values: int) -> str:
    lines = [f'tickerplant_bus_up{{market="{m}"}} {v}.0' for m, v in zip(("um", "cm"), values, strict=False)]
    return "# HELP tickerplant_bus_up Live\n# TYPE tickerplant_bus_up gauge\n" + "\n".join(lines) + "\n"


def test_a_process_that_answers_but_does_not_hear_its_bus_is_not_up() -> None:
    said = [
        Said("plant", PLANT + _bus_up(1, 1)),
        Said("gateway", _gateway(3, 1, 2, 40.0) + _bus_up(1, 1)),
        Said("gateway", _gateway(4, 5, 0, 60.0) + _bus_up(0, 1)),  # its USDⓈ-M market went silent
    ]
    samples = _samples(merge_metrics(said))
    assert samples["tickerplant_workers_up", (("role", "gateway"),)] == 1
    assert samples["tickerplant_workers_up", (("role", "plant"),)] == 1
    assert samples["tickerplant_connections", (("market", "um"), ("surface", "streams"))] == 7  # still counted
    # the whole server's bus_up is each market's least, a 0 or 1 as each process' (not a sum: 3, 2)
    assert samples["tickerplant_bus_up", (("market", "um"),)] == 0
    assert samples["tickerplant_bus_up", (("market", "cm"),)] == 1
    samples = _samples(merge_metrics([Said("plant", PLANT + _bus_up(0, 0))]))  # away from NATS
    assert samples["tickerplant_workers_up", (("role", "plant"),)] == 0


def test_a_degraded_process_is_not_up_and_the_status_says_why() -> None:
    healthy = {**_gateway_status(_listener(1, 1.0, [], 0), []), "degraded": []}
    silent = {**healthy, "degraded": ["um: no data from the plant for 10 s"]}
    status = merge_status([Said("gateway", healthy), Said("gateway", silent), Said("gateway", None)])
    assert [(w["up"], w["degraded"]) for w in status["workers"]] == [
        (True, []),
        (False, ["um: no data from the plant for 10 s"]),
        (False, ["did not answer"]),
    ]
