"""In-memory and scripted adapters: real implementations of the ports for tests."""
