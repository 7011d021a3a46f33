// A candlestick chart on a <canvas>: candles from REST klines, kept by the kline stream
// (spec §4.7: the open candle is pushed as it changes, and once more with x:true at its
// close), volume bars beneath, a price axis on the right, time along the bottom, the
// last price marked, and the candle under the pointer in the legend.

import { compact, utcTime } from "./format.js";

const UP = "#17c387";
const DOWN = "#f0475c";
const GRID = "rgba(110, 122, 136, 0.13)";
const AXIS = "#6e7a88";
const FONT = '11px "DejaVu Sans Mono", monospace';
const AXIS_W = 74; // the price axis on the right
const TIME_H = 18;
const STEP = 8; // pixels per candle (the body three quarters of it), up to twice that when few

// klines REST row: [openTime, open, high, low, close, volume, closeTime, ...]
export function fromRest(row) {
  return { t: row[0], o: +row[1], h: +row[2], l: +row[3], c: +row[4], v: +row[5] };
}

// kline stream payload's k
export function fromStream(k) {
  return { t: k.t, o: +k.o, h: +k.h, l: +k.l, c: +k.c, v: +k.v };
}

export class CandleChart {
  constructor(box, decimals) {
    this.box = box;
    this.decimals = decimals;
    this.canvas = document.createElement("canvas");
    this.canvas.dataset.candles = "0";
    box.append(this.canvas);
    this.legend = document.createElement("div");
    this.legend.className = "chart-legend";
    box.append(this.legend);
    this.candles = [];
    this.hover = null;
    this.pending = false;
    this.resize = new ResizeObserver(() => this.redraw());
    this.resize.observe(box);
    this.canvas.addEventListener("mousemove", (e) => {
      this.hover = e.offsetX;
      this.redraw();
    });
    this.canvas.addEventListener("mouseleave", () => {
      this.hover = null;
      this.redraw();
    });
  }

  set(candles) {
    this.candles = candles;
    this.redraw();
  }

