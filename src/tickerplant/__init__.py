"""tickerplant: Binance USDⓈ-M and COIN-M futures, byte for byte, market data and a trading
venue, over a simulated, replayed or relayed market."""

__version__ = "0.2.0"  # the one home of the version: pyproject.toml reads it

__all__ = ["__version__"]
