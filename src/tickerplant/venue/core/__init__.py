"""The venue's engine for one market, at the top of its core: ``Engine.apply``, the one door
of every command, over the steps of ``engine/``, ``clearing/`` and ``algo/``."""
