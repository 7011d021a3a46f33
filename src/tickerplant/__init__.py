"""tickerplant: Binance USDⓈ-M and COIN-M futures market data, byte for byte, over a
simulated, replayed or relayed market."""

__version__ = "0.1.0"

__all__ = ["__version__"]
