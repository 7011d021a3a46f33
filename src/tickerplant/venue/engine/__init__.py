"""The engine for one market: placement, cancellation, amendment, resting orders' fills, account
settings."""
