// The dashboard's shell: hash routes to the pages, the status poll every page shares
// (/api/status each second), and the top bar (source, replay, server time, link state).
//
// Routes: #/ (markets), #/symbol/<um|cm>/<SYMBOL>, #/server, #/replay, #/accounts[/<id>].
// Each page module exports mount(root, ctx, args) and returns its unmount function.

import { priceDecimals } from "./binance.js";
import { duration, utcDateTime, utcTime } from "./format.js";
import * as accounts from "./accounts.js";
import * as overview from "./overview.js";
import * as replay from "./replay.js";
import * as server from "./server.js";
import * as symbol from "./symbol.js";

const PAGES = { "": overview, symbol, server, replay, accounts };
const POLL_MS = 1000;

const ctx = {
  status: null, // the last /api/status answer
  statusError: "",
  polls: 0,
  listeners: new Set(),
  links: new Map(), // stream socket name -> "live" | "down"
  decimalsCache: new Map(),

  onStatus(callback) {
    this.listeners.add(callback);
    if (this.status) callback(this.status);
    return () => this.listeners.delete(callback);
  },

  // wait for the first status (the listeners' URLs)
  ready() {
    return new Promise((resolve) => {
      const off = this.onStatus((status) => {
        queueMicrotask(() => off());
        resolve(status);
      });
    });
  },

  decimals(market) {
    if (!this.decimalsCache.has(market)) {
      const listener = this.status.listeners[market];
      const pending = priceDecimals(listener, market).catch(() => ({}));
      this.decimalsCache.set(market, pending);
    }
    return this.decimalsCache.get(market);
  },

  setLink(name, state) {
    if (state === null) this.links.delete(name);
    else this.links.set(name, state);
    renderLink();
  },

  async control(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" }, // the admin takes JSON POSTs only
      body: JSON.stringify(body || {}),
    });
    const text = await response.text();
    let answer = null;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = { msg: text };
    }
    if (!response.ok) {
      const error = new Error(answer && answer.msg ? answer.msg : `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    poll(); // show the effect at once
    return answer;
  },
};

async function poll() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    ctx.status = await response.json();
    ctx.statusError = "";
  } catch (error) {
    ctx.statusError = String(error.message || error);
  }
  ctx.polls += 1;
  document.body.dataset.statusPolls = String(ctx.polls);
  renderTopbar();
  if (ctx.status) for (const callback of ctx.listeners) callback(ctx.status);
}

function renderTopbar() {
  const status = ctx.status;
  const source = document.getElementById("source");
  const clock = document.getElementById("server-clock");
  const chip = document.getElementById("replay-chip");
  const replayTab = document.querySelector('nav a[data-route="replay"]');
  if (ctx.statusError) {
    source.textContent = "admin unreachable";
    source.className = "badge bad";
    return;
  }
  source.textContent = status.source;
  source.className = `badge source-${status.source}`;
  source.title = `up ${duration(status.serverTimeMs - status.startedMs)}`;
  clock.textContent = `${utcTime(status.serverTimeMs)} UTC`;
  const r = status.replay;
  replayTab.classList.toggle("muted", !r);
  if (r) {
    chip.hidden = false;
    const speed = r.speed === "max" ? "max" : `×${r.speed}`;
    chip.textContent = `${r.state === "playing" ? "▶" : r.state === "paused" ? "❚❚" : "■"} ${utcDateTime(r.replayTime)} ${speed}`;
    chip.className = `chip replay-${r.state}`;
  } else {
    chip.hidden = true;
  }
}

function renderLink() {
  const dot = document.getElementById("link");
  const states = [...ctx.links.values()];
  const down = states.filter((s) => s !== "live").length;
  dot.className = states.length === 0 ? "link idle" : down ? "link down" : "link live";
  dot.title = states.length === 0 ? "no streams open" : down ? `${down} stream connection(s) reconnecting` : "streams live";
}

let unmount = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const name = parts[0] && PAGES[parts[0]] ? parts[0] : "";
  if (unmount) unmount();
  ctx.links.clear();
  renderLink();
  const root = document.getElementById("page");
  root.replaceChildren();
  root.className = `page page-${name || "overview"}`;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.route === (name || "overview"));
  }
  unmount = PAGES[name].mount(root, ctx, parts.slice(1));
}

window.addEventListener("hashchange", route);
poll();
setInterval(poll, POLL_MS);
route();
