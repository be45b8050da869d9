"""Wires data, features, signals, risk, broker, ledger and persistence into one cycle loop."""
