"""papertrader: local-first AI paper trading with honest, out-of-sample, net-of-cost results."""

__version__ = "0.1.0"
