"""Records to Binance's JSON, with no engine: orders, algo orders, balances."""
