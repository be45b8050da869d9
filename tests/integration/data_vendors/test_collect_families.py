"""`data collect` against the fake vendor: fundamentals, macro and news reach the lake on their own keys.

The fake answers OVERVIEW for IBM with the RECORDED body (shared/data/api-recordings); EARNINGS, statements,
news and macro have no recording there, so it answers them with hand-made bodies in the vendor's wire format
(side_bodies.py). Everything runs on a SimClock whose sleeps advance time, so free-key spacing costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from fake_vendors import FakeVendors, Fault
from vendor_rig import FREE, SimSleep, needs_shared, point_clients_at

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import SimClock
from papertrader.data import collect as collect_mod
from papertrader.data.adapters.alphavantage import AlphaVantageClient
from papertrader.data.adapters.alphavantage.keys import KeyManager, Purpose, Tier, make_key
from papertrader.data.collect import CollectLedger, Collector, plan_items
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake
from papertrader.persistence.db import make_engine

pytestmark = needs_shared
MACRO_KEY = "FREEMACROKEY0003"
NEWS_KEY = "FREESENTIMENT004"
NEWS_START = pd.Timestamp("2017-01-01", tz="UTC")
NEWS_END = pd.Timestamp("2021-04-01", tz="UTC")


class Side:
    """The fake vendor, a lake, a collect ledger and one free key per purpose, on one SimClock."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, faults: list[Fault] | None = None) -> None:
        self.tmp = tmp
        self.clock = SimClock(datetime(2021, 4, 5, 16, tzinfo=UTC))
        self.sleep = SimSleep(self.clock)
        budgets = {FREE: ("free", 25), MACRO_KEY: ("free", 25), NEWS_KEY: ("free", 25)}
        self.fake = FakeVendors(self.clock, av_keys=budgets, faults=list(faults or []))
        self.fake.__enter__()
        point_clients_at(self.fake, monkeypatch, 4)
        self.lake = Lake(tmp / "lake", clock=self.clock)
        self.side = SideStore(self.lake)
        self.restart()

    def restart(self) -> None:
        """A new process: fresh ledger connection, key manager and client over the same files."""
        settings = AlphaVantageSettings(_env_file=None)
        keys = [
            make_key(FREE, Tier.FREE, Purpose.FUNDAMENTALS, settings),
            make_key(MACRO_KEY, Tier.FREE, Purpose.MACRO, settings),
            make_key(NEWS_KEY, Tier.FREE, Purpose.SENTIMENT, settings),
        ]
        engine = make_engine(f"sqlite:///{self.tmp / 'papertrader.db'}")
        manager = KeyManager(keys, engine, clock=self.clock, settings=settings, jitter=lambda: 0.5, sleep=self.sleep)
        self.client = AlphaVantageClient(manager, settings, clock=self.clock, sleep=self.sleep)
        self.ledger = CollectLedger(self.tmp / "collect.sqlite")
        self.collector = Collector(self.lake, self.client, self.ledger, clock=self.clock, statement_lag_days=90)

    def collect(self, family: str, symbols: tuple[str, ...] = ()) -> collect_mod.CollectReport:
        """Plan and run one family."""
        items = plan_items(self.ledger, family, list(symbols), start=NEWS_START, end=NEWS_END)
        return self.collector.run(family, items)

    def keys_used(self) -> dict[str, int]:
        """Requests per key the fake saw."""
        out: dict[str, int] = {}
        for r in self.fake.requests("alphavantage"):
            out[str(r.key)] = out.get(str(r.key), 0) + 1
        return out

    def close(self) -> None:
        """Stop the server."""
        self.fake.__exit__(None, None, None)


@pytest.fixture
def side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Side]:
    monkeypatch.setattr(collect_mod, "NEWS_LIMIT", 100)  # several pages per symbol, to exercise paging
    rig = Side(tmp_path, monkeypatch)
    yield rig
    rig.close()


