// The venue's accounts: the list (GET /api/accounts), and one account's balances, keys
// (never a secret), positions with their unrealized PnL at mark, open orders and recent
// fills per market (GET /api/accounts/<id>, polled each second while the page is open).
//
// Routes: #/accounts, #/accounts/<id>.

import { MARKET_NAME } from "./binance.js";
import { el, tone, utcTime } from "./format.js";

const POLL_MS = 1000;

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body && body.msg ? body.msg : `HTTP ${response.status}`);
  return body;
}

function table(columns, rows, attrs = {}) {
  return el("table", { class: "grid", ...attrs },
    el("thead", {}, el("tr", {}, columns.map(([label]) => el("th", {}, label)))),
    el("tbody", {}, rows.map((row) => el("tr", row.attrs || {}, columns.map(([, cell]) => el("td", {}, cell(row)))))));
}

function panel(title, sub, body) {
  return el("section", { class: "panel" },
    el("div", { class: "panel-head" }, title, el("span", { class: "sub" }, sub)), el("div", { class: "panel-body" }, body));
}

function empty(text) {
  return el("div", { class: "empty" }, text);
}

function list(root) {
  root.replaceChildren(empty("Loading accounts…"));
  getJson("/api/accounts").then((accounts) => {
    if (!accounts.length) {
      root.replaceChildren(panel("Accounts", "the venue", empty("No account yet: tickerplant accounts create --balance USDT=10000")));
      return;
    }
    const rows = accounts.map((a) => ({ ...a, attrs: { "data-account": String(a.accountId), class: "link-row",
      onclick: () => (location.hash = `#/accounts/${a.accountId}`) } }));
    root.replaceChildren(panel("Accounts", `${accounts.length}`, table([
      ["Id", (a) => a.accountId], ["Name", (a) => a.name], ["Alias", (a) => a.alias],
      ["State", (a) => (a.disabled ? "disabled" : "enabled")], ["Keys", (a) => a.keys],
    ], rows, { id: "accounts" })));
  }).catch((error) => root.replaceChildren(empty(`not available: ${error.message}`)));
}

function detail(root, id) {
  const render = (account) => {
    const sections = [
      panel(`Account ${account.accountId}`, `${account.name} · ${account.alias} · ${account.disabled ? "disabled" : "enabled"}`,
        table([["Wallet", (b) => b.wallet], ["Asset", (b) => b.asset], ["Deposited", (b) => b.amount]], account.balances, { id: "balances" })),
      panel("API keys", "no secret is ever shown again", table([
        ["Key", (k) => k.apiKey], ["Type", (k) => k.keyType], ["Permissions", (k) => k.permissions.join(", ")],
        ["IPs", (k) => k.ips.join(", ") || "any"], ["State", (k) => (k.disabled ? "disabled" : "enabled")],
      ], account.apiKeys)),
    ];
    if (!account.trading) {
      sections.push(empty("Positions and orders: not available (this process runs no engine: --workers)"));
    } else {
      for (const [market, view] of Object.entries(account.trading)) {
        const name = MARKET_NAME[market] || market;
        sections.push(panel(`${name} positions`, "at mark", view.positions.length ? table([
          ["Symbol", (p) => p.symbol], ["Side", (p) => p.positionSide], ["Amount", (p) => p.positionAmt],
          ["Entry", (p) => p.entryPrice],
          ["Mark", (p) => p.markPrice], ["Unrealized PnL", (p) => el("span", { class: tone(p.unRealizedProfit) }, p.unRealizedProfit)],
          ["Liquidation", (p) => p.liquidationPrice],
          // an isolated position's own margin (wallet + uPnL); a cross one draws on the cross wallet
          ["Margin", (p) => (p.isolatedWallet === "0" ? "cross" : `isolated ${p.isolatedMargin}`)],
        ], view.positions.map((p) => ({ ...p, attrs: { "data-position": p.symbol } }))) : empty("none")));
        sections.push(panel(`${name} open orders`, "", view.openOrders.length ? table([
          ["Symbol", (o) => o.symbol], ["Id", (o) => o.orderId], ["Side", (o) => o.side],
          ["Position", (o) => o.positionSide], ["Type", (o) => o.type],
          ["Price", (o) => o.price], ["Qty", (o) => o.origQty], ["Filled", (o) => o.executedQty], ["Status", (o) => o.status],
        ], view.openOrders.map((o) => ({ ...o, attrs: { "data-order": String(o.orderId) } }))) : empty("none")));
        sections.push(panel(`${name} recent fills`, "newest last", view.fills.length ? table([
          ["Time", (f) => utcTime(f.time)], ["Symbol", (f) => f.symbol], ["Side", (f) => f.side], ["Price", (f) => f.price],
          ["Qty", (f) => f.qty], ["Fee", (f) => `${f.commission} ${f.commissionAsset}`], ["Maker", (f) => (f.maker ? "yes" : "")],
          ["Realized", (f) => el("span", { class: tone(f.realizedPnl) }, f.realizedPnl)],
        ], view.fills) : empty("none")));
      }
    }
    root.replaceChildren(...sections);
    root.dataset.polled = String(Number(root.dataset.polled || 0) + 1);
  };
  const load = () => getJson(`/api/accounts/${id}`).then(render).catch((error) => root.replaceChildren(empty(`not available: ${error.message}`)));
  load();
  const timer = setInterval(load, POLL_MS);
  return () => clearInterval(timer);
}

export function mount(root, ctx, args) {
  if (args.length && /^[0-9]+$/.test(args[0])) return detail(root, args[0]);
  list(root);
  return () => {};
}
