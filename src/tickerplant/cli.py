"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import tomllib
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from tickerplant.config import (
    FaultsConfig,
    LimitsConfig,
    RelayConfig,
    ReplayConfig,
    ServerConfig,
    SimulatorConfig,
)

__all__ = ["build_config", "main"]

# flag dest -> (section, field) in ServerConfig; section None is the top level.
_FIELDS: dict[str, tuple[str | None, str]] = {
    "host": (None, "host"),
    "um_port": (None, "um_port"),
    "cm_port": (None, "cm_port"),
    "strict_routing": (None, "strict_routing"),
    "lenient_case": (None, "lenient_case"),
    "request_weight": (None, "request_weight_per_min"),
    "ping_interval": ("limits", "ping_interval_s"),
    "pong_timeout": ("limits", "pong_timeout_s"),
    "max_connection_age": ("limits", "max_connection_age_s"),
    "max_streams": ("limits", "max_streams"),
    "max_incoming_rate": ("limits", "max_incoming_rate"),
    "send_buffer": ("limits", "send_buffer_bytes"),
    "seed": ("simulator", "seed"),
    "sim_rate": ("simulator", "actions_per_s"),
    "fault_drop_after": ("faults", "drop_after_s"),
    "fault_stall_after": ("faults", "stall_after_s"),
    "replay": ("replay", "paths"),
    "speed": ("replay", "speed"),
    "start": ("replay", "start_ms"),
    "end": ("replay", "end_ms"),
    "paused": ("replay", "paused"),
    "progress": ("replay", "progress"),
    "exit_at_end": ("replay", "exit_at_end"),
    "relay": ("relay", "urls"),
    "relay_symbols": ("relay", "symbols"),
    "relay_streams": ("relay", "kinds"),
}


def _positive_or_max(text: str) -> float | str:
    """A rate or a speed: a positive number, or 'max' for as fast as it goes."""
    if text == "max":
        return text
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("a positive number, or 'max'")
    return value


def _time_ms(text: str) -> int:
    """Unix milliseconds, or an ISO-8601 date/time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not Unix ms nor an ISO date/time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.split(",") if name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickerplant",
        description="Binance USDⓈ-M and COIN-M futures market data, byte for byte.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the market-data protocols (simulated market)")
    serve.add_argument("--config", type=Path, help="TOML file; flags given here override it")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--um-port", type=int, help="USDⓈ-M listener port (default 8765)")
    serve.add_argument("--cm-port", type=int, help="COIN-M listener port (default 8766)")
    serve.add_argument("--seed", type=int, help="simulator seed (default 1)")
    serve.add_argument(
        "--sim-rate", type=_positive_or_max, metavar="ACTIONS_PER_S|max",
        help="simulated order-flow actions per second, or 'max' (default 400)",
    )  # fmt: skip
    serve.add_argument("--ping-interval", type=float, metavar="S", help="default 180")
    serve.add_argument("--pong-timeout", type=float, metavar="S", help="default 600")
    serve.add_argument("--max-connection-age", type=float, metavar="S", help="default 86400")
    serve.add_argument("--max-streams", type=int, metavar="N", help="per connection, default 1024")
    serve.add_argument("--max-incoming-rate", type=int, metavar="N", help="messages per second, default 10")
    serve.add_argument(
        "--send-buffer", type=int, metavar="BYTES",
        help="unsent bytes before a slow client is closed (default 8 MiB)",
    )  # fmt: skip
    serve.add_argument(
        "--strict-routing", action="store_const", const=True,
        help="unrouted USDⓈ-M paths serve only /public streams, as Binance does now",
    )  # fmt: skip
    serve.add_argument(
        "--lenient-case", action="store_const", const=True,
        help="uppercase symbols in stream names deliver (Binance: silent)",
    )  # fmt: skip
    serve.add_argument(
        "--request-weight", type=int, metavar="N",
        help="REQUEST_WEIGHT per IP per minute, REST and WebSocket API (default 2400)",
    )  # fmt: skip
    serve.add_argument(
        "--fault-drop-after", type=float, metavar="S",
        help="testing aid: abort every WebSocket connection S seconds after it opens",
    )  # fmt: skip
    serve.add_argument(
        "--fault-stall-after", type=float, metavar="S",
        help="testing aid: every WebSocket connection goes silent S seconds after it opens",
    )  # fmt: skip
    serve.add_argument("--log-level", default="INFO", help="default INFO")
    replay = serve.add_argument_group("replay (instead of the simulator)")
    replay.add_argument(
        "--replay", nargs="+", metavar="PATH",
        help="Binance public files (bookTicker, aggTrades, trades; .csv or .zip) and tickerplant "
        "recordings, or folders of them, merged by time",
    )  # fmt: skip
    replay.add_argument("--speed", type=_positive_or_max, metavar="N|max", help="replay speed (default 1)")
    replay.add_argument("--start", type=_time_ms, metavar="TIME", help="skip events before (ISO UTC or ms)")
    replay.add_argument("--end", type=_time_ms, metavar="TIME", help="stop after (ISO UTC or ms)")
    replay.add_argument(
        "--paused", action="store_const", const=True,
        help="wait for GET /tickerplant/v1/replay/resume before playing",
    )  # fmt: skip
    replay.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: when it is a terminal)",
    )  # fmt: skip
    replay.add_argument(
        "--exit-at-end", action="store_const", const=True, help="stop serving once the replay has ended"
    )
    relay = serve.add_argument_group("relay (instead of the simulator)")
    relay.add_argument(
        "--relay", nargs="*", metavar="URL",
        help="relay upstream stream hosts (default: Binance's fstream and dstream); "
        "e.g. another tickerplant: --relay ws://host:8765 ws://host:8766",
    )  # fmt: skip
    relay.add_argument("--relay-symbols", type=_names, metavar="S1,S2", help="default: every listed symbol")
    relay.add_argument(
        "--relay-streams", type=_names, metavar="KIND,…",
        help="stream kinds, e.g. bookTicker,aggTrade,!miniTicker@arr (default: every kind served)",
    )  # fmt: skip

    watch = commands.add_parser("watch", help="show live streams in the terminal")
    watch.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker ethusdt@miniTicker …")
    watch.add_argument(
        "--url", default="wss://fstream.binance.com",
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    watch.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a table")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    watch.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    watch.add_argument("--log-level", default="WARNING", help="default WARNING")

    record = commands.add_parser("record", help="record raw stream messages to compressed, rotated files")
    record.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker !miniTicker@arr …")
    record.add_argument(
        "--url", default="wss://fstream.binance.com",
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    record.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the recording")
    record.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    record.add_argument(
        "--rotate-mb", type=float, default=256.0, metavar="MB", help="uncompressed size (default 256)"
    )
    record.add_argument("--rotate-s", type=float, default=3600.0, metavar="S", help="default 3600")
    record.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    record.add_argument("--log-level", default="INFO", help="default INFO")
    return parser


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags."""
    sections: dict[str | None, dict[str, Any]] = {
        None: {}, "limits": {}, "simulator": {}, "faults": {}, "replay": {}, "relay": {}
    }  # fmt: skip
    if args.config is not None:
        data = tomllib.loads(args.config.read_text())
        for key, value in data.items():
            if isinstance(value, dict):
                if key not in sections:
                    raise SystemExit(f"{args.config}: unknown section [{key}]")
                sections[key].update(value)
            else:
                sections[None][key] = value
    for dest, (section, field) in _FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            sections[section][field] = value
    if sections["simulator"].get("actions_per_s") == "max":
        sections["simulator"]["actions_per_s"] = None  # as fast as the process can produce
    replay, relay = sections["replay"], sections["relay"]
    if replay.get("speed") == "max":
        replay["speed"] = None
    for key in ("start_ms", "end_ms"):
        value = replay.get(key)
        if isinstance(value, str):
            replay[key] = _time_ms(value)
        elif isinstance(value, datetime):  # a TOML date-time
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            replay[key] = int(moment.timestamp() * 1000)
    for group, key in ((replay, "paths"), (relay, "urls"), (relay, "symbols"), (relay, "kinds")):
        if key in group:
            group[key] = tuple(group[key])
    if "urls" in relay:
        relay["enabled"] = True
    if replay.get("paths") and relay.get("enabled"):
        raise SystemExit("configuration: replay or relay, not both")
    try:
        return ServerConfig(
            **sections[None],
            limits=LimitsConfig(**sections["limits"]),
            simulator=SimulatorConfig(**sections["simulator"]),
            faults=FaultsConfig(**sections["faults"]),
            replay=ReplayConfig(**replay),
            relay=RelayConfig(**relay),
        )
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"configuration: {exc}") from None


