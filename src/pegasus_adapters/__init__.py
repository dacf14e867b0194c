"""Adapters: one per technology and port, plus settings and the composition root."""
