"""Small files in the exact format of Binance's public futures data (spec §9), and the
direct computations replayed streams are checked against."""

from __future__ import annotations

import random
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DAY_MS = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC

AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
UM_TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker"
BOOK_HEADER = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"


@dataclass(frozen=True)
class Row:
    time_ms: int
    price: Decimal
    qty: Decimal
    buyer_is_maker: bool
    first_id: int
    last_id: int


def write(folder: Path, name: str, header: str | None, lines: list[str], *, zipped: bool) -> Path:
    text = "\n".join(([header] if header else []) + lines) + "\n"
    if zipped:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{name}.csv", text)
        return path
    path = folder / f"{name}.csv"
    path.write_text(text)
    return path


def trades(
    rng: random.Random, n: int, start_ms: int, price: float, tick: str, step: str, *, aggregates: bool = False
) -> list[Row]:
    """``n`` trades (or aggregates of 1-5 fills) with consecutive ids, times ascending
    (equal times allowed)."""
    rows = []
    t = start_ms
    trade_id = rng.randrange(10**6, 10**8)
    tick_d, step_d = Decimal(tick), Decimal(step)
    for _ in range(n):
        t += rng.choice((0, 7, 150, 900, 2600))
        price *= 1 + rng.gauss(0, 0.0004)
        p = (Decimal(repr(price)) / tick_d).quantize(Decimal(1)) * tick_d
        q = Decimal(rng.randint(1, 4000)) * step_d
        fills = rng.choice((1, 1, 1, 2, 5)) if aggregates else 1
        rows.append(Row(t, p, q, rng.random() < 0.5, trade_id, trade_id + fills - 1))
        trade_id += fills
    return rows


def trades_lines(rows: list[Row]) -> list[str]:
    """UM trades rows (one line per fill: a row of ``trades`` is a single fill)."""
    return [
        f"{r.first_id},{r.price},{r.qty},{r.price * r.qty},{r.time_ms},{str(r.buyer_is_maker).lower()}"
        for r in rows
    ]


def agg_lines(rows: list[Row]) -> list[str]:
    return [
        f"{i + 1000},{r.price},{r.qty},{r.first_id},{r.last_id},{r.time_ms},{str(r.buyer_is_maker).lower()}"
        for i, r in enumerate(rows)
    ]


def book_lines(rng: random.Random, n: int, start_ms: int, mid: float) -> list[tuple[int, str]]:
    """(update id, line) for ``n`` bookTicker rows with increasing ids, 8-decimal prices."""
    out = []
    u = rng.randrange(10**12, 10**13)
    t = start_ms
    for _ in range(n):
        u += rng.randint(1, 50)
        t += rng.choice((1, 5, 40, 300))
        mid *= 1 + rng.gauss(0, 0.0002)
        bid = Decimal(repr(mid)).quantize(Decimal("0.1"))
        ask = bid + Decimal("0.1")
        bq, aq = Decimal(rng.randint(1, 9000)) / 1000, Decimal(rng.randint(1, 9000)) / 1000
        out.append((u, f"{u},{bid:.8f},{bq:.8f},{ask:.8f},{aq:.8f},{t},{t + rng.randint(0, 6)}"))
    return out


def window(rows: list[Row], now_ms: int) -> list[Row]:
    """The rows a rolling 24 h window holds at ``now_ms``: from the whole minute 24 h ago
    (spec §4.3) to now."""
    opens = (now_ms - DAY_MS) // 60_000 * 60_000
    return [r for r in rows if opens <= r.time_ms <= now_ms]


KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
FUNDING_HEADER = "calc_time,funding_interval_hours,last_funding_rate"


def price_kline_lines(rng: random.Random, start_ms: int, minutes: int, price: float) -> list[tuple[int, Decimal, str]]:
    """(close time, close, line) of ``minutes`` 1-minute price klines (mark, index or
    premium: no volume), 8 decimals as Binance writes them."""
    out = []
    for m in range(minutes):
        open_ms = start_ms + m * 60_000
        prices = [price * (1 + rng.gauss(0, 0.0003)) for _ in range(4)]
        price = prices[-1]
        o, h, low, c = (Decimal(repr(p)).quantize(Decimal("0.00000001")) for p in (prices[0], max(prices), min(prices), prices[3]))
        close_ms = open_ms + 59_999
        out.append((close_ms, c, f"{open_ms},{o},{h},{low},{c},0,{close_ms},0,60,0,0,0"))
    return out


def funding_lines(rng: random.Random, first_ms: int, count: int, hours: int = 8) -> list[tuple[int, Decimal, str]]:
    """(calc time, rate, line) of ``count`` funding rows ``hours`` apart."""
    out = []
    for k in range(count):
        t = first_ms + k * hours * 3_600_000
        rate = (Decimal("0.0001") + Decimal(rng.randint(-500, 500)) / 10**8).quantize(Decimal("0.00000001"))
        out.append((t, rate, f"{t},{hours},{rate}"))
    return out
