"""A string that never shows itself: tokens travel as `Secret` so repr, str, logs and errors stay clean."""

from __future__ import annotations

import hashlib
import hmac


class Secret:
    """Holds a credential; only `reveal()` returns it, and only where it is sent on the wire."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a secret cannot be empty")
        self._value = value

    def reveal(self) -> str:
        """The clear value, for the one header or form field that must carry it."""
        return self._value

    def fingerprint(self) -> str:
        """A SHA-256 hex digest: lets us recognise a token (spent, bootstrap) without storing it twice."""
        return hashlib.sha256(self._value.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        """Masked, so a debugger, a log line or an exception never prints the token."""
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        """Constant-time comparison of two secrets."""
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        """Hash by fingerprint, so secrets can live in sets."""
        return hash(self.fingerprint())


def scrub(text: str, *secrets: Secret | None) -> str:
    """Replace every known secret in text with '***' before it reaches a log line or an exception."""
    for secret in secrets:
        if secret is not None:
            text = text.replace(secret.reveal(), "***")
    return text
