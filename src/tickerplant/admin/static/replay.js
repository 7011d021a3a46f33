// The replay: where its clock is, how much of the files is read, and its controls (POST
// /api/replay/pause, /resume and /speed on the admin listener), beside the candles of a
// replayed symbol as clients see them (REST klines, then the kline stream).

import { StreamSocket, rest } from "./binance.js";
import { CandleChart, fromRest, fromStream } from "./candles.js";
import { bytes, compact, el, signedPercent, tone, utcDateTime } from "./format.js";

const SPEEDS = [1, 2, 5, 10, 60, "max"];

function kv(label) {
  const value = el("b", {}, "—");
  return { nodes: [el("span", {}, label), value], value };
}

export function mount(root, ctx) {
  let gone = false;
  let socket = null;
  let chart = null;
  let off = () => {};
  const tickerSockets = [];
  (async () => {
    const status = await ctx.ready();
    if (gone) return;
    if (!status.replay) {
      root.className = "page";
      root.append(el("section", { class: "panel", style: "max-width:640px" },
        el("div", { class: "panel-head" }, "Replay"),
        el("div", { class: "empty" }, `This server is not replaying: its source is the ${status.source}. `,
          "Start one with ", el("code", {}, "tickerplant serve --replay PATH… [--speed N|max] [--paused]"),
          " to see its progress and controls here.")));
      return;
    }
    const time = el("div", { id: "replay-time", class: "replay-clock" }, "—");
    const state = el("div", { class: "replay-state" }, "");
    const bar = el("i", { style: "width:0%" });
    const fields = {
      progress: kv("Progress"), start: kv("Start"), end: kv("End"), events: kv("Events"),
      rate: kv("Events / s"), read: kv("Read"), speed: kv("Speed"),
    };
    const toggle = el("button", { id: "replay-toggle", class: "btn big" }, "Pause");
    const speedButtons = SPEEDS.map((s) => el("button", { class: "btn", "data-speed": String(s), onclick: () => setSpeed(s) }, s === "max" ? "max" : `${s}×`));
    const custom = el("input", { type: "number", min: "0.1", step: "any", placeholder: "×" });
    const message = el("div", { class: "message" }, "");
    const side = el("section", { class: "panel" },
      el("div", { class: "panel-head" }, "Replay", el("span", { class: "sub" }, "replay clock (UTC)")),
      time, state, el("div", { class: "bar" }, bar),
      el("div", { class: "kv" }, Object.values(fields).flatMap((f) => f.nodes)),
      el("div", { class: "controls" }, el("span", { class: "label" }, "Playback"), toggle),
      el("div", { class: "controls" }, el("span", { class: "label" }, "Speed (replay seconds per second)"), speedButtons,
        custom, el("button", { class: "btn", onclick: () => custom.value && setSpeed(Number(custom.value)) }, "set")),
      message);

    const symbols = ["um", "cm"].flatMap((m) => status.listeners[m].symbols.map((s) => [m, s]));
    const picker = el("select", { onchange: (e) => showSymbol(...e.target.value.split("/")) },
      symbols.map(([m, s]) => el("option", { value: `${m}/${s}` }, s)));
    const chartBox = el("div", { class: "canvas-box" });
    const chartPanel = el("section", { class: "panel" },
      el("div", { class: "panel-head" }, "Candles", el("span", { class: "sub" }, "1m, as clients see them"), el("span", { class: "right" }, picker)),
      chartBox);
    // the replayed symbols as !ticker@arr tells them (the plant's rolling 24 h of the files)
    const tickerRows = new Map();
    const tickerBody = el("tbody", {}, symbols.map(([m, s]) => {
      const cells = [el("td", { class: "num" }, "—"), el("td", { class: "num" }, "—"), el("td", { class: "num" }, "—")];
      const tr = el("tr", { class: "link-row", onclick: () => { picker.value = `${m}/${s}`; showSymbol(m, s); } }, el("td", { class: "l sym" }, s), cells);
      tickerRows.set(s, { market: m, cells });
      return tr;
    }));
    const tickers = el("section", { class: "panel", style: "flex:1" },
      el("div", { class: "panel-head" }, "Replayed symbols", el("span", { class: "sub" }, "!ticker@arr")),
      el("div", { class: "panel-body" }, el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, el("th", { class: "l" }, "Symbol"), el("th", {}, "Last"), el("th", {}, "24h"), el("th", {}, "Trades"))),
        tickerBody)));
    root.append(el("div", { class: "replay-side" }, side, tickers), chartPanel);
    const showTicker = (t) => {
      const row = tickerRows.get(t.s);
      if (!row) return; // the other market's row on a merged stream (§4.13)
      const [last, change, count] = row.cells;
      last.textContent = t.c;
      change.textContent = signedPercent(t.P);
      change.className = `num ${tone(t.P)}`;
      count.textContent = compact(t.n);
    };
    for (const market of new Set(symbols.map(([m]) => m))) {
      tickerSockets.push(new StreamSocket(status.listeners[market].streams, ["!ticker@arr"],
        (stream, data) => data.forEach(showTicker), (st) => ctx.setLink(`tickers-${market}`, st)));
    }

    const act = async (path, body, what) => {
      message.textContent = "";
      try {
        await ctx.control(path, body);
      } catch (error) {
        message.textContent = error.status === 404 || error.status === 405
          ? `${what} is not available on this server.`
          : `${what} failed: ${error.message}`;
      }
    };
    const setSpeed = (speed) => act("/api/replay/speed", { speed }, "Changing the speed");
    toggle.addEventListener("click", () => {
      const playing = ctx.status.replay && ctx.status.replay.state === "playing";
      act(`/api/replay/${playing ? "pause" : "resume"}`, null, playing ? "Pause" : "Resume");
    });

    let previous = null;
    const render = (s) => {
      const r = s.replay;
      if (!r) return;
      time.textContent = utcDateTime(r.replayTime);
      time.dataset.replayTime = String(r.replayTime ?? "");
      state.textContent = r.state;
      state.className = `replay-state ${r.state}`;
      toggle.textContent = r.state === "playing" ? "❚❚ Pause" : "▶ Resume";
      toggle.disabled = r.state === "finished";
      for (const b of speedButtons) b.classList.toggle("on", b.dataset.speed === String(r.speed));
      const start = r.startTime;
      const end = r.endTime;
      let progress = r.progress;
      if (progress === undefined && start && end && r.replayTime) progress = (r.replayTime - start) / (end - start);
      if (progress === undefined && r.bytesTotal) progress = r.bytesRead / r.bytesTotal;
      if (r.state === "finished") progress = 1;
      const pct = Math.max(0, Math.min(1, progress ?? 0)) * 100;
      bar.style.width = `${pct.toFixed(1)}%`;
      fields.progress.value.textContent = progress === undefined ? "—" : `${pct.toFixed(1)}%`;
      fields.start.value.textContent = start ? utcDateTime(start) : "n/a";
      fields.end.value.textContent = end ? utcDateTime(end) : "the files' end";
      fields.events.value.textContent = compact(r.events);
      fields.read.value.textContent = `${bytes(r.bytesRead)} of ${bytes(r.bytesTotal)}`;
      fields.speed.value.textContent = r.speed === "max" ? "as fast as it goes" : `${r.speed}×`;
      if (previous && s.serverTimeMs > previous.at) {
        fields.rate.value.textContent = compact(((r.events - previous.events) * 1000) / (s.serverTimeMs - previous.at));
      }
      previous = { at: s.serverTimeMs, events: r.events };
    };
    off = ctx.onStatus(render);

    const showSymbol = async (market, symbol) => {
      if (socket) socket.close();
      if (chart) chart.close();
      chartBox.replaceChildren();
      const decimals = (await ctx.decimals(market))[symbol] ?? 2;
      if (gone) return;
      chart = new CandleChart(chartBox, decimals);
      const listener = status.listeners[market];
      rest(listener, market, "/klines", { symbol, interval: "1m", limit: 500 })
        .then((rows) => chart.set(rows.map(fromRest)))
        .catch(() => {});
      socket = new StreamSocket(listener.streams, [`${symbol.toLowerCase()}@kline_1m`],
        (stream, data) => chart.update(fromStream(data.k)), (st) => ctx.setLink("replay", st));
    };
    if (symbols.length) showSymbol(...symbols[0]);
  })();
  return () => {
    gone = true;
    off();
    if (socket) socket.close();
    if (chart) chart.close();
    for (const s of tickerSockets) s.close();
  };
}
