"""The user data stream: listen keys, the streams, and the events written to them."""
