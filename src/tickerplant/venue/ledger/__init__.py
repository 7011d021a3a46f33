"""Each account's state per market: positions, open orders, leverage, isolated margin, collateral,
position modes."""
