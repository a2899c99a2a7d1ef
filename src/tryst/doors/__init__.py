"""I/O adapters: each door speaks one wire protocol and talks to sessions and services."""
