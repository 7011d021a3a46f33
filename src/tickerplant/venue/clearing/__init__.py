"""What the market's clock does to accounts: funding, liquidation, the auto-exchange, transfers."""
