"""Ports: the protocols the core needs from the outside world, one role per module."""
