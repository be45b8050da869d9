"""`python -m papertrader.cli`: the same command line as the `papertrader` script."""

from papertrader.cli import app

app()
