"""The `pegasus` command line."""
