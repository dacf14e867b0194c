"""Use cases: async functions over the ports, one module per family."""
