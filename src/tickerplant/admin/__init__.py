"""The admin listener: tickerplant's own HTTP surface for operators (the dashboard, the
Prometheus metrics, a JSON status and the replay controls), on a port of its own and a
full HTTP library, apart from the market listeners that speak only Binance's protocols."""
