"""The command line's grammar: every command's arguments, the server's from its settings
(``settings.py``), and what each process of a scale-out is configured by. It reads nothing:
``cli.py`` parses argv with it and reads the environment and the files."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tickerplant import __version__, logs
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS
from tickerplant.settings import SettingField, default_text, section_titles, settings

__all__ = ["SPLIT_DEFAULTS", "parser"]


def _flag_type(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: its ValueError is the flag's error message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _help(item: SettingField, split: bool = False) -> str:
    told = "0 (off)" if split and item.path in SPLIT_DEFAULTS else default_text(item)
    return f"{item.setting.help} ({f'default {told}; ' if told else ''}TOML {item.toml_key})"


def _add_settings(
    serve: argparse.ArgumentParser,
    wanted: Callable[[SettingField], bool] = lambda item: True,
    split: bool = False,
) -> None:
    """A flag for every setting that has one (of those ``wanted``), from config.py's field
    knowledge."""
    groups: dict[str | None, Any] = {None: serve}
    for name, title in section_titles().items():
        groups[name] = serve.add_argument_group(title)
    toml_only: list[str] = []
    for item in settings():
        if not wanted(item):
            continue
        setting = item.setting
        if setting.flag is None:
            told = default_text(item)
            toml_only.append(f"{item.toml_key}: {setting.help}" + (f" (default {told})" if told else ""))
            continue
        options: dict[str, Any] = {"dest": item.path, "default": argparse.SUPPRESS}
        options["help"] = _help(item, split)
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


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickerplant",
        description="Binance USDⓈ-M and COIN-M futures, byte for byte: market data and a trading venue.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _server_command(
        commands, "serve", "serve market data and the venue (a simulated, replayed or relayed market)", "INFO"
    )
    _add_scaleout_commands(commands)
    _add_run_command(commands)

    watch = commands.add_parser("watch", help="show live streams in the terminal")
    watch.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker ethusdt@miniTicker …")
    _add_stream_host(watch)
    watch.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a table")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    watch.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(watch, "WARNING")

    book = commands.add_parser("book", help="keep a local order book and show it as a live ladder")
    book.add_argument("symbol", metavar="SYMBOL", help="BTCUSDT, BTCUSD_PERP …")
    _add_stream_host(book)
    book.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    book.add_argument("--depth", type=int, default=10, metavar="N", help="levels a side shown (default 10)")
    book.add_argument("--json", action="store_true", help="print line-delimited JSON instead of a ladder")
    book.add_argument("--count", type=int, metavar="N", help="stop after N updates (a resync counts)")
    book.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(book, "WARNING")

    record = commands.add_parser("record", help="record raw stream messages to compressed, rotated files")
    record.add_argument("streams", nargs="+", metavar="STREAM", help="btcusdt@bookTicker !miniTicker@arr …")
    _add_stream_host(record)
    record.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the recording")
    record.add_argument("--market", choices=("um", "cm"), help="default: asked of the URL")
    record.add_argument(
        "--rotate-mb", type=_positive, default=256.0, metavar="MB", help="uncompressed size (default 256)"
    )
    record.add_argument("--rotate-s", type=_positive, default=3600.0, metavar="S", help="default 3600")
    record.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_log_options(record, "INFO")

    tls = commands.add_parser("tls", help="TLS for the listeners: a local CA and a certificate for testers")
    tls.add_argument("action", choices=("init",), help="init: write ca.pem, cert.pem and key.pem into DIR")
    tls.add_argument("dir", type=Path, metavar="DIR")
    tls.add_argument("--name", action="append", default=[], metavar="HOST", help="another DNS name to cover")
    _add_log_options(tls, "WARNING")
    _add_accounts_command(commands)
    report = commands.add_parser("report", help="an account's trading report: HTML (charts) and JSON")
    report.add_argument("--db", required=True, metavar="FILE", help="the accounts database (venue_db)")
    report.add_argument("--account", required=True, type=int, metavar="ID")
    report.add_argument("--from", dest="start", metavar="T", help="ms since the epoch or ISO 8601 (UTC)")
    report.add_argument("--to", dest="end", metavar="T", help="the end, inclusive (default: the last row)")
    report.add_argument("--asset", help="the margin asset (default: the one most fills settle in)")
    report.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the two files go")
    _add_log_options(report, "WARNING")
    return parser


def _server_command(
    commands: Any, name: str, about: str, level: str,
    wanted: Callable[[SettingField], bool] = lambda item: True, *, split: bool = False,
) -> argparse.ArgumentParser:  # fmt: skip
    """A command that runs a server (``serve``, ``run``, ``plant``, ``gateway``): a TOML file,
    the log options and the settings (``wanted``: those of its process)."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=about, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.add_argument("--config", type=Path, help="TOML file; flags given here override it")
    _add_log_options(command, level)
    _add_settings(command, wanted, split)
    return command


