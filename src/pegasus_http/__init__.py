"""The HTTP API on Litestar (thin: parsing, auth, limits, mapping)."""
