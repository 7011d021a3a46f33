"""``--faults``: a built-in profile by name, or a TOML file read and checked before the
server starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tickerplant.cli import _parser, build_config
from tickerplant.faults.builtin import BUILTIN


def test_faults_names_a_built_in_profile_or_reads_a_file(tmp_path: Path) -> None:
    named = build_config(_parser().parse_args(["serve", "--faults", "binance-bad-day"]))
    assert named.faults.profile_text == BUILTIN["binance-bad-day"]
    written = tmp_path / "day.toml"
    written.write_text('[[fault]]\nkind = "timeout"\nrate = 0.1\n')
    assert build_config(_parser().parse_args(["serve", "--faults", str(written)])).faults.profile_text == (
        written.read_text()
    )
    written.write_text('[[fault]]\nkind = "timeout"\n')
    with pytest.raises(SystemExit, match="give a rate, a window"):
        build_config(_parser().parse_args(["serve", "--faults", str(written)]))
    with pytest.raises(SystemExit, match=r"neither a built-in profile \(binance-bad-day, maintenance\) nor a file"):
        build_config(_parser().parse_args(["serve", "--faults", str(tmp_path / "none.toml")]))
    with pytest.raises(SystemExit, match=r"--faults binance-bad-dya: neither a built-in profile"):  # a typo
        build_config(_parser().parse_args(["serve", "--faults", "binance-bad-dya"]))
    written.write_bytes(b'[[fault]]\nkind = "timeout"\nrate = 0.1\nname = "\xff"\n')  # a file not UTF-8: said so
    with pytest.raises(SystemExit, match=r"day.toml: not UTF-8 text \(invalid start byte at byte 46\)"):
        build_config(_parser().parse_args(["serve", "--faults", str(written)]))
    inline = tmp_path / "server.toml"  # a profile written in the configuration: said where
    inline.write_text("[faults]\nprofile_text = \"\"\"\n[[fault]]\nkind = 'timeout'\n\"\"\"\n")
    with pytest.raises(SystemExit, match=r"^\[faults\] profile_text: fault 1 \(timeout\): give a rate, a window"):
        build_config(_parser().parse_args(["serve", "--config", str(inline)]))


@pytest.mark.parametrize(
    ("kind", "endpoint", "said"),
    [
        ("internal-error", "POST /fapi/v1/ordr", "'POST /fapi/v1/ordr' is not a private REST endpoint"),
        ("maintenance", "GET /fapi/v1/depth", "'GET /fapi/v1/depth' is not a private REST endpoint"),  # public
        ("session-drop", "order.plac", "'order.plac' is not a WebSocket API method"),
        ("event-drop", "ORDER_TRADE_UPDAT", "'ORDER_TRADE_UPDAT' is not a user data event (ACCOUNT_CONFIG_UPDATE"),
        ("depth-break", "btcusdt@dept", "'btcusdt@dept' is not a stream name"),
        ("maintenance", "GET /sapi/v1/margin/allPairs", "'GET /sapi/v1/margin/allPairs' is not a private"),
        ("reply-delay", "depth", "'depth' is not a WebSocket API method"),  # market data: never faulted
        ("event-drop", "listenKeyExpired", "'listenKeyExpired' is not a user data event"),
        ("depth-break", "btcusdt@aggTrade", "'btcusdt@aggTrade' is not a diff depth stream"),  # no depth to drop
        ("depth-break", "btcusdt@depth5@100ms", "'btcusdt@depth5@100ms' is not a diff depth stream"),  # partial
        ("market-reset", "BTCUSDT@aggTrade", "'BTCUSDT@aggTrade' is not a stream name"),  # upper case: silent
    ],
)
def test_an_endpoint_nothing_serves_is_refused_before_the_start(
    tmp_path: Path, kind: str, endpoint: str, said: str
) -> None:
    """A fault narrowed to a name that matches nothing would never fire: refused, saying which
    fault and which name (``gateway/fault_names.py``)."""
    written = tmp_path / "typo.toml"
    written.write_text(f'[[fault]]\nkind = "{kind}"\nrate = 0.5\nendpoints = ["{endpoint}"]\n')
    with pytest.raises(SystemExit, match=re.escape(f"--faults {written}: fault 1 ({kind}): endpoints: {said}")):
        build_config(_parser().parse_args(["serve", "--faults", str(written)]))


def test_the_names_each_family_meets_are_taken() -> None:
    profile = (
        '[[fault]]\nkind = "timeout"\nrate = 0.1\nendpoints = ["POST /dapi/v1/batchOrders", "order.place"]\n'
        '[[fault]]\nkind = "maintenance"\nrate = 0.1\nendpoints = ["GET /fapi/v2/account"]\n'
        '[[fault]]\nkind = "reply-delay"\nrate = 0.1\nendpoints = ["v2/account.status", "order.status"]\n'
        '[[fault]]\nkind = "event-delay"\nrate = 0.1\nendpoints = ["ACCOUNT_UPDATE"]\n'
        '[[fault]]\nkind = "market-reset"\nrate = 0.1\nendpoints = ["!markPrice@arr@1s", "ethusd_perp@depth20"]\n'
    )
    from tickerplant.faults.profile import parse_profile
    from tickerplant.gateway.fault_names import check_endpoints

    check_endpoints(parse_profile(profile))  # raises on any name it does not know


def test_the_plant_takes_the_profile_and_the_venue_database_by_flag(tmp_path: Path) -> None:
    """Split over processes, the plant decides the faults of order entry and holds the
    venue's journal: it takes ``--faults`` and ``--venue-db`` as ``serve`` and the gateways do
    (the plant refused both as unknown arguments); the per-connection aids stay the gateways'."""
    db = str(tmp_path / "venue.db")
    config = build_config(_parser().parse_args(["plant", "--faults", "binance-bad-day", "--venue-db", db]))
    assert (config.faults.profile_text, config.venue_db) == (BUILTIN["binance-bad-day"], db)
    gateway = build_config(_parser().parse_args(["gateway", "--faults", "binance-bad-day", "--venue-db", db]))
    assert (gateway.faults.profile_text, gateway.venue_db) == (BUILTIN["binance-bad-day"], db)
    with pytest.raises(SystemExit):
        _parser().parse_args(["plant", "--fault-drop-after", "5"])  # no connection of a client's to drop


