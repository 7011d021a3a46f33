"""Derivatives data: Binance's mark-price, premium and funding formulas (``mark_price``), the
mark-price streams and internal notes (``mark_streams``) and what a view keeps of them
(``mark_state``), open interest (``open_interest``) and the liquidation streams
(``force_orders``).

Imports ``market``'s root modules, ``market.payloads`` and ``market.klines``.
"""
