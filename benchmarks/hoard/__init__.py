"""`python -m benchmarks hoard`: ``scenario`` runs it.

A thousand clients that never read, against the server's one bound on every connection's
unsent bytes (``--send-buffer-total``): the server's RSS during and after, and a healthy
subscriber's largest gap meanwhile.
"""
