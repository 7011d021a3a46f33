"""Binance's wire rules, sans-I/O: frames, requests and the time in, replies and decisions out.

Stream names and routes (``streams``, ``urls``), the market-stream control protocol
(``subscriptions``, its requests read as Binance's serde-derived struct reads them:
``control_request``), the REST and WebSocket API request surfaces and their endpoints
(``rest``, ``ws_api``, ``endpoints``, ``market_data``, ``market_history``,
``derivatives_data``, ``open_interest``), the history answers' past spliced before the live
(``past``), one connection's limits (``limits``), request weight
per IP (``request_weight``), and Binance's error codes, texts and close reasons (``errors``,
``json_errors``).

Imports ``market`` only; never the config shape, an I/O library or the clock.
"""
