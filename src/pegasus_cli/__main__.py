"""`python -m pegasus_cli` runs the `pegasus` command."""

from pegasus_cli.main import cli

cli()