  // the open candle changed, or a new one opened
  update(candle) {
    const last = this.candles[this.candles.length - 1];
    if (last && last.t === candle.t) this.candles[this.candles.length - 1] = candle;
    else if (!last || candle.t > last.t) {
      this.candles.push(candle);
      if (this.candles.length > 2000) this.candles.shift();
    }
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
    const canvas = this.canvas;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = FONT;
    const plotW = width - AXIS_W;
    const plotH = height - TIME_H;
    const visible = this.candles.slice(-Math.max(1, Math.floor((plotW - 8) / STEP)));
    // few candles (a replay that just began) are drawn wider, up to twice as wide
    const step = Math.max(STEP, Math.min(2 * STEP, Math.floor((plotW - 8) / Math.max(1, visible.length))));
    const body = Math.max(1, Math.round(step * 0.75));
    canvas.dataset.candles = String(visible.length);
    if (visible.length === 0) {
      g.fillStyle = AXIS;
      g.fillText("waiting for candles…", 12, 20);
      return;
    }
    const priceH = plotH * 0.8;
    const volTop = plotH * 0.82;
    let hi = -Infinity;
    let lo = Infinity;
    for (const c of visible) {
      hi = Math.max(hi, c.h);
      lo = Math.min(lo, c.l);
    }
    // volume scaled to its 95th percentile, so one burst does not flatten the rest
    const volumes = visible.map((c) => c.v).sort((a, b) => a - b);
    const vmax = volumes[Math.floor((volumes.length - 1) * 0.95)] || volumes[volumes.length - 1];
    const pad = (hi - lo) * 0.08 || hi * 0.001 || 1;
    hi += pad;
    lo -= pad;
    const y = (p) => 8 + ((hi - p) / (hi - lo)) * (priceH - 8);
    const x0 = plotW - visible.length * step;
    const lastY = y(visible[visible.length - 1].c);

    // grid and price axis: about six round steps
    const tick = niceStep((hi - lo) / 6);
    g.textAlign = "left";
    g.textBaseline = "middle";
    for (let p = Math.ceil(lo / tick) * tick; p <= hi; p += tick) {
      const py = Math.round(y(p)) + 0.5;
      g.strokeStyle = GRID;
      g.beginPath();
      g.moveTo(0, py);
      g.lineTo(plotW, py);
      g.stroke();
      g.fillStyle = AXIS;
      if (Math.abs(py - lastY) > 18) g.fillText(p.toFixed(this.decimals), plotW + 6, py); // clear of the last price's label
    }
    // time axis: a label every ~110 px
    g.textAlign = "center";
    g.textBaseline = "top";
    const every = Math.max(1, Math.round(110 / step));
    visible.forEach((c, i) => {
      if ((visible.length - 1 - i) % every !== 0) return;
      const cx = x0 + i * step + step / 2;
      g.strokeStyle = GRID;
      g.beginPath();
      g.moveTo(Math.round(cx) + 0.5, 0);
      g.lineTo(Math.round(cx) + 0.5, plotH);
      g.stroke();
      g.fillStyle = AXIS;
      g.fillText(utcTime(c.t).slice(0, 5), cx, plotH + 4);
    });
    // candles and volume
    visible.forEach((c, i) => {
      const cx = x0 + i * step;
      const color = c.c >= c.o ? UP : DOWN;
      g.fillStyle = color;
      g.fillRect(Math.round(cx + step / 2) - 0.5, y(c.h), 1, Math.max(1, y(c.l) - y(c.h)));
      const top = y(Math.max(c.o, c.c));
      g.fillRect(cx + (step - body) / 2, top, body, Math.max(1, y(Math.min(c.o, c.c)) - top));
      if (vmax > 0) {
        const vh = Math.min(1, c.v / vmax) * (plotH - volTop);
        g.globalAlpha = 0.35;
        g.fillRect(cx + (step - body) / 2, plotH - vh, body, vh);
        g.globalAlpha = 1;
      }
    });
    // the last price: a dashed line and its label on the axis
    const last = visible[visible.length - 1];
    const ly = Math.round(y(last.c)) + 0.5;
    const lastColor = last.c >= last.o ? UP : DOWN;
    g.strokeStyle = lastColor;
    g.setLineDash([3, 3]);
    g.beginPath();
    g.moveTo(0, ly);
    g.lineTo(plotW, ly);
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = lastColor;
    g.fillRect(plotW, ly - 9, AXIS_W, 18);
    g.fillStyle = "#06121f";
    g.textAlign = "left";
    g.textBaseline = "middle";
    g.fillText(last.c.toFixed(this.decimals), plotW + 6, ly);

    // the legend: the candle under the pointer, or the last one
    let shown = last;
    if (this.hover !== null && this.hover < plotW) {
      const i = Math.floor((this.hover - x0) / step);
      if (i >= 0 && i < visible.length) {
        shown = visible[i];
        const cx = Math.round(x0 + i * step + step / 2) + 0.5;
        g.strokeStyle = "rgba(201, 209, 219, 0.35)";
        g.beginPath();
        g.moveTo(cx, 0);
        g.lineTo(cx, plotH);
        g.stroke();
      }
    }
    const d = this.decimals;
    const change = ((shown.c - shown.o) / shown.o) * 100;
    this.legend.innerHTML = "";
    const cls = shown.c >= shown.o ? "up" : "down";
    this.legend.append(
      `${utcTime(shown.t).slice(0, 5)}  O `, span(shown.o.toFixed(d), cls), "  H ", span(shown.h.toFixed(d), cls),
      "  L ", span(shown.l.toFixed(d), cls), "  C ", span(shown.c.toFixed(d), cls),
      "  ", span(`${change >= 0 ? "+" : ""}${change.toFixed(2)}%`, cls), `  V ${compact(shown.v)}`,
    );
  }
}

function span(text, cls) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}
