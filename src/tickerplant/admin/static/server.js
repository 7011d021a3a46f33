// The server: connections, message rates, the busiest streams, recent closes with their
// reasons and the limits clients hit, all from /api/status as the shell polls it each
// second. Keys a server does not report (an older one) show as "not available".

import { MARKET_NAME, marketLabel } from "./binance.js";
import { bytes, compact, duration, el, utcTime } from "./format.js";

const MARKETS = ["um", "cm"];
const HISTORY = 120; // seconds of rates kept for the chart

// A key of one listener: in its listener object, or at the top level keyed by market
function perListener(status, market, key) {
  const listener = status.listeners?.[market];
  if (listener && listener[key] !== undefined) return listener[key];
  const top = status[key];
  if (top && typeof top === "object" && !Array.isArray(top) && top[market] !== undefined) return top[market];
  return undefined;
}

// a rate as a number, or the sum of a breakdown ({streams: n, wsApi: m})
function total(value) {
  if (typeof value === "number") return value;
  if (value && typeof value === "object") return Object.values(value).reduce((sum, v) => sum + (Number(total(v)) || 0), 0);
  return undefined;
}

function known(values) {
  const present = values.filter((v) => v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined;
}

// a busiest stream's figure: bytes as bytes, the rest as counts
const figure = (key, value) => (value === undefined ? "" : /bytes/i.test(key) ? bytes(value) : compact(value));

const na = (what) => el("div", { class: "empty na" }, `not available: this server's /api/status has no ${what}`);

// busiestStreams as rows of {name, market, figures}: a list of objects, of [name, n], or a map
function streamRows(value, market) {
  if (!value) return [];
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (Array.isArray(item)) return { name: String(item[0]), market, figures: { count: item[1] } };
      const name = item.stream ?? item.name ?? Object.values(item).find((v) => typeof v === "string");
      const figures = Object.fromEntries(Object.entries(item).filter(([, v]) => typeof v === "number"));
      return { name, market: item.market ?? market, figures };
    });
  }
  return Object.entries(value).map(([name, n]) => ({ name, market, figures: typeof n === "object" ? n : { count: n } }));
}

function panel(title, sub, body) {
  return el("section", { class: "panel" }, el("div", { class: "panel-head" }, title, el("span", { class: "sub" }, sub)), el("div", { class: "panel-body" }, body));
}

function drawRates(canvas, history) {
  const box = canvas.parentElement;
  const width = box.clientWidth;
  const height = box.clientHeight;
  if (!width || !height) return;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const top = Math.max(1, ...history.map((h) => Math.max(h.um ?? 0, h.cm ?? 0))) * 1.15;
  // the seconds seen so far across the whole width, up to the last two minutes
  const x = (i) => (history.length < 2 ? width : (i / (history.length - 1)) * width);
  const y = (v) => height - 4 - (v / top) * (height - 16);
  g.font = '10px "DejaVu Sans Mono", monospace';
  g.strokeStyle = "rgba(110, 122, 136, 0.13)";
  for (const share of [0.25, 0.5, 0.75]) {
    g.beginPath();
    g.moveTo(0, Math.round(y(top * share)) + 0.5);
    g.lineTo(width, Math.round(y(top * share)) + 0.5);
    g.stroke();
  }
  g.fillStyle = "#6e7a88";
  g.fillText(`${compact(top / 1.15)} msg/s`, 6, 11);
  for (const [market, color] of [["um", "#4aa3ff"], ["cm", "#f0b429"]]) {
    g.strokeStyle = color;
    g.lineWidth = 1.5;
    g.beginPath();
    history.forEach((h, i) => {
      const v = h[market] ?? 0;
      if (i === 0) g.moveTo(x(i), y(v));
      else g.lineTo(x(i), y(v));
    });
    g.stroke();
  }
}

