"""`data collect`: Alpha Vantage fundamentals, macro series and news into the lake, budgeted and re-run free.

Families and what each asks for (one request per item, on the keys budgeted for the family's purpose,
``data/adapters/alphavantage/keys.py``):

* ``fundamentals`` (purpose ``fundamentals``): per symbol OVERVIEW, INCOME_STATEMENT, BALANCE_SHEET and
  EARNINGS, stored by data/sidestore.py with ``fiscal_date_ending`` and ``available_at``: EARNINGS carries
  ``reportedDate`` (refined by ``reportTime``); statements carry no report date, so they count as published
  ``statement_lag_days`` after the period end (settings ``features.statement_lag_days``, 90 days by default:
  the longest SEC 10-K deadline; 10-Qs are due within 40-45 days); OVERVIEW is a snapshot available from the
  fetch time.
* ``macro`` (purpose ``macro``): CPI (monthly), FEDERAL_FUNDS_RATE (monthly), TREASURY_YIELD 3month, 2year and
  10year (daily), UNEMPLOYMENT, NONFARM_PAYROLL (monthly), WTI and BRENT (daily); each stored as a lake series
  (``Lake.write_series``) by REFERENCE date under the name features/macro.py reads (``CPI``,
  ``TREASURY_YIELD_10YEAR``...), whose per-series publication lags say when a value became public.
* ``news`` (purpose ``sentiment``): NEWS_SENTIMENT per symbol over [start, end), oldest first, 1,000 items a
  request, paged on the last ``time_published`` until a page comes back short.

Re-run free: ``CollectLedger`` (SQLite under PAPERTRADER_HOME) records every item answered (stored or empty);
a later run plans only what is not recorded (``--refresh`` plans everything again), and for news only the parts of the
window no earlier request covered. A killed run resumes where it stopped: each item is stored, then recorded.

Failures never stop the run. Every answer that is not data is QUARANTINED in the ledger (``rejected``) with
its reason and logged: a bad call or an unexpected format is not asked again without ``--refresh``; a
throttle that outlasts the client's retries, a malformed or HTML body, a timeout or an outage is asked again
by the next run. When every key of the family's purpose is spent, the remaining items wait for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError, PapertraderError, QuotaExhaustedError, TemporaryError
from papertrader.data.adapters.alphavantage.keys import EASTERN, Purpose
from papertrader.data.ledgerdb import SqliteLedger
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake

log = logging.getLogger(__name__)

FAMILIES: Final = ("fundamentals", "macro", "news")
PURPOSES: Final = {"fundamentals": Purpose.FUNDAMENTALS, "macro": Purpose.MACRO, "news": Purpose.SENTIMENT}
FUNDAMENTAL_FUNCTIONS: Final = ("OVERVIEW", "INCOME_STATEMENT", "BALANCE_SHEET", "EARNINGS")
SOURCE: Final = "alphavantage"
NEWS_LIMIT: Final = 1000
NEWS_MAX_PAGES: Final = 50
#: Default news window when no --start is given: the last 30 days before the end.
NEWS_DEFAULT_DAYS: Final = 30


@dataclass(frozen=True)
class MacroRequest:
    """One macro series: the vendor function, its parameters and the lake series name it is stored under."""

    name: str
    function: str
    interval: str | None = None
    maturity: str | None = None


MACRO_REQUESTS: Final = (
    MacroRequest("CPI", "CPI", "monthly"),
    MacroRequest("FEDERAL_FUNDS_RATE", "FEDERAL_FUNDS_RATE", "monthly"),
    MacroRequest("TREASURY_YIELD_3MONTH", "TREASURY_YIELD", "daily", "3month"),
    MacroRequest("TREASURY_YIELD_2YEAR", "TREASURY_YIELD", "daily", "2year"),
    MacroRequest("TREASURY_YIELD_10YEAR", "TREASURY_YIELD", "daily", "10year"),
    MacroRequest("UNEMPLOYMENT", "UNEMPLOYMENT"),
    MacroRequest("NONFARM_PAYROLL", "NONFARM_PAYROLL"),
    MacroRequest("WTI", "WTI", "daily"),
    MacroRequest("BRENT", "BRENT", "daily"),
)


@dataclass(frozen=True)
class Item:
    """One request to make: a family, a vendor function and what it is about (symbol or series name)."""

    family: str
    function: str
    subject: str
    start: pd.Timestamp | None = None  # news window
    end: pd.Timestamp | None = None


@dataclass(frozen=True)
class ItemResult:
    """What one item did: ``stored``, ``empty``, ``quarantined``, ``failed`` or ``waiting`` (budget spent)."""

    item: Item
    status: str
    rows: int = 0
    requests: int = 0
    detail: str = ""


@dataclass
class CollectReport:
    """A run's outcome per item."""

    family: str
    results: list[ItemResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def requests(self) -> int:
        """Requests sent in this run."""
        return sum(r.requests for r in self.results)

    @property
    def rows(self) -> int:
        """Rows written (new or changed) in this run."""
        return sum(r.rows for r in self.results)

    def count(self, status: str) -> int:
        """Items with this status."""
        return sum(1 for r in self.results if r.status == status)


# --- the ledger ------------------------------------------------------------------------------------

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS answered (
    family TEXT NOT NULL, function TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL,
    rows INTEGER NOT NULL, detail TEXT, answered_at TEXT NOT NULL, PRIMARY KEY (family, function, subject)
);
CREATE TABLE IF NOT EXISTS news_covered (
    symbol TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, answered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS news_covered_symbol ON news_covered (symbol);
CREATE TABLE IF NOT EXISTS rejected (
    family TEXT NOT NULL, function TEXT NOT NULL, subject TEXT NOT NULL, reason TEXT NOT NULL,
    retried INTEGER NOT NULL, rejected_at TEXT NOT NULL
);
"""


class CollectLedger(SqliteLedger):
    """What was already answered (or quarantined), and which news windows each symbol was asked for."""

    what = "collect ledger"

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def answered(self, family: str) -> dict[tuple[str, str], str]:
        """(function, subject) -> status of every item of a family answered before."""
        with self._connect() as conn:
            rows = conn.execute("SELECT function, subject, status FROM answered WHERE family = ?", (family,))
            return {(str(f), str(s)): str(st) for f, s, st in rows}

    def record(self, item: Item, status: str, rows: int, detail: str, now: datetime) -> None:
        """Remember an answered item (stored, empty or quarantined)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO answered VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.family, item.function, item.subject, status, rows, detail[:500], now.isoformat()),
            )

    def reject(self, item: Item, reason: str, retried: bool, now: datetime) -> None:
        """Quarantine an answer that was not data: its reason, and whether the next run asks again."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO rejected VALUES (?, ?, ?, ?, ?, ?)",
                (item.family, item.function, item.subject, reason[:500], int(retried), now.isoformat()),
            )

    def quarantined(self) -> list[tuple[str, str, str, str, bool]]:
        """(family, function, subject, reason, asked again next run) of every answer that was not data."""
        with self._connect() as conn:
            rows = conn.execute("SELECT family, function, subject, reason, retried FROM rejected ORDER BY rowid")
            return [(str(a), str(b), str(c), str(d), bool(e)) for a, b, c, d, e in rows]

    def news_covered(self, symbol: str) -> list[tuple[int, int]]:
        """[start, end) UTC-ns windows a symbol's news was already asked for."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT start_ns, end_ns FROM news_covered WHERE symbol = ? ORDER BY start_ns", (symbol,)
            )
            return [(int(a), int(b)) for a, b in rows]

    def cover_news(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, now: datetime) -> None:
        """Remember that a symbol's news in [start, end) was fetched completely."""
        if end <= start:
            return
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO news_covered VALUES (?, ?, ?, ?)", (symbol, start.value, end.value, now.isoformat())
            )


