"""A loopback fake vendor: recorded bars served in the vendors' wire formats on 127.0.0.1, with their faults.

For soaks, drills and integration tests of the real vendor clients (httpx, parsing, retries, key budgets,
the router's failover) without reaching a vendor: see server.py. Nothing here is used by a live run unless
a client's URL setting is pointed at it.
"""

from __future__ import annotations

from papertrader.data.loopback.server import LoopbackVendor, RemoteControl, client_env
from papertrader.data.loopback.wire import Fault

__all__ = ["Fault", "LoopbackVendor", "RemoteControl", "client_env"]
