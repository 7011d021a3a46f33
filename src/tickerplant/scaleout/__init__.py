"""Scale-out: one plant process and gateway processes over NATS, and their supervisor.

Composition, like ``app.py``: these modules put the sources, plants and listeners the
single process uses into processes of their own, joined by ``bus.nats.NatsBus``; the
venue's engines go with the plant (``plant_venue``).
"""
