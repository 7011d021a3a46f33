"""The venue's endpoints: REST, the WebSocket API, forwarded commands under --workers, and their
payloads."""
