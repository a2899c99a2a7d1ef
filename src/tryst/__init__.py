"""Tryst: a self-hostable server for adults who meet online. Consent first, private by default."""

__version__ = "0.1.0"