def test_each_family_is_stored_from_its_own_purpose_key_and_a_rerun_sends_no_request(side: Side) -> None:
    fundamentals = side.collect("fundamentals", ("IBM", "AAPL"))
    macro = side.collect("macro")
    news = side.collect("news", ("IBM", "AAPL"))
    assert fundamentals.count("stored") == 7 and fundamentals.count("empty") == 1  # AAPL has no OVERVIEW
    assert macro.count("stored") == 9 and news.count("stored") == 2
    used = side.keys_used()
    assert used[FREE] == 8 and used[MACRO_KEY] == 9 and used[NEWS_KEY] == news.requests > 2  # news paged
    assert {r.symbol for r in side.fake.requests("alphavantage") if r.key == FREE} == {"IBM", "AAPL"}
    assert side.fake.violations == []

    stored = side.side.read_fundamentals()
    reports = stored.groupby("symbol")["report"].agg(lambda r: sorted(set(r))).to_dict()
    assert reports["IBM"] == ["balance_sheet", "earnings", "income_statement", "overview"]
    assert reports["AAPL"] == ["balance_sheet", "earnings", "income_statement"]
    overview = stored.loc[stored["report"] == "overview"].iloc[0]
    assert overview["pe_ratio"] == pytest.approx(14.1327) and overview["eps"] == pytest.approx(8.811)  # recorded
    assert overview["fiscal_date_ending"] == pd.Timestamp("2020-06-30", tz="UTC")
    assert set(side.lake.series_names()) >= {"CPI", "TREASURY_YIELD_10YEAR", "NONFARM_PAYROLL", "WTI", "BRENT"}
    assert side.lake.read_series("CPI")["value"].notna().all()  # the vendor's "." is not stored
    stored_news = side.side.read_news()
    assert set(stored_news["symbol"]) == {"IBM", "AAPL"}  # the MSFT mentions are not this request's
    assert stored_news.groupby("symbol").size().min() > 700  # 2017-2021, one article every two days
    assert stored_news["published_at"].is_monotonic_increasing

    sent = len(side.fake.log)
    side.restart()
    for family, symbols in (("fundamentals", ("IBM", "AAPL")), ("macro", ()), ("news", ("IBM", "AAPL"))):
        assert plan_items(side.ledger, family, list(symbols), start=NEWS_START, end=NEWS_END) == []
        assert side.collect(family, symbols).requests == 0
    assert len(side.fake.log) == sent


def test_statements_wait_the_filing_lag_and_earnings_their_report_date_and_time(side: Side) -> None:
    side.collect("fundamentals", ("AAPL",))
    stored = side.side.read_fundamentals()
    statements = stored.loc[stored["report"].isin(["income_statement", "balance_sheet"])]
    lag = statements["available_at"] - statements["fiscal_date_ending"]
    assert len(statements) > 30 and (lag >= pd.Timedelta(days=90)).all() and (lag <= pd.Timedelta(days=91)).all()
    earnings = stored.loc[stored["report"] == "earnings"].set_index("fiscal_date_ending")
    first = earnings.loc[pd.Timestamp("2016-03-31", tz="UTC")]
    # reported 2016-04-25 post-market: public at 20:00 New York that day
    assert first["available_at"] == pd.Timestamp("2016-04-25 20:00", tz="America/New_York").tz_convert("UTC")
    assert first["reported_eps"] > 0


def test_a_bad_answer_is_quarantined_with_its_reason_and_the_run_goes_on(side: Side) -> None:
    report = side.collect("fundamentals", ("NOPE", "IBM"))
    assert report.count("quarantined") == 3 and report.count("stored") == 4  # NOPE's OVERVIEW is empty
    reasons = side.ledger.quarantined()
    assert {r[1] for r in reasons} == {"EARNINGS", "INCOME_STATEMENT", "BALANCE_SHEET"}
    assert all(r[2] == "NOPE" and "bad_call" in r[3] and not r[4] for r in reasons)
    assert plan_items(side.ledger, "fundamentals", ["NOPE", "IBM"]) == []  # not asked again without --refresh


def test_a_throttle_that_outlasts_the_retries_is_quarantined_and_asked_again_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Side(tmp_path, monkeypatch, faults=[Fault("alphavantage", "burst", symbol="AAPL", times=None)])
    try:
        report = rig.collect("fundamentals", ("AAPL", "IBM"))
        assert report.count("failed") == 4 and report.count("stored") == 4  # IBM went on after AAPL failed
        assert all(r[4] and "burst" in r[3] for r in rig.ledger.quarantined())
        rig.fake.faults.clear()
        rig.restart()
        again = plan_items(rig.ledger, "fundamentals", ["AAPL", "IBM"])
        assert {(i.subject, i.function) for i in again} == {
            ("AAPL", f) for f in ("OVERVIEW", "INCOME_STATEMENT", "BALANCE_SHEET", "EARNINGS")
        }
        assert rig.collector.run("fundamentals", again).count("failed") == 0
    finally:
        rig.close()