def _add_run_command(commands: Any) -> None:
    """``tickerplant run [serve's flags] -- COMMAND…``: a bot on a replay, its clock the
    market's (docs/run.md)."""
    about = "serve a replay and run a bot's command beside it, the bot's clock the market's"
    run = _server_command(commands, "run", about, "WARNING")
    run.add_argument(
        "--max-lag", type=int, default=1000, metavar="MS",
        help="the bot's clock may lag the market's this much (market ms) before the run stops (default 1000)",
    )  # fmt: skip
    run.add_argument(
        "--faketime-lib", metavar="FILE",
        help="the libfaketime library to run the bot under (default: Debian's libfaketime when installed, "
        "else the libfaketime package's, which fakes clocks but not sleeps)",
    )  # fmt: skip
    run.add_argument(
        "--report", type=Path, default=Path("tickerplant-report"), metavar="DIR",
        help="where each trading account's report (HTML and JSON) is written when the run ends "
        "(default tickerplant-report)",
    )  # fmt: skip
    run.add_argument("--no-report", dest="report", action="store_const", const=None, help="write none")
    run.add_argument("bot", nargs=argparse.REMAINDER, metavar="-- COMMAND …", help="the bot's command")


def _add_accounts_command(commands: Any) -> None:
    """``tickerplant accounts …``: the venue's accounts and API keys (docs/venue.md)."""
    accounts = commands.add_parser("accounts", help="the venue's accounts, balances and API keys")
    accounts.add_argument(
        "--db", metavar="FILE", help="the database (default: --config's venue_db, or tickerplant.db)"
    )
    accounts.add_argument("--config", type=Path, help="TOML file whose venue_db names the database")
    _add_log_options(accounts, "WARNING")
    action = accounts.add_subparsers(dest="action", required=True)
    create = action.add_parser("create", help="a new account and its first API key, printed once")
    create.add_argument("--name", default="", help="a name for the operator's eyes")
    create.add_argument("--balance", default="", metavar="ASSET=AMOUNT,…", help=_BALANCE_HELP)
    _add_key_options(create)
    action.add_parser("list", help="every account, one a line")
    show = action.add_parser("show", help="an account: its balances and keys (never a secret)")
    show.add_argument("account", type=int, metavar="ID")
    for name, about in (("deposit", "add to balances"), ("withdraw", "take from balances")):
        move = action.add_parser(name, help=about)
        move.add_argument("account", type=int, metavar="ID")
        move.add_argument("amounts", metavar="ASSET=AMOUNT,…", help=_BALANCE_HELP)
    for name, about in (
        ("disable", "refuse the account's keys (-2015) until enabled"), ("enable", "accept them again"),
        ("delete", "delete the account, its balances and its keys (not while it holds orders or positions)"),
    ):  # fmt: skip
        action.add_parser(name, help=about).add_argument("account", type=int, metavar="ID")
    action.add_parser(
        "verify", help="check that the journal adds up: wallets to income, positions and orders to fills"
    )
    keys_command = action.add_parser("keys", help="an account's API keys")
    keys = keys_command.add_subparsers(dest="keys_action", required=True)
    add = keys.add_parser("add", help="another API key for an account, printed once")
    add.add_argument("account", type=int, metavar="ID")
    _add_key_options(add)
    keys.add_parser("list", help="an account's keys").add_argument("account", type=int, metavar="ID")
    revoke = keys.add_parser("revoke", help="delete a key: it is unknown from now on")
    revoke.add_argument("api_key", metavar="KEY")


