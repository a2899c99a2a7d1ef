"""Use cases. The only layer that writes to storage and publishes, always after commit."""
