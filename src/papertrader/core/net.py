"""Network addresses: what certainly means this machine, and which vendor URLs may carry a credential."""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

#: Names that always mean this machine; loopback IP literals (127.0.0.0/8, ::1) count too.
LOOPBACK_NAMES: Final = frozenset({"localhost"})


def is_loopback(name: str) -> bool:
    """Whether a host name (no port, no brackets) certainly means this machine."""
    name = name.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credential_url(value: str, setting: str) -> str:
    """The URL when a key or token may be sent to it: https, or plain http only to a loopback fake."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError as exc:
        raise ValueError(f"{setting} is not a URL: {exc}") from exc
    if parts.scheme == "https" and host:
        return value
    if parts.scheme == "http" and host and is_loopback(host):
        return value
    raise ValueError(
        f"{setting} must start with https:// (plain http:// only to 127.0.0.1, localhost or [::1], a local fake): "
        "the request carries the API key or token, which plain HTTP sends readable by the network"
    )
