// One symbol: candles (REST klines, then <symbol>@kline_<interval>), the book's top 20
// levels as a ladder and a depth chart (<symbol>@depth20@100ms), the trade tape
// (<symbol>@aggTrade) and liquidations (<symbol>@forceOrder, and the market's others from
// !forceOrder@arr), under a header kept by <symbol>@ticker and <symbol>@markPrice@1s.
// All of it on one combined-stream connection, opened again when the interval changes.

import { MARKET_NAME, StreamSocket, marketLabel, rest } from "./binance.js";
import { CandleChart, fromRest, fromStream } from "./candles.js";
import { DepthChart, Ladder } from "./depth.js";
import { compact, duration, el, fixed, signedPercent, tone } from "./format.js";
import { Liquidations, TradeTape } from "./tape.js";

const INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"];
const DEPTH_FALLBACK_MS = 2500; // no depth push by then: the source has none (a public-file replay)

function stat(label) {
  const value = el("b", {}, "—");
  return { node: el("div", { class: "stat" }, el("span", {}, label), value), value };
}

export function mount(root, ctx, args) {
  let gone = false;
  let socket = null;
  let depthPoll = null;
  const closers = [];
  (async () => {
    const status = await ctx.ready();
    let [market, symbol] = args;
    if (!status.listeners[market]) market = "um";
    const listener = status.listeners[market];
    if (!listener.symbols.includes(symbol)) {
      symbol = listener.symbols.includes("BTCUSDT") ? "BTCUSDT" : listener.symbols[0];
      if (!symbol) {
        root.append(el("div", { class: "empty" }, "This market has no symbols."));
        return;
      }
      history.replaceState(null, "", `#/symbol/${market}/${symbol}`);
    }
    const decimals = (await ctx.decimals(market))[symbol] ?? 2;
    if (gone) return;
    const lower = symbol.toLowerCase();

    // header: a symbol picker over both markets, the last price and the day's figures
    const picker = el(
      "select",
      { onchange: (e) => (location.hash = `#/symbol/${e.target.value}`) },
      ["um", "cm"].map((m) =>
        el("optgroup", { label: MARKET_NAME[m] }, status.listeners[m].symbols.map((s) => el("option", { value: `${m}/${s}`, selected: m === market && s === symbol }, s))),
      ),
    );
    const last = el("span", { class: "last num" }, "—");
    const stats = {
      change: stat("24h change"),
      high: stat("24h high"),
      low: stat("24h low"),
      volume: stat(market === "um" ? "24h vol USDT" : "24h vol cont"),
      trades: stat("24h trades"),
      mark: stat("Mark"),
      index: stat("Index"),
      funding: stat("Funding / next"),
    };
    const head = el("div", { class: "panel sym-head" }, picker, last, Object.values(stats).map((s) => s.node));

    // panels
    const chartBox = el("div", { class: "canvas-box" });
    const intervalButtons = el("span", { class: "right" });
    const chartPanel = el("section", { class: "panel chart-panel" }, el("div", { class: "panel-head" }, symbol, el("span", { class: "sub" }, marketLabel(market), " · candles"), intervalButtons), chartBox);
    const depthBox = el("div", { class: "canvas-box" });
    const depthPanel = el("section", { class: "panel depth-panel" }, el("div", { class: "panel-head" }, "Depth", el("span", { class: "sub" }, "top 20 levels a side")), depthBox);
    const ladder = new Ladder(decimals);
    const ladderNote = el("span", { class: "sub" }, "@depth20@100ms");
    const ladderPanel = el("section", { class: "panel ladder-panel" }, el("div", { class: "panel-head" }, "Order book", ladderNote), el("div", { class: "panel-body" }, ladder.table));
    const tapeBody = el("tbody");
    const tapePanel = el(
      "section",
      { class: "panel tape-panel" },
      el("div", { class: "panel-head" }, "Trades", el("span", { class: "sub" }, "aggTrade")),
      el("div", { class: "panel-body" }, el("table", { class: "tape" }, el("thead", {}, el("tr", {}, el("th", {}, "Price"), el("th", {}, "Qty"), el("th", {}, "Time"))), tapeBody)),
    );
    const liqBody = el("tbody");
    const liqCount = el("span", { class: "sub" }, "");
    const liqPanel = el(
      "section",
      { class: "panel liq-panel" },
      el("div", { class: "panel-head" }, "Liquidations", liqCount),
      el("div", { class: "panel-body" }, el("table", { class: "tape" }, el("thead", {}, el("tr", {}, el("th", { class: "l" }, "Time"), el("th", { class: "l" }, "Symbol"), el("th", { title: "red: a long liquidated; green: a short" }, "Price"), el("th", {}, "Qty"))), liqBody)),
    );
    root.append(head, el("div", { class: "sym-grid" }, chartPanel, depthPanel, ladderPanel, tapePanel, liqPanel));

    const chart = new CandleChart(chartBox, decimals);
    const depth = new DepthChart(depthBox, decimals);
    const tape = new TradeTape(tapeBody, decimals);
    const liquidations = new Liquidations(liqBody, "No liquidations since this page opened.", { mine: symbol, sideColumn: false });
    closers.push(() => chart.close(), () => depth.close());
    let own = 0;
    let others = 0;
    let lastDepthAt = 0;
    let nextFunding = 0;
    let traded = false; // an aggTrade has set the last price

    const showTicker = (t) => {
      const price = t.c ?? t.lastPrice;
      if (!traded) last.textContent = Number(price).toFixed(decimals); // else the trades keep it
      last.className = `last num ${tone(t.P ?? t.priceChangePercent)}`;
      stats.change.value.textContent = signedPercent(t.P ?? t.priceChangePercent);
      stats.change.value.className = tone(t.P ?? t.priceChangePercent);
      stats.high.value.textContent = fixed(t.h ?? t.highPrice, decimals);
      stats.low.value.textContent = fixed(t.l ?? t.lowPrice, decimals);
      stats.volume.value.textContent = compact(market === "um" ? (t.q ?? t.quoteVolume) : (t.v ?? t.volume));
      stats.trades.value.textContent = compact(t.n ?? t.count);
      document.title = `${fixed(price, decimals)} ${symbol} · tickerplant`;
    };
    const showMark = (m) => {
      stats.mark.value.textContent = fixed(m.p ?? m.markPrice, decimals);
      stats.index.value.textContent = fixed(m.i ?? m.indexPrice, decimals);
      const rate = m.r ?? m.lastFundingRate;
      nextFunding = m.T ?? m.nextFundingTime ?? 0;
      stats.funding.value.textContent = rate === "" || rate === undefined ? "— (delivery)" : `${(Number(rate) * 100).toFixed(4)}%`;
      stats.funding.value.className = rate ? tone(rate) : "dim";
      stats.funding.value.dataset.rate = rate ?? "";
    };
    const countdown = setInterval(() => {
      const rate = stats.funding.value.dataset.rate;
      if (rate && nextFunding && ctx.status) {
        stats.funding.value.textContent = `${(Number(rate) * 100).toFixed(4)}% · ${duration(nextFunding - ctx.status.serverTimeMs)}`;
      }
    }, 1000);
    closers.push(() => clearInterval(countdown));
    const showBook = (bids, asks) => {
      ladder.set(bids, asks);
      depth.set(bids, asks);
    };

    // REST first, so the page is full before the first pushes
    rest(listener, market, "/ticker/24hr", { symbol })
      .then((t) => showTicker(Array.isArray(t) ? t[0] : t))
      .catch(() => {});
    rest(listener, market, "/premiumIndex", { symbol })
      .then((m) => showMark(Array.isArray(m) ? m[0] : m))
      .catch(() => {});
    rest(listener, market, "/aggTrades", { symbol, limit: 80 })
      .then((rows) => tape.set(rows.reverse().map((r) => ({ p: r.p, q: r.q, T: r.T, m: r.m }))))
      .catch(() => {});
    rest(listener, market, "/depth", { symbol, limit: 20 })
      .then((book) => {
        if (!lastDepthAt) showBook(book.bids, book.asks);
      })
      .catch(() => {});

    const open = (interval) => {
      for (const b of intervalButtons.children) b.classList.toggle("on", b.textContent === interval);
      if (socket) socket.close();
      chart.set([]);
      rest(listener, market, "/klines", { symbol, interval, limit: 500 })
        .then((rows) => {
          if (!gone) chart.set(rows.map(fromRest));
        })
        .catch(() => {});
      const streams = [`${lower}@kline_${interval}`, `${lower}@depth20@100ms`, `${lower}@aggTrade`, `${lower}@forceOrder`, "!forceOrder@arr", `${lower}@ticker`, `${lower}@markPrice@1s`];
      socket = new StreamSocket(
        listener.streams,
        streams,
        (stream, data) => {
          if (stream.includes("@kline_")) chart.update(fromStream(data.k));
          else if (stream.endsWith("@depth20@100ms")) {
            if (!lastDepthAt || Date.now() - lastDepthAt >= DEPTH_FALLBACK_MS) ladderNote.textContent = "@depth20@100ms";
            lastDepthAt = Date.now();
            showBook(data.b, data.a);
          } else if (stream.endsWith("@aggTrade")) {
            tape.add(data);
            ladder.tone(data.m ? "down" : "up");
            last.textContent = Number(data.p).toFixed(decimals); // the ticker's c lags it by up to 2 s
            traded = true;
          } else if (stream === "!forceOrder@arr") {
            // the market's other symbols; this symbol's come on its own stream below
            if (data.o.s !== symbol && status.listeners[market].symbols.includes(data.o.s)) {
              liquidations.add(data.o);
              others += 1;
            }
          } else if (stream.endsWith("@forceOrder")) {
            liquidations.add(data.o);
            own += 1;
          } else if (stream.endsWith("@ticker")) showTicker(data);
          else if (stream.includes("@markPrice")) showMark(Array.isArray(data) ? data.find((m) => m.s === symbol) || data[0] : data);
          if (stream.endsWith("@forceOrder") || stream === "!forceOrder@arr") liqCount.textContent = `${symbol} ${own} · others ${others}`;
        },
        (state) => ctx.setLink("symbol", state),
      );
    };
    for (const interval of INTERVALS) intervalButtons.append(el("button", { class: "btn", onclick: () => open(interval) }, interval));
    open("1m");

    // A source without depth streams (Binance's public files carry no depth, spec §9.2):
    // the ladder follows REST depth, which answers the recorded top of book.
    depthPoll = setInterval(() => {
      if (Date.now() - lastDepthAt < DEPTH_FALLBACK_MS) return;
      rest(listener, market, "/depth", { symbol, limit: 20 })
        .then((book) => {
          // an unsynced or bookless source answers an empty book (lastUpdateId 0)
          const empty = !book.bids.length && !book.asks.length;
          ladderNote.textContent = empty ? "no book from this source" : "REST depth (no depth stream)";
          showBook(book.bids, book.asks);
        })
        .catch(() => {});
    }, DEPTH_FALLBACK_MS);
  })();
  return () => {
    gone = true;
    if (socket) socket.close();
    clearInterval(depthPoll);
    for (const close of closers) close();
  };
}
