"""A report's figures drawn as one HTML page that works offline (plotly.js embedded once,
no request leaves the page), and written as JSON: the same ``figures.Figures``, its money
in integers of 1e-8 as the journal keeps it.

The page: the statistics as cards, the equity curve over the drawdown, each symbol's price
with the account's fills on it (buys ▲, sells ▼, liquidations ✕), where the net PnL came
from (a waterfall of the flows, ``figures.Flows``), and the tables behind them. Charts are
plotly's (a kept library, not drawn by hand); the floats they are drawn from are for the eye
only: every figure a reader copies is the JSON's.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from tickerplant.report.figures import Figures, SymbolFigures
from tickerplant.venue.domain.money import AMOUNT_DECIMALS, AMOUNT_SCALE

# plotly is imported where a page is drawn, not with the module: the admin listener's
# routes import it, and plotly's import (~0.15 s of a core) was paid by every process that
# serves one (each gateway of serve --workers, at each of its starts), report or none
if TYPE_CHECKING:
    import plotly.graph_objects as go  # type: ignore[import-untyped]

__all__ = ["CHART_IDS", "report_html", "report_json"]

CHART_IDS = ("equity", "pnl")  # the page's charts besides one ``price-<SYMBOL>`` per symbol
_DOLLARS = {"USDT", "USDC", "BUSD", "FDUSD", "USD"}  # shown with 2 decimals; a coin with 8
_UP, _DOWN, _LINE, _MUTED = "#17c387", "#f0475c", "#3b6ee3", "#8a94a6"
_CONFIG = {"displaylogo": False, "responsive": True}


def report_json(figures: Figures) -> bytes:
    return msgspec.json.format(msgspec.json.encode(figures), indent=1)


def _when(time_ms: int) -> datetime:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC)


def _value(units: int) -> float:
    return units / AMOUNT_SCALE


def _amount(units: int, asset: str, sign: bool = False) -> str:
    places = 2 if asset in _DOLLARS else AMOUNT_DECIMALS
    value = Decimal(units).scaleb(-AMOUNT_DECIMALS)
    return f"{value:{'+' if sign else ''},.{places}f} {asset}"


def _ratio(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.2f} %" if percent else f"{value:.2f}"


def _div(fig: go.Figure, div_id: str) -> str:
    import plotly.io as pio  # type: ignore[import-untyped]

    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 40})
    return str(pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG))


def _equity_chart(f: Figures) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    times = [_when(p.time_ms) for p in f.equity]
    fig.add_trace(go.Scatter(
        x=times, y=[_value(p.equity) for p in f.equity], name="equity", line={"color": _LINE, "shape": "hv"},
    ), row=1, col=1)  # fmt: skip
    if f.flows.transfers:
        fig.add_trace(go.Scatter(
            x=times, y=[_value(p.adjusted) for p in f.equity], name="equity less transfers",
            line={"color": _MUTED, "shape": "hv", "dash": "dot"},
        ), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(
        x=times, y=[-_value(p.drawdown) for p in f.equity], name="drawdown", fill="tozeroy",
        line={"color": _DOWN, "shape": "hv"},
    ), row=2, col=1)  # fmt: skip
    fig.update_yaxes(title_text=f.asset, row=1, col=1)
    fig.update_yaxes(title_text="drawdown", row=2, col=1)
    fig.update_layout(title="Equity and drawdown", height=460, hovermode="x unified")
    return _div(fig, "equity")


def _price_chart(f: Figures, symbol: SymbolFigures) -> str:
    import plotly.graph_objects as go

    one = 10**symbol.price_decimals
    line = f.prices.get(symbol.symbol, [])
    fig = go.Figure(go.Scatter(
        x=[_when(t) for t, _ in line], y=[p / one for _, p in line], name="price (marks)",
        line={"color": _MUTED, "shape": "hv"},
    ))  # fmt: skip
    kinds = (("buys", "BUY", False, "triangle-up", _UP), ("sells", "SELL", False, "triangle-down", _DOWN),
             ("liquidations", None, True, "x", "#000000"))  # fmt: skip
    for name, side, liquidation, marker, color in kinds:
        fills = [m for m in f.fills if m.symbol == symbol.symbol and m.liquidation == liquidation
                 and (side is None or m.side == side)]  # fmt: skip
        if not fills:
            continue
        qty_one = 10**symbol.qty_decimals
        fig.add_trace(go.Scatter(
            x=[_when(m.time_ms) for m in fills], y=[m.price / one for m in fills], mode="markers", name=name,
            marker={"symbol": marker, "size": 10, "color": color, "line": {"width": 1, "color": "#ffffff"}},
            text=[f"{m.side} {m.qty / qty_one:g} @ {m.price / one:g}<br>order {m.order_id}"
                  f"{' maker' if m.maker else ''}<br>PnL {_amount(m.realized_pnl, f.asset, True)}"
                  f"<br>fee {_amount(m.commission, f.asset)}" for m in fills],
            hoverinfo="text+x",
        ))  # fmt: skip
    fig.update_layout(title=f"{symbol.symbol}: fills on the price", height=380, yaxis_title="price")
    return _div(fig, f"price-{symbol.symbol}")


def _pnl_chart(f: Figures) -> str:
    import plotly.graph_objects as go

    flows = f.flows
    steps = [("realized PnL", flows.realized_pnl), ("fees", -flows.commission), ("funding", flows.funding),
             ("liquidation clearance", flows.insurance_clear), ("other flows", flows.other),
             ("unrealized change", flows.unrealized_change)]  # fmt: skip
    fig = go.Figure(go.Waterfall(
        x=[name for name, _ in steps] + ["net PnL"],
        y=[_value(v) for _, v in steps] + [_value(flows.net_pnl)],
        measure=["relative"] * len(steps) + ["total"],
        text=[_amount(v, f.asset, True) for _, v in steps] + [_amount(flows.net_pnl, f.asset, True)],
        increasing={"marker": {"color": _UP}}, decreasing={"marker": {"color": _DOWN}},
        totals={"marker": {"color": _LINE}},
    ))  # fmt: skip
    fig.update_layout(title="Where the PnL came from", height=360, yaxis_title=f.asset, showlegend=False)
    return _div(fig, "pnl")


def _cards(f: Figures) -> str:
    s = f.statistics
    slip, drawn = s.slippage, s.max_drawdown.ratio
    cards = [
        ("Return", _ratio(s.return_ratio)),
        ("Net PnL", _amount(f.flows.net_pnl, f.asset, True)),
        ("Max drawdown", f"{_amount(s.max_drawdown.amount, f.asset)} ({_ratio(drawn).lstrip('+')})"),
        (f"Sharpe (per {_period(s.sharpe_period_ms)}, annualized)", _ratio(s.sharpe, percent=False)),
        ("Trades", f"{s.trades} fills, {s.orders_filled} orders"),
        ("Win rate", f"{_ratio(s.win_rate).lstrip('+')} of {s.round_trips} round trips"),
        ("Turnover", f"{_amount(s.turnover, f.asset)} ({s.turnover_ratio or 0:.2f}×)"),
        ("Avg slippage vs arrival mid", "–" if slip.bps is None else f"{slip.bps:+.3f} bp"),
        ("Fees", _amount(f.flows.commission, f.asset)),
        ("Funding", _amount(f.flows.funding, f.asset, True)),
        ("Liquidations", f"{f.liquidations.orders} orders, {f.liquidations.fills} fills"),
        ("Equity", f"{_amount(s.start_equity, f.asset)} → {_amount(s.end_equity, f.asset)}"),
    ]  # fmt: skip
    return "".join(
        f'<div class="card"><div class="label">{html.escape(k)}</div>'
        f'<div class="value">{html.escape(v)}</div></div>'
        for k, v in cards
    )


def _period(period_ms: int) -> str:
    return {86_400_000: "day", 3_600_000: "hour"}.get(period_ms, "minute")


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in head)}</tr>{cells}</table>"


def _symbols_table(f: Figures) -> str:
    a = f.asset
    return _table(
        ["symbol", "fills", "bought", "sold", "turnover", "realized PnL", "fees", "funding",
         "liquidation fills"],
        [[s.symbol, s.fills, s.bought / 10**s.qty_decimals, s.sold / 10**s.qty_decimals,
          _amount(s.turnover, a), _amount(s.realized_pnl, a, True), _amount(s.commission, a),
          _amount(s.funding, a, True),
          s.liquidation_fills] for s in f.symbols],
    )  # fmt: skip


def _trips_table(f: Figures) -> str:
    a = f.asset
    return _table(
        ["symbol", "side", "opened (UTC)", "closed (UTC)", "fills", "realized PnL", "fees", "net"],
        [[t.symbol, t.position_side, f"{_when(t.open_ms):%Y-%m-%d %H:%M:%S}",
          f"{_when(t.close_ms):%Y-%m-%d %H:%M:%S}",
          t.fills, _amount(t.realized_pnl, a, True), _amount(t.commission, a), _amount(t.net, a, True)]
         for t in f.round_trips[-200:]],
    )  # fmt: skip


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #5b6473; margin-bottom: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid #e2e5ea; border-radius: 6px; padding: 10px 12px; }
.label { color: #5b6473; font-size: 12px; } .value { font-size: 16px; font-weight: 600; margin-top: 2px; }
.chart { background: #fff; border: 1px solid #e2e5ea; border-radius: 6px; margin-top: 12px; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
td, th { border: 1px solid #e2e5ea; padding: 4px 8px; text-align: right; } th { background: #eef0f3; }
td:first-child, th:first-child { text-align: left; }
"""


def report_html(figures: Figures) -> str:
    """The page (the module's docstring), plotly.js inside it."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    f = figures
    span = f"{_when(f.start_ms):%Y-%m-%d %H:%M:%S} – {_when(f.end_ms):%Y-%m-%d %H:%M:%S} UTC"
    charts = [_equity_chart(f), *(_price_chart(f, s) for s in f.symbols), _pnl_chart(f)]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tickerplant report: account {f.account_id} ({html.escape(f.asset)})</title>
<style>{_STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>Account {f.account_id}: {html.escape(f.asset)}</h1>
<div class="sub">{span} · figures defined in docs/report.md · the same figures in the report's JSON</div>
<div class="cards">{_cards(f)}</div>
{"".join(f'<div class="chart">{chart}</div>' for chart in charts)}
<h2>Per symbol</h2>{_symbols_table(f)}
<h2>Round trips closed{" (the last 200)" if len(f.round_trips) > 200 else ""}</h2>{_trips_table(f)}
</body></html>
"""
