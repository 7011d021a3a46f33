// Time-ordered lists of the newest first: the trade tape (aggTrade, spec §4.4) and the
// liquidations (forceOrder, §4.10). Each keeps at most `limit` rows and redraws at most
// once an animation frame, however many pushes arrive.

import { el, utcTime } from "./format.js";

class NewestFirst {
  constructor(tbody, limit, emptyText, columns) {
    this.tbody = tbody;
    this.limit = limit;
    this.emptyText = emptyText;
    this.columns = columns;
    this.items = [];
    this.pending = false;
    this.render();
  }

  add(item) {
    this.items.unshift(item);
    if (this.items.length > this.limit) this.items.length = this.limit;
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.render();
      });
    }
  }

  set(items) {
    this.items = items.slice(0, this.limit);
    this.render();
  }

  render() {
    if (this.items.length === 0) {
      this.tbody.replaceChildren(el("tr", {}, el("td", { colspan: this.columns, class: "empty l" }, this.emptyText)));
      return;
    }
    this.tbody.replaceChildren(...this.items.map((item) => this.row(item)));
  }
}

// aggTrade: m true means the buyer was the maker, so the taker sold (red)
export class TradeTape extends NewestFirst {
  constructor(tbody, decimals) {
    super(tbody, 80, "waiting for trades…", 3);
    this.decimals = decimals;
  }

  row(t) {
    return el(
      "tr",
      {},
      el("td", { class: t.m ? "down" : "up" }, Number(t.p).toFixed(this.decimals)),
      el("td", {}, t.q),
      el("td", { class: "time" }, utcTime(t.T)),
    );
  }
}

// forceOrder's `o`: S SELL liquidates a long (red), BUY a short (green); z is what filled (in contracts on COIN-M)
export class Liquidations extends NewestFirst {
  constructor(tbody, emptyText, { mine = null, sideColumn = true } = {}) {
    super(tbody, 60, emptyText, sideColumn ? 5 : 4);
    this.mine = mine; // the symbol whose rows stand out
    this.sideColumn = sideColumn; // without it, the price's colour says the side
  }

  row(o) {
    const side = o.S === "SELL" ? "down" : "up";
    return el(
      "tr",
      { class: o.s === this.mine ? "mine" : null },
      el("td", { class: "time l" }, utcTime(o.T)),
      el("td", { class: "l" }, o.s),
      this.sideColumn ? el("td", { class: side }, o.S === "SELL" ? "long" : "short") : null,
      el("td", { class: this.sideColumn ? "" : side }, o.ap && Number(o.ap) ? o.ap : o.p),
      el("td", {}, o.z && Number(o.z) ? o.z : o.q),
    );
  }
}
