"""The three real vendor clients pointed at the fake server through their URL settings, on one SimClock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_vendors import SHARED, FakeVendors, Fault

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.config.questrade import QuestradeSettings
from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage import AlphaVantageClient, AlphaVantageSource
from papertrader.data.adapters.alphavantage.keys import KeyManager, Purpose, Tier, make_key
from papertrader.data.adapters.questrade import QuestradeSource
from papertrader.data.adapters.questrade.symbols import SymbolCache
from papertrader.data.adapters.yahoo import YahooSource
from papertrader.data.backfill import Backfiller, BackfillLedger
from papertrader.data.router import Router
from papertrader.data.store import Lake
from papertrader.persistence.db import make_engine

PREMIUM = "PREMIUMKEY000001"
FREE = "FREEFUNDAMENTALS2"
#: Generous: a loaded machine must never turn a slow local answer into a retry. Timeout faults are signalled by
#: the fake (FakeVendors.transport), not waited for.
CLIENT_TIMEOUT_S = 60.0

needs_shared = pytest.mark.skipif(not (SHARED / "equity-us" / "1d").is_dir(), reason=f"no shared data at {SHARED}")


class SimSleep:
    """A sleep that moves the SimClock instead of blocking."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.total = 0.0

    def __call__(self, seconds: float) -> None:
        self.total += max(0.0, seconds)
        self.clock.advance_to(self.clock.now() + timedelta(seconds=max(0.0, seconds)))


def point_clients_at(fake: FakeVendors, monkeypatch: pytest.MonkeyPatch, premium_per_minute: int) -> None:
    """Set the URL (and timeout/budget) settings the way a user would, through the environment."""
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_READ_TIMEOUT_S", str(CLIENT_TIMEOUT_S))
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_PREMIUM_PER_MINUTE", str(premium_per_minute))
    monkeypatch.setenv("PAPERTRADER_YAHOO_TIMEOUT_S", str(CLIENT_TIMEOUT_S))
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_TIMEOUT_S", str(CLIENT_TIMEOUT_S))


class Rig:
    """Lake, ledger, key database and token file in tmp_path; sources rebuilt by `restart` like a new process."""

    def __init__(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        *,
        now: datetime = datetime(2021, 4, 5, 16, tzinfo=UTC),
        faults: list[Fault] | None = None,
        premium_per_minute: int = 4,
    ) -> None:
        self.tmp = tmp_path
        self.clock = SimClock(now)
        self.sleep = SimSleep(self.clock)
        self.premium_per_minute = premium_per_minute
        self.fake = FakeVendors(
            self.clock,
            av_keys={PREMIUM: ("premium", premium_per_minute), FREE: ("free", 25)},
            faults=list(faults or []),
        )
        self.fake.__enter__()
        point_clients_at(self.fake, monkeypatch, premium_per_minute)
        self.lake = Lake(tmp_path / "lake", clock=self.clock)
        self.ledger = BackfillLedger(tmp_path / "backfill.sqlite")
        self.restart()

    def close(self) -> None:
        """Stop the server."""
        self.fake.__exit__(None, None, None)

    def restart(self, names: tuple[str, ...] = ("alphavantage", "yahoo", "questrade")) -> None:
        """Fresh clients, key manager and router over the same persisted state (a new process)."""
        av_settings = AlphaVantageSettings(_env_file=None)
        keys = [
            make_key(PREMIUM, Tier.PREMIUM, Purpose.MARKET, av_settings),
            make_key(FREE, Tier.FREE, Purpose.FUNDAMENTALS, av_settings),
        ]
        self.keys = KeyManager(
            keys,
            make_engine(f"sqlite:///{self.tmp / 'papertrader.db'}"),
            clock=self.clock,
            settings=av_settings,
            jitter=lambda: 0.5,
            sleep=self.sleep,
        )
        client = AlphaVantageClient(
            self.keys, av_settings, clock=self.clock, sleep=self.sleep, transport=self.fake.transport()
        )
        qt_settings = QuestradeSettings(
            _env_file=None, refresh_token=self.fake.questrade_refresh, token_file=self.tmp / "qt-token.json"
        )
        built = {
            "alphavantage": AlphaVantageSource(client, clock=self.clock),
            "yahoo": YahooSource(
                settings=YahooSettings(_env_file=None),
                clock=self.clock,
                rng=random.Random(1),
                transport=self.fake.transport(),
            ),
            "questrade": QuestradeSource(
                settings=qt_settings,
                clock=self.clock,
                rng=random.Random(2),
                transport=self.fake.transport(),
                symbols=SymbolCache(self.tmp / "qt-symbols.json"),
            ),
        }
        self.sources = {n: built[n] for n in names}
        self.router = Router(list(self.sources.values()), clock=self.clock)
        self.backfiller = Backfiller(self.lake, self.router, self.ledger, clock=self.clock)
