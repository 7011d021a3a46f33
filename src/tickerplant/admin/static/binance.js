// The dashboard as a Binance client: it reads the market through tickerplant's own public
// surfaces (combined streams and REST on the market listeners), as any client would, so
// what it shows is what clients get. The listeners' URLs come from /api/status.

// REST prefixes per market (spec §7: fapi for USDⓈ-M, dapi for COIN-M)
export const PREFIX = { um: "/fapi/v1", cm: "/dapi/v1" };
export const MARKET_NAME = { um: "USDⓈ-M", cm: "COIN-M" };

// the market's name as a node: the Ⓢ drawn as a circled S, which every font has
export function marketLabel(market) {
  const span = document.createElement("span");
  span.className = "market-name";
  if (market === "um") {
    const s = document.createElement("span");
    s.className = "circled";
    s.textContent = "S";
    span.append("USD", s, "-M");
  } else {
    span.textContent = MARKET_NAME[market] ?? market;
  }
  span.title = MARKET_NAME[market] ?? market;
  return span;
}

// A listener bound to every address (--host 0.0.0.0) reports that address, which no browser
// can connect to: the page reaches it at the host it was itself loaded from.
export function reachable(url) {
  const parsed = new URL(url);
  if (["0.0.0.0", "[::]"].includes(parsed.hostname)) parsed.hostname = location.hostname;
  return parsed.origin;
}

// GET a REST endpoint of a market listener; the answers carry Access-Control-Allow-Origin: *
export async function rest(listener, market, path, params = {}) {
  const query = new URLSearchParams(params).toString();
  const url = `${reachable(listener.rest)}${PREFIX[market]}${path}${query ? "?" + query : ""}`;
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  }
  return response.json();
}

// One combined-stream connection (`/stream?streams=a/b/c`, spec §3): every frame is
// {"stream": name, "data": payload}, handed to onMessage(stream, data). It reconnects
// after a close, waiting longer each time up to 5 s, until close() is called. The
// browser answers the server's pings itself.
export class StreamSocket {
  constructor(baseUrl, streams, onMessage, onState = () => {}) {
    this.url = `${reachable(baseUrl)}/stream?streams=${streams.join("/")}`;
    this.onMessage = onMessage;
    this.onState = onState;
    this.closed = false;
    this.delayMs = 250;
    this.timer = null;
    this.open();
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.delayMs = 250;
      this.onState("live");
    };
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.stream !== undefined) this.onMessage(frame.stream, frame.data);
    };
    ws.onclose = (event) => {
      if (this.closed) return;
      this.onState("down", event.code ? `${event.code} ${event.reason}` : "");
      this.timer = setTimeout(() => this.open(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, 5000);
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws.close();
  }
}

// Price decimals per symbol, from exchangeInfo (pricePrecision, else the tick size)
export async function priceDecimals(listener, market) {
  const info = await rest(listener, market, "/exchangeInfo");
  const decimals = {};
  for (const s of info.symbols || []) {
    let digits = s.pricePrecision;
    const filter = (s.filters || []).find((f) => f.filterType === "PRICE_FILTER");
    if (filter && filter.tickSize) {
      const tick = filter.tickSize.replace(/0+$/, "");
      const dot = tick.indexOf(".");
      digits = dot < 0 ? 0 : tick.length - dot - 1;
    }
    decimals[s.symbol] = digits ?? 2;
  }
  return decimals;
}
