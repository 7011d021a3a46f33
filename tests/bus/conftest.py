"""The NATS bus's tests start a real nats-server (tests/nats_servers.py)."""

from nats_servers import nats_url

__all__ = ["nats_url"]
