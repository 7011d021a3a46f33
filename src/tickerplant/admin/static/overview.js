// Markets: every symbol of both markets, live. Filled first from REST (ticker/24hr,
// ticker/bookTicker, premiumIndex), then kept by the all-market streams (spec §4):
// !ticker@arr (each second, the tickers that changed), !bookTicker, and the mark prices:
// !markPrice@arr@1s on USDⓈ-M, <pair>@markPrice@1s arrays on COIN-M (which has no
// all-market mark price stream). In the 2026 payload format a listener's all-market streams
// also carry the other market's rows (§4.13): each table takes only its own symbols.

import { StreamSocket, marketLabel, rest } from "./binance.js";
import { compact, el, fixed, signedPercent, tone } from "./format.js";
import { Liquidations } from "./tape.js";

const COLUMNS = [
  ["Symbol", "l"],
  ["Last", ""],
  ["24h", ""],
  ["24h range", ""],
  ["Volume", ""],
  ["Spread bp", ""],
  ["Mark", ""],
  ["Funding", ""],
];

class MarketTable {
  constructor(market, listener, decimals, navigate) {
    this.market = market;
    this.listener = listener;
    this.decimals = decimals;
    this.rows = new Map();
    this.dirty = new Set();
    this.pending = false;
    this.tbody = el("tbody");
    this.totalCell = el("span", { class: "sub" });
    const volumeUnit = market === "um" ? "Volume USDT" : "Volume cont";
    const head = el("tr", {}, COLUMNS.map(([name, cls]) => el("th", { class: cls }, name === "Volume" ? volumeUnit : name)));
    this.panel = el(
      "section",
      { class: "panel", "data-market": market },
      el("div", { class: "panel-head" }, marketLabel(market), el("span", { class: "sub" }, `${listener.symbols.length} symbols`), el("span", { class: "right" }, this.totalCell)),
      el("div", { class: "panel-body" }, el("table", { class: "grid" }, el("thead", {}, head), this.tbody)),
    );
    if (listener.symbols.length === 0) {
      this.tbody.append(el("tr", {}, el("td", { class: "empty l", colspan: COLUMNS.length }, "No symbols in this market: the source serves none.")));
    }
    for (const symbol of listener.symbols) {
      const cells = {
        last: el("td", { class: "num last" }, "—"),
        change: el("td", { class: "num" }, "—"),
        range: el("td", {}, el("span", { class: "range" }, el("i"))),
        volume: el("td", { class: "num" }, "—"),
        spread: el("td", { class: "num" }, "—"),
        mark: el("td", { class: "num" }, "—"),
        funding: el("td", { class: "num" }, "—"),
      };
      const [base, suffix] = symbol.split("_");
      const label = el("td", { class: "l sym" }, base, suffix ? el("small", {}, suffix === "PERP" ? "perp" : suffix) : null);
      const tr = el(
        "tr",
        { class: "link-row", "data-symbol": symbol, "data-market": market, onclick: () => navigate(market, symbol) },
        label, cells.last, cells.change, cells.range, cells.volume, cells.spread, cells.mark, cells.funding,
      );
      this.tbody.append(tr);
      this.rows.set(symbol, { tr, cells, shownLast: null });
    }
  }

