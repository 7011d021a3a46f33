"""The report of a trading run: an account's equity curve and drawdown, its fills on the
price chart, realized PnL, fees, funding and liquidations broken down, and the statistics
trading tools print, as HTML and the same figures as JSON (docs/report.md).

``rows`` (the journal's rows, typed, the core's input), ``equity`` (the curve),
``statistics`` (return, drawdown, Sharpe, round trips, turnover, slippage) and ``figures``
(all of it as one record of integers) are sans-I/O; ``journal_rows`` reads them from the
journal's SQLite, ``render`` draws the HTML (plotly, embedded) and ``write`` is the one
function a caller needs: ``write_report``. May import ``market/`` and ``venue/``.
"""
