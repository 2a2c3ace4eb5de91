"""`python -m omnisync_cli` is the `omnisync` command."""

from omnisync_cli.cli import app

app()
