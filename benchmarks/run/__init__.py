"""`python -m benchmarks run`: ``scenario`` runs it (a bot under ``tickerplant run`` on a
recorded hour); ``bot.py`` is the bot."""