export function mount(root, ctx) {
  const history = [];
  const kpis = el("div", { class: "kpis" });
  const listeners = el("tbody");
  const ratesCanvas = el("canvas");
  const rates = el("div", { class: "spark" }, ratesCanvas);
  const ratesBody = el("div", {}, rates);
  const busiest = el("div");
  const closes = el("div");
  const limits = el("div");
  const faults = el("div");
  root.append(
    kpis,
    panel("Listeners", "connections and traffic per market", el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["Market", "Streams URL", "Stream conns", "WS API conns", "Symbols", "msg/s", "bytes/s"].map((h, i) => el("th", { class: i < 2 ? "l" : "" }, h)))),
      listeners)),
    panel("Message rate", el("span", {}, "sent per second, up to the last two minutes: ", marketLabel("um"), " blue, COIN-M amber"), ratesBody),
    panel("Busiest streams", "", busiest),
    panel("Limit hits", "closes and refusals per listener since start", limits),
    el("div", { class: "span-2", style: "display:grid;min-height:0" }, panel("Recent closes", "the server's, newest first", closes)),
    el("div", { class: "span-2", style: "display:grid;min-height:0" }, panel("Faults", "the fault profile's, newest first (docs/faults.md)", faults)),
  );

  const render = (status) => {
    const conns = MARKETS.map((m) => status.listeners[m]?.connections ?? {});
    const streamsOpen = conns.reduce((s, c) => s + (c.streams ?? 0), 0);
    const wsApiOpen = conns.reduce((s, c) => s + (c.wsApi ?? 0), 0);
    const msgRate = MARKETS.map((m) => total(perListener(status, m, "messagesPerSecond")));
    const byteRate = MARKETS.map((m) => total(perListener(status, m, "bytesPerSecond")));
    const msgTotal = known(msgRate) ?? total(status.messagesPerSecond);
    const byteTotal = known(byteRate) ?? total(status.bytesPerSecond);
    const hits = MARKETS.map((m) => perListener(status, m, "limitHits"));
    const hitTotal = hits.some((h) => h) ? hits.reduce((s, h) => s + Object.values(h ?? {}).reduce((a, b) => a + (Number(b) || 0), 0), 0) : undefined;
    const kpi = (label, value, small) => el("div", { class: "kpi" }, el("span", {}, label), el("b", {}, value ?? el("span", { class: "na" }, "n/a")), small ? el("small", {}, small) : null);
    kpis.replaceChildren(
      kpi("Source", status.source, status.finished ? `finished: ${status.finishReason}` : `since ${utcTime(status.startedMs)} UTC`),
      kpi("Uptime", duration(status.serverTimeMs - status.startedMs), `server ${utcTime(status.serverTimeMs)} UTC`),
      kpi("Connections", String(streamsOpen + wsApiOpen), `streams ${streamsOpen} · ws api ${wsApiOpen}`),
      kpi("Messages / s", msgTotal === undefined ? null : compact(msgTotal), msgTotal === undefined ? "not reported" : "sent to clients"),
      kpi("Bytes / s", byteTotal === undefined ? null : bytes(byteTotal), byteTotal === undefined ? "not reported" : "sent to clients"),
      kpi("Limit hits", hitTotal === undefined ? null : compact(hitTotal), hitTotal === undefined ? "not reported" : "since start"),
    );

    listeners.replaceChildren(...MARKETS.filter((m) => status.listeners[m]).map((m, i) => {
      const l = status.listeners[m];
      return el("tr", {},
        el("td", { class: "l sym" }, marketLabel(m)),
        el("td", { class: "l num" }, l.streams),
        el("td", { class: "num" }, l.connections?.streams ?? "—"),
        el("td", { class: "num" }, l.connections?.wsApi ?? "—"),
        el("td", { class: "num" }, l.symbols?.length ?? "—"),
        el("td", { class: "num" }, msgRate[i] === undefined ? "n/a" : compact(msgRate[i])),
        el("td", { class: "num" }, byteRate[i] === undefined ? "n/a" : bytes(byteRate[i])));
    }));

    // rates over time, kept here from each poll
    if (msgTotal !== undefined) {
      history.push({ um: msgRate[0], cm: msgRate[1] });
      if (history.length > HISTORY) history.shift();
      if (ratesBody.firstChild !== rates) ratesBody.replaceChildren(rates);
      drawRates(ratesCanvas, history);
    } else {
      ratesBody.replaceChildren(na("messagesPerSecond"));
    }

    // the busiest streams
    const rows = MARKETS.flatMap((m) => streamRows(perListener(status, m, "busiestStreams"), m));
    const reportsBusiest = status.busiestStreams !== undefined || MARKETS.some((m) => perListener(status, m, "busiestStreams") !== undefined);
    if (!reportsBusiest) {
      busiest.replaceChildren(na("busiestStreams"));
    } else {
      const all = rows.length ? rows : streamRows(status.busiestStreams, "");
      const keys = [...new Set(all.flatMap((r) => Object.keys(r.figures)))];
      all.sort((a, b) => (b.figures[keys[0]] ?? 0) - (a.figures[keys[0]] ?? 0));
      busiest.replaceChildren(all.length === 0 ? el("div", { class: "empty" }, "No streams subscribed.") : el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, el("th", { class: "l" }, "Stream"), el("th", { class: "l" }, "Market"), keys.map((k) => el("th", {}, k)))),
        el("tbody", {}, all.slice(0, 12).map((r) => el("tr", {},
          el("td", { class: "l num" }, r.name), el("td", { class: "l" }, MARKET_NAME[r.market] ? marketLabel(r.market) : r.market ?? ""),
          keys.map((k) => el("td", { class: "num" }, figure(k, r.figures[k]))))))));
    }

    // limit hits: one row per limit, a column per listener, the ones hit first
    if (hits.every((h) => h === undefined)) {
      limits.replaceChildren(na("limitHits"));
    } else {
      const names = [...new Set(hits.flatMap((h) => Object.keys(h ?? {})))];
      const sum = (name) => hits.reduce((s, h) => s + (Number(h?.[name]) || 0), 0);
      names.sort((a, b) => sum(b) - sum(a) || a.localeCompare(b));
      limits.replaceChildren(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, el("th", { class: "l" }, "Limit"), MARKETS.map((m) => el("th", {}, marketLabel(m))))),
        el("tbody", {}, names.map((name) => el("tr", {}, el("td", { class: "l" }, name),
          hits.map((h) => el("td", { class: `num ${Number(h?.[name]) ? "hit" : "dim"}` }, h?.[name] ?? "—")))))));
    }

    // recent closes, from the listeners and the top level, newest first
    const listed = MARKETS.flatMap((m) => {
      const own = status.listeners[m]?.recentCloses;
      return Array.isArray(own) ? own.map((c) => ({ market: m, ...c })) : [];
    });
    const top = Array.isArray(status.recentCloses) ? status.recentCloses : [];
    const perMarket = status.recentCloses && !Array.isArray(status.recentCloses) ? MARKETS.flatMap((m) => (status.recentCloses[m] ?? []).map((c) => ({ market: m, ...c }))) : [];
    const when = (c) => c.time ?? c.timeMs ?? 0; // Unix ms
    const all = [...listed, ...top, ...perMarket].sort((a, b) => when(b) - when(a));
    const reported = MARKETS.some((m) => status.listeners[m]?.recentCloses !== undefined) || status.recentCloses !== undefined;
    if (!reported) {
      closes.replaceChildren(na("recentCloses"));
    } else if (all.length === 0) {
      closes.replaceChildren(el("div", { class: "empty" }, "The server has closed no connection yet."));
    } else {
      closes.replaceChildren(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["Time (UTC)", "Market", "Surface", "Code", "Reason", "Peer"].map((h) => el("th", { class: h === "Code" ? "" : "l" }, h)))),
        el("tbody", {}, all.slice(0, 50).map((c) => el("tr", {},
          el("td", { class: "l num dim" }, utcTime(when(c), true)),
          el("td", { class: "l" }, MARKET_NAME[c.market] ? marketLabel(c.market) : c.market ?? ""),
          el("td", { class: "l" }, c.surface ?? ""),
          el("td", { class: `num code-${c.code}` }, c.code ?? ""),
          el("td", { class: "reason", title: c.reason ?? "" }, c.reason ?? ""),
          el("td", { class: "l num dim" }, c.peer ?? ""))))));
    }
  };
  // the fault profile's faults, per listener, newest first; none listed without a profile
  const renderFaults = (status) => {
    const fired = MARKETS.flatMap((m) => (status.listeners[m]?.faults ?? []).map((f) => ({ market: m, ...f })));
    fired.sort((a, b) => b.time - a.time);
    if (!MARKETS.some((m) => status.listeners[m]?.faults !== undefined)) {
      faults.replaceChildren(el("div", { class: "empty" }, "No fault profile is loaded (serve --faults)."));
    } else if (fired.length === 0) {
      faults.replaceChildren(el("div", { class: "empty" }, "No fault has fired yet."));
    } else {
      faults.replaceChildren(el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["Time (UTC)", "Market", "Fault", "Where", "Symbol", "Account"].map((h) => el("th", { class: "l" }, h)))),
        el("tbody", {}, fired.slice(0, 50).map((f) => el("tr", {},
          el("td", { class: "l num dim" }, utcTime(f.time, true)),
          el("td", { class: "l" }, marketLabel(f.market)),
          el("td", { class: "l" }, f.kind),
          el("td", { class: "l" }, f.where),
          el("td", { class: "l" }, f.symbol),
          el("td", { class: "l num" }, f.account ?? ""))))));
    }
  };
  const off = ctx.onStatus((status) => { render(status); renderFaults(status); });
  return () => off();
}
