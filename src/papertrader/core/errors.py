"""The error hierarchy: each class tells the operator what to do next."""

from __future__ import annotations


class PapertraderError(Exception):
    """Base of every error papertrader raises on purpose."""


class ConfigError(PapertraderError):
    """The configuration is wrong: fix the setting named in the message."""


class DataError(PapertraderError):
    """The input data is wrong or missing: fix or re-import it; retrying will not help."""


class TemporaryError(PapertraderError):
    """A transient failure (network, throttling, lock): retrying later may succeed."""


class HaltError(PapertraderError):
    """Trading must stop (kill switch, corrupted state): investigate before resuming."""


class InvalidTransitionError(PapertraderError):
    """An order was asked to move to a state its lifecycle does not allow."""


class RateLimitedError(TemporaryError):
    """A vendor throttled us; wait `retry_after` seconds (if known) before the next request."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhaustedError(TemporaryError):
    """A daily or monthly quota is spent: this key or source is out until its reset time."""


class AuthError(ConfigError):
    """Credentials were refused: fix the key or token named (masked) in the message."""