async def _serve(config: ServerConfig) -> None:
    from tickerplant.app import Tickerplant
    from tickerplant.feeds.relay import RelayError
    from tickerplant.market.instruments import Market

    plant = Tickerplant(config)
    try:
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant: cannot start: {exc}") from None
    um, cm = plant.url(Market.UM), plant.url(Market.CM)
    if config.replay.paths:
        speed = "max" if config.replay.speed is None else f"×{config.replay.speed:g}"
        state = "paused: GET /tickerplant/v1/replay/resume starts it" if config.replay.paused else "playing"
        print(f"tickerplant replaying {', '.join(config.replay.paths)} at {speed} ({state})")
        print(f"  replay status   {um.replace('ws://', 'http://')}/tickerplant/v1/replay")
    elif config.relay.enabled:
        print(f"tickerplant relaying {', '.join(config.relay.urls) or 'Binance (fstream, dstream)'}")
    else:
        print(f"tickerplant serving a simulated market (seed {config.simulator.seed})")
    print(f"  USDⓈ-M streams  {um}/ws/<stream>  {um}/stream?streams=<a>/<b>  (also /public, /market)")
    print(f"  COIN-M streams  {cm}/ws/<stream>  {cm}/stream?streams=<a>/<b>")
    print("Ctrl-C stops.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait())]
    if config.replay.exit_at_end:
        waits.append(asyncio.ensure_future(plant.done.wait()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if plant.done.is_set():
        print(f"tickerplant: {plant.finish_reason}", flush=True)
    await plant.close()
    if plant.failed and plant.done.is_set():
        raise SystemExit(1)


async def _record(args: argparse.Namespace) -> None:
    from tickerplant.market.instruments import Market
    from tickerplant.recording.recorder import record

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if args.seconds is not None:
        loop.call_later(args.seconds, stop.set)
    files = await record(
        args.url,
        args.streams,
        args.out,
        market=Market(args.market) if args.market else None,
        rotate_bytes=int(args.rotate_mb * 1024 * 1024),
        rotate_s=args.rotate_s,
        stop=stop,
    )
    for path in files:
        print(path, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        config = build_config(args)
        uvloop.run(_serve(config))
    elif args.command == "record":
        uvloop.run(_record(args))
    elif args.command == "watch":
        from tickerplant.client.watch import watch

        with contextlib.suppress(KeyboardInterrupt):
            seen = watch(args.url, args.streams, as_json=args.json, count=args.count, seconds=args.seconds)
            uvloop.run(seen)


if __name__ == "__main__":
    main()
