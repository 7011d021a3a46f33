"""``tickerplant run``: a bot's command run beside the server, its clock the market's.

``governor`` (sans-I/O) weighs the bot's clock against the market's from what the bot signs;
``faketime`` finds the libfaketime library and writes the bot's environment; ``run`` is the
shell: the server on a ``clock.MarketClock``, the bot's process, the holds, the end. A
composition package: it may import anything (docs/ARCHITECTURE.md); docs/run.md says how it
is used and what was measured.
"""