_BALANCE_HELP = (
    "e.g. USDT=10000,BTC=1: a coin COIN-M is margined in goes to the COIN-M wallet, others to USDⓈ-M; "
    "um:/cm: chooses"
)


def _add_key_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--public-key", type=Path, metavar="FILE",
        help="an Ed25519 or RSA public key in PEM (its type is read from it); default: an HMAC secret",
    )  # fmt: skip
    command.add_argument(
        "--permissions", default="reading,trading", metavar="reading[,trading]",
        help="what the key may do (default reading,trading)",
    )  # fmt: skip
    command.add_argument(
        "--ip", default="", metavar="ADDR[/BITS],…", help="addresses the key may be used from (default any)"
    )


# What each scale-out process is configured by (docs/operations.md, Scale-out): the plant by its
# source's settings and the payload format it encodes in; a gateway by its listeners'.
_NATS_SETTINGS = {"nats_url", "nats_token_file", "nats_creds", "nats_tls_ca", "nats_tls_cert", "nats_tls_key"}
_ADMIN_SETTINGS = {"admin_host", "admin_port", "admin_token", "admin_token_file"}
# (the venue's REST and WebSocket API answers are made where its engines are: the plant's,
# with its journal, and so are the faults of order entry, the WebSocket API and user data)
_PLANT_SETTINGS = {
    "payload_format", "clock_offset_ms", "queue_model", "legacy_fill_fields", "legacy_conditional_orders",
    "venue_db", *_ADMIN_SETTINGS, *_NATS_SETTINGS,
}  # fmt: skip
_PLANT_SECTIONS = {"simulator", "replay", "relay"}
_PLANT_FAULTS = {"profile", "profile_text"}  # not the per-connection aids: the plant holds no client
_GATEWAY_SECTIONS = {None, "limits", "faults"}
# a gateway serves the plant's format (bus/listing.py) and forwards its venue's answers
_NOT_GATEWAY = {"workers", "payload_format", "legacy_fill_fields", "legacy_conditional_orders"}
# A split process' admin listener is off unless asked for: several on one host would meet on
# one default port, and serve --workers gives its children private ports itself.
SPLIT_DEFAULTS = {"admin_port": 0}


def _add_stream_host(command: argparse.ArgumentParser) -> None:
    """``--url``: the stream host a client command (watch, book, record) dials."""
    command.add_argument(
        "--url", default=BINANCE_STREAMS[Market.UM],
        help="stream host (default Binance USDⓈ-M; tickerplant: ws://127.0.0.1:8765)",
    )  # fmt: skip


def _log_level(text: str) -> str:
    """A level's name, any case: DEBUG, INFO, WARNING, ERROR, CRITICAL."""
    if text.upper() not in logs.LEVELS:
        raise argparse.ArgumentTypeError(f"a level is one of {', '.join(logs.LEVELS)}, not {text!r}")
    return text.upper()


def _positive(text: str) -> float:
    """A finite number above 0 (a file's size or age before the next)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def _add_log_options(command: argparse.ArgumentParser, level: str) -> None:
    command.add_argument("--log-level", type=_log_level, default=level, help=f"default {level}")
    command.add_argument("--log-format", choices=logs.FORMATS, default="text", help=_LOG_FORMAT_HELP)


def _add_scaleout_commands(commands: Any) -> None:
    for name, wanted, about in (
        ("plant", lambda item: item.section in _PLANT_SECTIONS or item.name in _PLANT_SETTINGS
         or (item.section == "faults" and item.name in _PLANT_FAULTS),
         "run the source and the plants, publishing to gateways over NATS"),
        ("gateway", lambda item: item.section in _GATEWAY_SECTIONS and item.name not in _NOT_GATEWAY,
         "serve the protocols from a plant's data over NATS"),
    ):  # fmt: skip
        command = _server_command(commands, name, about, "INFO", wanted, split=True)
        # serve --workers N hands its children the whole configuration and the NATS token as
        # JSON on stdin, which stays open as their lifeline (scaleout/lifeline.py), and
        # shares ports with them: the gateways' listener ports, each one's admin port
        command.add_argument("--config-stdin", action="store_true", help=argparse.SUPPRESS)
        command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

