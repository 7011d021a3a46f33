"""Pre-trade checks: margin, price bounds, reduce-only, order-rate limits, the ADL board."""
