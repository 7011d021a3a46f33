// The book's top levels, from <symbol>@depth20@100ms (spec §4.9: partial depth, the top 20
// bids and asks at each push), shown two ways: a ladder (asks above the spread, highest
// first; bids below, best first; a bar behind each row for the cumulative size) and a
// depth chart (cumulative size against price, bids left of the mid, asks right).

import { el } from "./format.js";

export const LEVELS = 20;

export class Ladder {
  constructor(decimals) {
    this.decimals = decimals;
    this.asks = [];
    this.bids = [];
    const row = (side) => {
      const cells = [el("td"), el("td"), el("td")];
      return { tr: el("tr", { class: side }, cells), cells };
    };
    // asks top-down run from the 20th level to the best, so the best ask meets the spread
    this.askRows = Array.from({ length: LEVELS }, () => row("ask"));
    this.bidRows = Array.from({ length: LEVELS }, () => row("bid"));
    this.midPrice = el("td", { class: "l" }, "—");
    this.spread = el("td", { colspan: 2, class: "spread" }, "");
    this.table = el(
      "table",
      { class: "ladder" },
      el("thead", {}, el("tr", {}, el("th", {}, "Price"), el("th", {}, "Size"), el("th", {}, "Total"))),
      el(
        "tbody",
        {},
        this.askRows.map((r) => r.tr),
        el("tr", { class: "mid" }, this.midPrice, this.spread),
        this.bidRows.map((r) => r.tr),
      ),
    );
  }

  // levels as the payload has them: [["price", "qty"], ...], best first
  set(bids, asks) {
    this.bids = bids;
    this.asks = asks;
    const total = (levels) => {
      let sum = 0;
      return levels.map(([, q]) => (sum += Number(q)));
    };
    const bidTotals = total(bids);
    const askTotals = total(asks);
    const scale = Math.max(bidTotals[bidTotals.length - 1] || 0, askTotals[askTotals.length - 1] || 0) || 1;
    // totals in the sizes' own decimals (the symbol's quantity step)
    const sample = (bids[0] || asks[0] || ["", ""])[1];
    const qtyDigits = sample.includes(".") ? sample.length - sample.indexOf(".") - 1 : 0;
    const fill = (rows, levels, totals, reversed) => {
      rows.forEach((r, i) => {
        const level = levels[reversed ? LEVELS - 1 - i : i];
        const t = totals[reversed ? LEVELS - 1 - i : i];
        const [price, size, sum] = r.cells;
        if (!level) {
          price.textContent = size.textContent = sum.textContent = "";
          r.tr.removeAttribute("data-price");
          r.tr.style.setProperty("--depth", "0%");
          return;
        }
        price.textContent = Number(level[0]).toFixed(this.decimals);
        size.textContent = level[1];
        sum.textContent = t.toFixed(qtyDigits);
        r.tr.dataset.price = level[0];
        r.tr.style.setProperty("--depth", `${((t / scale) * 100).toFixed(1)}%`);
      });
    };
    fill(this.askRows, asks, askTotals, true);
    fill(this.bidRows, bids, bidTotals, false);
    if (bids.length && asks.length) {
      const bid = Number(bids[0][0]);
      const ask = Number(asks[0][0]);
      const mid = (bid + ask) / 2;
      this.midPrice.textContent = mid.toFixed(this.decimals + 1);
      this.spread.textContent = `spread ${(ask - bid).toFixed(this.decimals)} · ${(((ask - bid) / mid) * 1e4).toFixed(2)} bp`;
    }
  }

  // the last trade's direction colours the mid
  tone(cls) {
    this.midPrice.className = `l ${cls}`;
  }
}

export class DepthChart {
  constructor(box, decimals) {
    this.box = box;
    this.decimals = decimals;
    this.canvas = document.createElement("canvas");
    box.append(this.canvas);
    this.bids = [];
    this.asks = [];
    this.pending = false;
    this.resize = new ResizeObserver(() => this.redraw());
    this.resize.observe(box);
  }

  set(bids, asks) {
    this.bids = bids;
    this.asks = asks;
    this.redraw();
  }

  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  close() {
    this.resize.disconnect();
  }

  draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = this.box.clientWidth;
    const height = this.box.clientHeight;
    if (!width || !height) return;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const g = this.canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = '11px "DejaVu Sans Mono", monospace';
    const { bids, asks } = this;
    if (!bids.length || !asks.length) {
      g.fillStyle = "#6e7a88";
      g.fillText("waiting for the book…", 12, 20);
      return;
    }
    const cumulative = (levels) => {
      let sum = 0;
      return levels.map(([p, q]) => [Number(p), (sum += Number(q))]);
    };
    const b = cumulative(bids);
    const a = cumulative(asks);
    const mid = (b[0][0] + a[0][0]) / 2;
    // symmetric around the mid, as wide as the farther side reaches
    const half = Math.max(mid - b[b.length - 1][0], a[a.length - 1][0] - mid) || 1;
    const lo = mid - half;
    const hi = mid + half;
    const top = Math.max(b[b.length - 1][1], a[a.length - 1][1]) * 1.1;
    const bottom = height - 18;
    const x = (p) => ((p - lo) / (hi - lo)) * width;
    const y = (q) => bottom - (q / top) * (bottom - 8);
    const side = (points, line, fill, dir) => {
      g.beginPath();
      g.moveTo(x(points[0][0]), bottom);
      let prev = 0;
      for (const [p, q] of points) {
        g.lineTo(x(p), y(prev));
        g.lineTo(x(p), y(q));
        prev = q;
      }
      g.lineTo(dir < 0 ? 0 : width, y(prev));
      g.lineTo(dir < 0 ? 0 : width, bottom);
      g.closePath();
      g.fillStyle = fill;
      g.fill();
      g.strokeStyle = line;
      g.lineWidth = 1.5;
      g.stroke();
    };
    side(b, "#17c387", "rgba(23, 195, 135, 0.18)", -1);
    side(a, "#f0475c", "rgba(240, 71, 92, 0.18)", 1);
    g.lineWidth = 1;
    g.strokeStyle = "rgba(201, 209, 219, 0.3)";
    g.setLineDash([3, 3]);
    g.beginPath();
    g.moveTo(Math.round(x(mid)) + 0.5, 0);
    g.lineTo(Math.round(x(mid)) + 0.5, bottom);
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = "#6e7a88";
    g.textBaseline = "top";
    g.textAlign = "left";
    g.fillText(lo.toFixed(this.decimals), 4, bottom + 4);
    g.textAlign = "right";
    g.fillText(hi.toFixed(this.decimals), width - 4, bottom + 4);
    g.textAlign = "center";
    g.fillStyle = "#c9d1db";
    g.fillText(mid.toFixed(this.decimals + 1), x(mid), bottom + 4);
    g.textAlign = "left";
    g.fillStyle = "#6e7a88";
    g.fillText(`bids ${b[b.length - 1][1].toFixed(2)}`, 6, 6);
    g.textAlign = "right";
    g.fillText(`asks ${a[a.length - 1][1].toFixed(2)}`, width - 6, 6);
  }
}
