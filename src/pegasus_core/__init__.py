"""Pegasus core: the pure domain (stdlib + msgspec), its ports and use cases."""

from pegasus_core.errors import PegasusError
from pegasus_core.pagination import Page, PageRequest
from pegasus_core.pegasus import Pegasus

__all__ = ["Page", "PageRequest", "Pegasus", "PegasusError"]
