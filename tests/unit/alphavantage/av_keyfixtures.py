"""Small real components for key manager tests: a file SQLite database, a SimClock and a sleep that moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage.keys import ApiKey, KeyManager, Purpose, Tier, make_key
from papertrader.persistence.db import make_engine

PREMIUM_SECRET = "PREMIUMKEY000001"
FUND_SECRET = "FUNDAMENTALS0002"
MACRO_SECRET = "MACROKEY00000003"
SENT_SECRET = "SENTIMENTKEY0004"


def av_settings(**overrides: object) -> AlphaVantageSettings:
    """Settings with documented defaults, ignoring any .env on the machine running the tests."""
    return AlphaVantageSettings(_env_file=None, **overrides)  # type: ignore[call-arg]


class SimSleep:
    """A sleep that records each wait and moves the SimClock instead of blocking."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


def db_engine(tmp_path: Path) -> Engine:
    """A file SQLite database (WAL) in the test's directory."""
    return make_engine(f"sqlite:///{tmp_path / 'papertrader.db'}")


def standard_keys(settings: AlphaVantageSettings) -> list[ApiKey]:
    """One premium market key and three free keys with distinct purposes."""
    return [
        make_key(PREMIUM_SECRET, Tier.PREMIUM, Purpose.MARKET, settings),
        make_key(FUND_SECRET, Tier.FREE, Purpose.FUNDAMENTALS, settings),
        make_key(MACRO_SECRET, Tier.FREE, Purpose.MACRO, settings),
        make_key(SENT_SECRET, Tier.FREE, Purpose.SENTIMENT, settings),
    ]


def manager(
    engine: Engine,
    clock: SimClock,
    keys: list[ApiKey],
    settings: AlphaVantageSettings | None = None,
    *,
    jitter: float = 0.5,
    sleep: SimSleep | None = None,
) -> KeyManager:
    """A key manager over real SQLite with a simulated clock, fixed jitter and a simulated sleep."""
    return KeyManager(
        keys,
        engine,
        clock=clock,
        settings=settings or av_settings(),
        jitter=lambda: jitter,
        sleep=sleep or SimSleep(clock),
    )


def sim_clock(text: str = "2024-03-08 15:00") -> SimClock:
    """A SimClock at a UTC time (default a Friday afternoon in New York)."""
    return SimClock(datetime.fromisoformat(text).replace(tzinfo=UTC))
