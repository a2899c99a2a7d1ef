"""Event buses: memory (one process) by default."""