def uncovered(start: pd.Timestamp, end: pd.Timestamp, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [start, end) (UTC ns) that no covered window holds, oldest first."""
    out: list[tuple[int, int]] = []
    cursor, stop = int(start.value), int(end.value)
    for lo, hi in sorted(covered):
        if hi <= cursor:
            continue
        if lo >= stop:
            break
        if lo > cursor:
            out.append((cursor, lo))
        cursor = max(cursor, hi)
        if cursor >= stop:
            break
    if cursor < stop:
        out.append((cursor, stop))
    return out


def default_news_end(now: datetime) -> pd.Timestamp:
    """Midnight New York today: a re-run the same day asks for nothing new."""
    local = pd.Timestamp(now).tz_convert(EASTERN).normalize()
    return local.tz_convert("UTC")


# --- planning and running --------------------------------------------------------------------------


def plan_items(
    ledger: CollectLedger,
    family: str,
    symbols: Sequence[str],
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    refresh: bool = False,
) -> list[Item]:
    """The items a run must ask for: what the ledger has not recorded as answered (everything with `refresh`).

    A refresh leaves the records in place until each item is answered again, so a refresh that stops half
    way leaves the rest as it was (stored data stays; the next plain run asks for nothing).
    """
    if family not in FAMILIES:
        raise ConfigError(f"unknown data family {family!r}: use {', '.join(FAMILIES)}")
    if family in ("fundamentals", "news") and not symbols:
        raise ConfigError(f"collecting {family} needs symbols: --symbols AAPL,MSFT or --universe top200")
    done = {} if refresh else ledger.answered(family)
    if family == "macro":
        return [Item("macro", m.function, m.name) for m in MACRO_REQUESTS if (m.function, m.name) not in done]
    if family == "fundamentals":
        return [Item("fundamentals", f, s) for s in symbols for f in FUNDAMENTAL_FUNCTIONS if (f, s) not in done]
    assert start is not None and end is not None
    if end <= start:
        raise DataError(f"empty news window: end {end.isoformat()} is not after start {start.isoformat()}")
    items = []
    for symbol in symbols:
        for lo, hi in uncovered(start, end, [] if refresh else ledger.news_covered(symbol)):
            items.append(Item("news", "NEWS_SENTIMENT", symbol, pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC")))
    return items


class Collector:
    """Asks Alpha Vantage for the planned items, stores the answers in the lake and records them."""

    def __init__(
        self,
        lake: Lake,
        client: Any,
        ledger: CollectLedger,
        *,
        clock: Clock | None = None,
        statement_lag_days: float = 90.0,
    ) -> None:
        self.lake = lake
        self.side = SideStore(lake)
        self.client = client
        self.ledger = ledger
        self.statement_lag_days = statement_lag_days
        self._clock: Clock = clock or WallClock()

    def run(
        self,
        family: str,
        items: Sequence[Item],
        *,
        on_item: Callable[[ItemResult], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> CollectReport:
        """Ask for every item; failures are recorded per item and the run goes on."""
        report = CollectReport(family)
        spent: str | None = None
        for item in items:
            if should_stop():
                report.stopped = True
                break
            if spent is not None:
                result = ItemResult(item, "waiting", detail=spent)
            else:
                result = self._one(item)
                if result.status == "waiting":
                    spent = result.detail
            report.results.append(result)
            if on_item is not None:
                on_item(result)
        return report

    def _one(self, item: Item) -> ItemResult:
        """One item: fetch, store, record; every failure becomes a result with its reason."""
        try:
            if item.family == "news":
                rows, requests = self._news(item)
                return ItemResult(item, "stored" if rows else "empty", rows, requests)
            fetched_at = self._clock.now()
            written, stored = self._fetch_and_store(item, fetched_at)
        except ConfigError:
            raise  # no key for the purpose, a premium-only endpoint: the whole command must say so
        except QuotaExhaustedError as exc:
            detail = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("collect %s %s %s: budget spent: %s", item.family, item.function, item.subject, detail)
            return ItemResult(item, "waiting", requests=1, detail=detail)
        except (TemporaryError, PapertraderError) as exc:
            detail = f"{type(exc).__name__}: {exc}"[:500]
            if isinstance(exc, DataError):
                log.warning("collect %s %s %s quarantined: %s", item.family, item.function, item.subject, detail)
                self.ledger.record(item, "quarantined", 0, detail, self._clock.now())
                self.ledger.reject(item, detail, False, self._clock.now())
                return ItemResult(item, "quarantined", requests=1, detail=detail)
            self.ledger.reject(item, detail, True, self._clock.now())
            log.warning(
                "collect %s %s %s failed (asked again next run): %s", item.family, item.function, item.subject, detail
            )
            return ItemResult(item, "failed", requests=1, detail=detail)
        status = "stored" if stored else "empty"
        self.ledger.record(item, status, written, "", self._clock.now())
        return ItemResult(item, status, written, 1)

    def _fetch_and_store(self, item: Item, fetched_at: datetime) -> tuple[int, int]:
        """(rows written, rows the answer held) for a fundamentals or macro item."""
        if item.family == "macro":
            spec = next(m for m in MACRO_REQUESTS if m.name == item.subject)
            frame = self.client.macro(spec.function, interval=spec.interval, maturity=spec.maturity)
            values = frame.dropna(subset=["value"])
            if values.empty:
                return 0, 0
            wrote = self.lake.write_series(spec.name, values, SOURCE)
            return wrote.written, len(values)
        symbol, function = item.subject, item.function
        if function == "OVERVIEW":
            frame = self.client.overview(symbol)
        elif function == "EARNINGS":
            frame = self.client.earnings(symbol)
        elif function == "INCOME_STATEMENT":
            frame = self.client.income_statement(symbol, lag_days=self.statement_lag_days)
        elif function == "BALANCE_SHEET":
            frame = self.client.balance_sheet(symbol, lag_days=self.statement_lag_days)
        else:
            raise ConfigError(f"unknown fundamentals function {function!r}")
        if frame.empty:
            return 0, 0
        wrote = self.side.write_fundamentals(frame, SOURCE, fetched_at=fetched_at)
        return wrote.written, wrote.written + wrote.unchanged

    def _news(self, item: Item) -> tuple[int, int]:
        """Page through one symbol's window oldest first; covered windows are recorded as they complete."""
        assert item.start is not None and item.end is not None
        cursor, written, requests = item.start, 0, 0
        for _ in range(NEWS_MAX_PAGES):
            fetched_at = self._clock.now()
            requests += 1
            frame = self.client.news_sentiment(
                tickers=[item.subject],
                time_from=cursor.to_pydatetime(),
                time_to=item.end.to_pydatetime(),
                sort="EARLIEST",
                limit=NEWS_LIMIT,
            )
            frame = frame.loc[(frame["published_at"] >= cursor) & (frame["published_at"] < item.end)]
            if len(frame):
                written += self.side.write_news(frame, SOURCE, fetched_at=fetched_at).written
            full = len(frame) >= NEWS_LIMIT
            last = pd.Timestamp(frame["published_at"].max()) if len(frame) else item.end
            if not full or last <= cursor:
                self.ledger.cover_news(item.subject, item.start, item.end, self._clock.now())
                return written, requests
            # the page was full: everything before the newest minute is complete; ask again from there
            cursor = last.floor("min")
        self.ledger.cover_news(item.subject, item.start, cursor, self._clock.now())
        log.warning("news %s: stopped after %d pages at %s; re-run for the rest", item.subject, requests, cursor)
        return written, requests