  touch(symbol) {
    const row = this.rows.get(symbol);
    if (!row) return null; // another market's row on a merged stream, or a symbol we lack
    this.dirty.add(symbol);
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => this.render());
    }
    return row;
  }

  ticker(t) {
    const row = this.touch(t.s ?? t.symbol);
    if (!row) return;
    row.last = t.c ?? t.lastPrice;
    row.eventTime = t.E ?? t.closeTime;
    row.change = t.P ?? t.priceChangePercent;
    row.high = Number(t.h ?? t.highPrice);
    row.low = Number(t.l ?? t.lowPrice);
    // USDⓈ-M volume in the quote asset; COIN-M's v is in contracts (spec §4.3)
    row.volume = this.market === "um" ? (t.q ?? t.quoteVolume) : (t.v ?? t.volume);
  }

  book(b) {
    const row = this.touch(b.s ?? b.symbol);
    if (!row) return;
    row.bid = Number(b.b ?? b.bidPrice);
    row.ask = Number(b.a ?? b.askPrice);
  }

  mark(m) {
    const row = this.touch(m.s ?? m.symbol);
    if (!row) return;
    row.mark = m.p ?? m.markPrice;
    row.funding = m.r ?? m.lastFundingRate; // "" for a delivery contract
  }

  render() {
    this.pending = false;
    for (const symbol of this.dirty) {
      const row = this.rows.get(symbol);
      const { cells } = row;
      const digits = this.decimals[symbol] ?? 2;
      if (row.last !== undefined && row.last !== row.shownLast) {
        const cls = row.shownLast === null ? "" : Number(row.last) > Number(row.shownLast) ? "flash-up" : "flash-down";
        cells.last.textContent = fixed(row.last, digits);
        cells.last.className = `num last ${tone(row.change)}`;
        if (cls) {
          void cells.last.offsetWidth; // restart the flash
          cells.last.classList.add(cls);
        }
        row.shownLast = row.last;
      }
      row.tr.dataset.eventTime = row.eventTime ?? "";
      if (row.change !== undefined) {
        cells.change.textContent = signedPercent(row.change);
        cells.change.className = `num ${tone(row.change)}`;
        cells.last.classList.toggle("up", Number(row.change) > 0);
        cells.last.classList.toggle("down", Number(row.change) < 0);
      }
      if (row.high > row.low && row.last !== undefined) {
        const at = ((Number(row.last) - row.low) / (row.high - row.low)) * 100;
        cells.range.firstChild.firstChild.style.left = `${Math.max(0, Math.min(100, at)).toFixed(1)}%`;
        cells.range.title = `24h low ${row.low} · high ${row.high}`;
      }
      if (row.volume !== undefined) cells.volume.textContent = compact(row.volume);
      if (row.bid > 0 && row.ask > 0) {
        const mid = (row.bid + row.ask) / 2;
        cells.spread.textContent = fixed(((row.ask - row.bid) / mid) * 1e4, 2);
        cells.spread.title = `bid ${row.bid} · ask ${row.ask}`;
      }
      if (row.mark !== undefined) cells.mark.textContent = fixed(row.mark, digits);
      if (row.funding !== undefined) {
        const funding = row.funding === "" ? null : Number(row.funding) * 100;
        cells.funding.textContent = funding === null ? "—" : `${funding.toFixed(4)}%`;
        cells.funding.className = `num ${funding === null ? "dim" : tone(funding)}`;
      }
    }
    this.dirty.clear();
    let total = 0;
    for (const row of this.rows.values()) total += Number(row.volume) || 0;
    this.totalCell.textContent = `24h ${compact(total)} ${this.market === "um" ? "USDT" : "contracts"}`;
  }

  async load() {
    const [tickers, books, marks] = await Promise.all([
      rest(this.listener, this.market, "/ticker/24hr"),
      rest(this.listener, this.market, "/ticker/bookTicker"),
      rest(this.listener, this.market, "/premiumIndex").catch(() => []),
    ]);
    for (const t of tickers) this.ticker(t);
    for (const b of books) this.book(b);
    for (const m of marks) this.mark(m);
  }

  streams() {
    const names = ["!ticker@arr", "!bookTicker", "!forceOrder@arr"];
    if (this.market === "um") return [...names, "!markPrice@arr@1s"];
    const pairs = new Set(this.listener.symbols.map((s) => s.split("_")[0].toLowerCase()));
    return [...names, ...[...pairs].map((pair) => `${pair}@markPrice@1s`)];
  }
}

export function mount(root, ctx) {
  const sockets = [];
  let gone = false;
  const navigate = (market, symbol) => {
    location.hash = `#/symbol/${market}/${symbol}`;
  };
  (async () => {
    const status = await ctx.ready();
    const [umDecimals, cmDecimals] = await Promise.all([ctx.decimals("um"), ctx.decimals("cm")]);
    if (gone) return;
    const um = new MarketTable("um", status.listeners.um, umDecimals, navigate);
    const cm = new MarketTable("cm", status.listeners.cm, cmDecimals, navigate);
    const liqBody = el("tbody");
    const liqPanel = el(
      "section",
      { class: "panel" },
      el("div", { class: "panel-head" }, "Liquidations", el("span", { class: "sub" }, "both markets, newest first")),
      el(
        "div",
        { class: "panel-body" },
        el("table", { class: "tape" }, el("thead", {}, el("tr", {}, el("th", { class: "l" }, "Time"), el("th", { class: "l" }, "Symbol"), el("th", {}, "Side"), el("th", {}, "Price"), el("th", {}, "Qty"))), liqBody),
      ),
    );
    const liquidations = new Liquidations(liqBody, "No liquidations since this page opened.");
    root.append(um.panel, el("div", { class: "overview-right" }, cm.panel, liqPanel));
    for (const table of [um, cm]) {
      table.load().catch((error) => console.warn(error));
      const onMessage = (stream, data) => {
        if (stream === "!bookTicker") table.book(data);
        else if (stream === "!forceOrder@arr") {
          if (table.rows.has(data.o.s)) liquidations.add(data.o);
        } else if (Array.isArray(data)) {
          const apply = stream.startsWith("!ticker") ? (t) => table.ticker(t) : (m) => table.mark(m);
          for (const item of data) apply(item);
        }
      };
      const name = `overview-${table.market}`;
      sockets.push(new StreamSocket(table.listener.streams, table.streams(), onMessage, (state) => ctx.setLink(name, state)));
    }
  })();
  return () => {
    gone = true;
    for (const socket of sockets) socket.close();
  };
}
