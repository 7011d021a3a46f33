"""Klines: candles built from trades and their REST shape (``candles``), the kline and
continuous-kline streams (``streams``, ``frames``), their warm start (``warm``), and the
mark-, index- and premium-index candles with COIN-M's price-kline streams
(``price_candles``, ``price_streams``).

Imports ``market``'s root modules and ``market.payloads``.
"""
