"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from tickerplant.config import FaultsConfig, LimitsConfig, ServerConfig, SimulatorConfig

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
}


def _rate(text: str) -> float | str:
    if text == "max":
        return text
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("the rate must be positive, or 'max'")
    return value


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
        "--sim-rate", type=_rate, metavar="ACTIONS_PER_S|max",
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
    return parser


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags."""
    sections: dict[str | None, dict[str, Any]] = {None: {}, "limits": {}, "simulator": {}, "faults": {}}
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
    try:
        return ServerConfig(
            **sections[None],
            limits=LimitsConfig(**sections["limits"]),
            simulator=SimulatorConfig(**sections["simulator"]),
            faults=FaultsConfig(**sections["faults"]),
        )
    except TypeError as exc:
        raise SystemExit(f"configuration: {exc}") from None


async def _serve(config: ServerConfig) -> None:
    from tickerplant.app import Tickerplant
    from tickerplant.market.instruments import Market

    plant = Tickerplant(config)
    await plant.start()
    um, cm = plant.url(Market.UM), plant.url(Market.CM)
    print(f"tickerplant serving a simulated market (seed {config.simulator.seed})")
    print(f"  USDⓈ-M streams  {um}/ws/<stream>  {um}/stream?streams=<a>/<b>  (also /public, /market)")
    print(f"  COIN-M streams  {cm}/ws/<stream>  {cm}/stream?streams=<a>/<b>")
    print("Ctrl-C stops.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await plant.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        config = build_config(args)
        uvloop.run(_serve(config))
    elif args.command == "watch":
        from tickerplant.client.watch import watch

        with contextlib.suppress(KeyboardInterrupt):
            seen = watch(args.url, args.streams, as_json=args.json, count=args.count, seconds=args.seconds)
            uvloop.run(seen)


if __name__ == "__main__":
    main()
