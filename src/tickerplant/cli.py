"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvloop

from tickerplant import logs
from tickerplant.config import (
    ServerConfig,
    SettingField,
    default_text,
    load,
    section_titles,
    settings,
)
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS

__all__ = ["build_config", "main"]


def _flag_type(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: its ValueError is the flag's error message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _help(item: SettingField) -> str:
    told = default_text(item)
    return f"{item.setting.help} ({f'default {told}; ' if told else ''}TOML {item.toml_key})"


def _add_settings(serve: argparse.ArgumentParser) -> None:
    """A flag for every setting that has one, from config.py's field knowledge."""
    groups: dict[str | None, Any] = {None: serve}
    for name, title in section_titles().items():
        groups[name] = serve.add_argument_group(title)
    toml_only: list[str] = []
    for item in settings():
        setting = item.setting
        if setting.flag is None:
            told = default_text(item)
            toml_only.append(f"{item.toml_key}: {setting.help}" + (f" (default {told})" if told else ""))
            continue
        options: dict[str, Any] = {"dest": item.path, "default": argparse.SUPPRESS, "help": _help(item)}
        if item.type is bool:
            options.update(action="store_const", const=True)
        elif not item.takes_value:  # on, off, or left to the default
            options.update(action=argparse.BooleanOptionalAction)
        else:
            if setting.metavar is not None:
                options["metavar"] = setting.metavar
            if setting.nargs is not None:
                options["nargs"] = setting.nargs
            elif setting.parse is not None:
                options["type"] = _flag_type(setting.parse)
            else:
                options["type"] = _value_type(item)
        groups[item.section].add_argument(setting.flag, **options)
    serve.epilog = "Settings in the --config TOML file only:\n" + "\n".join(f"  {line}" for line in toml_only)


def _value_type(item: SettingField) -> Callable[[str], Any]:
    """How argparse reads a plain number or string setting."""
    for kind in (int, float, str):
        if item.type is kind or item.type == (kind | None):
            return kind
    raise TypeError(f"{item.path}: no flag parser for {item.type}")


_LOG_FORMAT_HELP = "text lines (default) or JSON lines with timestamp, level, logger, message and fields"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickerplant",
        description="Binance USDⓈ-M and COIN-M futures market data, byte for byte.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the market-data protocols (simulated market)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", type=Path, help="TOML file; flags given here override it")
    serve.add_argument("--log-level", default="INFO", help="default INFO")
    serve.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)
    _add_settings(serve)

    binance_um = BINANCE_STREAMS[Market.UM]
    watch = commands.add_parser("watch", help="show live streams in the terminal")
    watch.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker ethusdt@miniTicker …")
    watch.add_argument(
        "--url", default=binance_um,
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    watch.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a table")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    watch.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    watch.add_argument("--log-level", default="WARNING", help="default WARNING")
    watch.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)

    book = commands.add_parser("book", help="keep a local order book and show it as a live ladder")
    book.add_argument("symbol", metavar="SYMBOL", help="BTCUSDT, BTCUSD_PERP …")
    book.add_argument(
        "--url", default=binance_um,
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip
    book.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    book.add_argument("--depth", type=int, default=10, metavar="N", help="levels a side shown (default 10)")
    book.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a ladder")
    book.add_argument("--count", type=int, metavar="N", help="stop after N updates (a resync counts)")
    book.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    book.add_argument("--log-level", default="WARNING", help="default WARNING")
    book.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)

    record = commands.add_parser("record", help="record raw stream messages to compressed, rotated files")
    record.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker !miniTicker@arr …")
    record.add_argument(
        "--url", default=binance_um,
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
    record.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)
    return parser


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags."""
    toml: dict[str, Any] = {}
    if args.config is not None:
        try:
            toml = tomllib.loads(args.config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"{args.config}: {exc}") from None
    given = vars(args)
    flags = {item.path: given[item.path] for item in settings() if item.path in given}
    try:
        return load(toml, flags)
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None


async def _serve(config: ServerConfig) -> None:
    from tickerplant.app import Tickerplant
    from tickerplant.feeds.relay import RelayError

    plant = Tickerplant(config)
    try:
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant: cannot start: {exc}") from None
    um, cm = plant.url(Market.UM), plant.url(Market.CM)
    admin = plant.admin_url()
    if config.replay.paths:
        speed = "max" if config.replay.speed is None else f"×{config.replay.speed:g}"
        # the admin listener's POST controls; the market listeners' GET paths are deprecated
        resume = f"POST {admin}/api/replay/resume" if admin else "GET /tickerplant/v1/replay/resume"
        state = f"paused: {resume} starts it" if config.replay.paused else "playing"
        print(f"tickerplant replaying {', '.join(config.replay.paths)} at {speed} ({state})")
        status = f"{admin}/api/status" if admin else f"{um.replace('ws://', 'http://')}/tickerplant/v1/replay"
        print(f"  replay status   {status}")
    elif config.relay.enabled:
        print(f"tickerplant relaying {', '.join(config.relay.urls) or 'Binance (fstream, dstream)'}")
    else:
        print(f"tickerplant serving a simulated market (seed {config.simulator.seed})")
    print(f"  USDⓈ-M streams  {um}/ws/<stream>  {um}/stream?streams=<a>/<b>  (also /public, /market)")
    print(f"  COIN-M streams  {cm}/ws/<stream>  {cm}/stream?streams=<a>/<b>")
    if admin is not None:
        print(f"  admin           {admin}/  (dashboard)  {admin}/metrics  {admin}/api/status")
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
    logs.setup(args.log_level, args.log_format)
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
    elif args.command == "book":
        from tickerplant.client.ladder import show_book

        with contextlib.suppress(KeyboardInterrupt):
            shown = show_book(
                args.url,
                args.symbol,
                market=Market(args.market) if args.market else None,
                depth=args.depth,
                as_json=args.json,
                count=args.count,
                seconds=args.seconds,
            )
            try:
                uvloop.run(shown)
            except OSError as exc:
                raise SystemExit(f"tickerplant book: {exc}") from None


if __name__ == "__main__":
    main()