def test_a_symbol_the_source_does_not_list_is_refused_at_the_start(tmp_path: Path) -> None:
    """A fault that would never fire on this server stops its start, saying which fault and
    why (``fault_names.check_listed``, once the source is prepared): a symbol nobody lists,
    a stream named after no listed symbol, a window over before the start; a listed symbol
    of either market, in any case, its pair's and contract's streams, an all-market stream,
    and an open-ended window that began before the start are taken."""
    from tickerplant.faults.profile import ProfileError
    from tickerplant.gateway.fault_names import check_listed
    from tickerplant.market.instruments import Market, catalogue

    start = 1_790_000_000_000
    listing = {market: catalogue(market, start) for market in Market}
    taken = (
        '[[fault]]\nkind = "timeout"\nrate = 0.1\nsymbols = ["btcusdt", "ETHUSD_PERP"]\n'
        '[[fault]]\nkind = "market-reset"\nrate = 0.1\nendpoints = ["ethusdt_perpetual@continuousKline_1m", '
        '"btcusd@indexPrice@1s", "!bookTicker"]\n'
        '[[fault]]\nkind = "market-stall"\nat = 1000\n'  # from long ago to the end: stalled from the start
        '[[fault]]\nkind = "internal-error"\nat = 1000\n'
    )
    check_listed(taken, listing, start)
    check_listed("", listing, start)  # no profile
    for profile, why in (
        ('[[fault]]\nkind = "timeout"\nrate = 0.1\n[[fault]]\nkind = "market-stall"\nat = "+5s"\nsymbols = ["BTCUSDX"]\n',
         "--faults: fault 2 (market-stall): symbols: 'BTCUSDX' is not a symbol the server lists"),
        ('[[fault]]\nkind = "market-reset"\nrate = 0.5\nendpoints = ["btcusdx@aggTrade"]\n',
         "--faults: fault 1 (market-reset): endpoints: 'btcusdx@aggTrade' is not a stream of a symbol the server lists"),
        (f'[[fault]]\nkind = "internal-error"\nat = {start - 60_000}\nfor_s = 60\n',
         "--faults: fault 1 (internal-error): at: it is over before the server's start (2026-09-21T"),
        (f'[[fault]]\nkind = "rollover"\nat = {start - 1}\n', "fault 1 (rollover): at: it is over before"),
    ):
        with pytest.raises(ProfileError, match=re.escape(why)):
            check_listed(profile, listing, start)
    said = "--faults: fault 2 (market-stall): symbols: 'BTCUSDX' is not a symbol the server lists"
    typo = '[[fault]]\nkind = "timeout"\nrate = 0.1\n[[fault]]\nkind = "market-stall"\nat = "+5s"\nsymbols = ["BTCUSDX"]\n'
    written = tmp_path / "typo.toml"
    written.write_text(typo)
    db = tmp_path / "venue.db"
    served = subprocess.run(
        [sys.executable, "-m", "tickerplant", "serve", "--um-port", "0", "--cm-port", "0", "--venue-db", str(db),
         "--faults", str(written)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 1, served.stderr
    assert served.stderr.splitlines()[-1] == f"tickerplant serve: cannot start: {said}", served.stderr
    assert "Traceback" not in served.stderr
