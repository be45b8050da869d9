"""Incremental backfill: fetch only the sessions the lake lacks, through the router, and remember what was asked.

Gaps. The expected sessions come from the exchange calendar (domain/calendars.py: XNYS for US symbols,
XTSE for ``.TO``/``.V`` listings), so weekends and holidays are never "missing". A session is expected once it
is over (daily: 30 minutes after the close, as Alpha Vantage settles daily bars). A daily session is present
when the lake holds its bar (stamped at midnight New York); an intraday session when its stored bars reach
from near the open to near the close (within max(2 bars, 30 min), so a quiet first or last minute is not a
gap). Sessions already asked for in an earlier run (the ledger's ``checked`` ranges: the vendor had nothing,
e.g. before a listing) are not missing either. Consecutive missing sessions form one ``Gap``; a symbol's gaps
are fetched in ``Span``s (daily: one span per symbol, which costs one request at Alpha Vantage and Yahoo;
intraday: gaps a week apart or less are joined). Only rows inside the gaps are written, so bars already
stored keep their provenance.

Adjustment. The lake stores raw prices and ``adj_factor`` (see data/store.py), all factors of a partition on
one basis. Vendors return factors relative to the fetch, so each daily fetch starts a week before its span
when older bars are stored: the factor of a re-fetched stored bar, new over old, is the effect of the splits
and dividends since the last fetch, and every stored factor is rescaled by it (ratios within 1e-4 of 1 are
vendor rounding). Bars from a source without corporate actions (Questrade, Alpha Vantage daily on free keys)
take the factor of the next later stored bar (the same basis, assuming no event in between), or 1.0 after
the last one. After a daily symbol is done, the splits and dividends behind its factor's steps are stored
as corporate actions (data/actions.py), so the engine can fill at raw prices and move positions.

Checkpoints. ``BackfillLedger`` (SQLite under PAPERTRADER_HOME) records the ranges each (symbol, interval) was
asked for and each job's per-symbol progress. A killed backfill re-run with the same arguments resumes the
same job: finished symbols have no gaps left (their bars are in the lake, written atomically per fetch) and
cost no request; the rest continue.

Estimates. Before anything is sent, ``estimate`` turns the plan into requests per source (mirroring how each
adapter splits a range) and into time with the key budgets (``data.adapters.alphavantage.polling.time_for_requests``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError, PapertraderError
from papertrader.data.actions import infer_actions
from papertrader.data.adapters.alphavantage.keys import EASTERN
from papertrader.data.adapters.alphavantage.polling import KeyBudget, time_for_requests
from papertrader.data.ledgerdb import SqliteLedger
from papertrader.data.polling import format_seconds
from papertrader.data.router import Router
from papertrader.data.schema import DAILY_TZ, UTC_NS, normalize_interval
from papertrader.data.store import ADJ_FACTOR, BAR_LENGTH, Lake
from papertrader.domain.calendars import calendar, exchange_for

log = logging.getLogger(__name__)

#: How long after the close a daily bar counts as final.
DAILY_SETTLE: Final = pd.Timedelta(minutes=30)
#: How far back a daily fetch reaches before its span to re-read one stored bar for factor rebasing.
REBASE_LOOKBACK: Final = pd.Timedelta(days=7)
#: Factor ratios closer to 1 than this are vendor rounding, not a split or dividend.
REBASE_TOLERANCE: Final = 1e-4
#: Intraday gaps closer than this are fetched together.
INTRADAY_JOIN: Final = pd.Timedelta(days=7)
#: Requests a second assumed for sources without a published budget (Yahoo), for time estimates only.
YAHOO_PACE_PER_S: Final = 2.0
#: Questrade's market-data limit (requests a second).
QUESTRADE_PER_S: Final = 20.0
_AV_RECENT: Final = pd.Timedelta(days=25)
_YAHOO_1M_SPAN: Final = pd.Timedelta(days=7)
_QUESTRADE_PAGE: Final = 2000


# --- calendars and gaps ----------------------------------------------------------------------------


def _ts(value: datetime | pd.Timestamp, what: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise DataError(f"{what}={value!r} has no timezone; pass an aware datetime")
    return ts.tz_convert("UTC")


def session_table(symbol: str, interval: str, start: datetime, end: datetime, now: datetime) -> pd.DataFrame:
    """The finished sessions touching [start, end): day_start/day_end (midnight New York, UTC), open, close."""
    iv = normalize_interval(interval)
    return _sessions(exchange_for(symbol), iv, _ts(start, "start"), _ts(end, "end"), _ts(now, "now")).copy()


@functools.lru_cache(maxsize=16)
def _sessions(exchange: str, iv: str, lo: pd.Timestamp, hi: pd.Timestamp, at: pd.Timestamp) -> pd.DataFrame:
    """session_table per calendar (cached: every symbol of a backfill shares it)."""
    cal = calendar(exchange)
    first = max(lo.tz_convert(DAILY_TZ).tz_localize(None).normalize() - pd.Timedelta(days=1), cal.first_session)
    last = min(hi.tz_convert(DAILY_TZ).tz_localize(None).normalize() + pd.Timedelta(days=1), cal.last_session)
    sched = cal.schedule.loc[first:last] if first <= last else cal.schedule.iloc[:0]
    dates = pd.DatetimeIndex(sched.index).tz_localize(None)
    day_start = dates.tz_localize(DAILY_TZ).tz_convert("UTC")
    day_end = (dates + pd.Timedelta(days=1)).tz_localize(DAILY_TZ).tz_convert("UTC")
    opens = pd.DatetimeIndex(sched["open"]).tz_convert("UTC")
    closes = pd.DatetimeIndex(sched["close"]).tz_convert("UTC")
    done = closes + (DAILY_SETTLE if iv == "1d" else pd.Timedelta(0)) <= at
    keep = np.asarray((day_end > lo) & (day_start < hi) & done)
    return pd.DataFrame(
        {
            "day_start": pd.Series(day_start[keep], dtype=UTC_NS),
            "day_end": pd.Series(day_end[keep], dtype=UTC_NS),
            "open": pd.Series(opens[keep], dtype=UTC_NS),
            "close": pd.Series(closes[keep], dtype=UTC_NS),
        }
    )


def _ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)


def present_sessions(table: pd.DataFrame, stored_ts: pd.Series, interval: str) -> np.ndarray:
    """Per session, whether the stored bars cover it (daily: its bar; intraday: open to close, with slack)."""
    iv = normalize_interval(interval)
    stored = np.sort(_ns(pd.to_datetime(stored_ts, utc=True))) if len(stored_ts) else np.array([], dtype=np.int64)
    if table.empty:
        return np.zeros(0, dtype=bool)
    if iv == "1d":
        return np.isin(_ns(table["day_start"]), stored)
    if stored.size == 0:
        return np.zeros(len(table), dtype=bool)
    length = BAR_LENGTH[iv]
    slack = int(max(2 * length, pd.Timedelta(minutes=30)).value)
    lo = np.searchsorted(stored, _ns(table["day_start"]), side="left")
    hi = np.searchsorted(stored, _ns(table["day_end"]), side="left") - 1
    has = hi >= lo
    first = stored[np.clip(lo, 0, stored.size - 1)]
    last = stored[np.clip(hi, 0, stored.size - 1)]
    starts_early = first <= _ns(table["open"]) + slack
    ends_late = last >= _ns(table["close"]) - int(length.value) - slack
    return np.asarray(has & starts_early & ends_late)


@dataclass(frozen=True)
class Gap:
    """Consecutive missing sessions as [start, end): midnight New York of the first to that after the last."""

    start: pd.Timestamp
    end: pd.Timestamp
    sessions: int


@dataclass(frozen=True)
class Span:
    """One fetch: [start, end) covering one or more gaps (rows between gaps are not written)."""

    start: pd.Timestamp
    end: pd.Timestamp
    gaps: tuple[Gap, ...]

    @property
    def sessions(self) -> int:
        """Missing sessions this fetch fills."""
        return sum(g.sessions for g in self.gaps)


def find_gaps(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    now: datetime,
    stored_ts: pd.Series,
    checked: Sequence[tuple[pd.Timestamp, pd.Timestamp]] = (),
) -> list[Gap]:
    """The missing sessions in [start, end) as gaps: expected, not stored, not asked for before."""
    table = session_table(symbol, interval, start, end, now)
    if table.empty:
        return []
    missing = ~present_sessions(table, stored_ts, interval)
    starts, ends = _ns(table["day_start"]), _ns(table["day_end"])
    for lo, hi in checked:
        missing &= ~((starts >= int(lo.value)) & (ends <= int(hi.value)))
    gaps: list[Gap] = []
    run_start: int | None = None
    for i, flag in enumerate([*missing.tolist(), False]):
        if flag and run_start is None:
            run_start = i
        elif not flag and run_start is not None:
            gaps.append(Gap(table["day_start"].iloc[run_start], table["day_end"].iloc[i - 1], i - run_start))
            run_start = None
    return gaps


def fetch_spans(gaps: Sequence[Gap], interval: str) -> list[Span]:
    """Group gaps into fetches: one per symbol for daily bars, gaps within a week of each other for intraday."""
    if not gaps:
        return []
    if normalize_interval(interval) == "1d":
        return [Span(gaps[0].start, gaps[-1].end, tuple(gaps))]
    spans: list[list[Gap]] = [[gaps[0]]]
    for gap in gaps[1:]:
        if gap.start - spans[-1][-1].end <= INTRADAY_JOIN:
            spans[-1].append(gap)
        else:
            spans.append([gap])
    return [Span(g[0].start, g[-1].end, tuple(g)) for g in spans]


def in_gaps(ts: pd.Series, gaps: Sequence[Gap]) -> np.ndarray:
    """Which timestamps fall inside any of the gaps."""
    values = _ns(pd.to_datetime(ts, utc=True)) if len(ts) else np.array([], dtype=np.int64)
    mask = np.zeros(values.size, dtype=bool)
    for gap in gaps:
        mask |= (values >= int(gap.start.value)) & (values < int(gap.end.value))
    return mask


# --- adjustment factors ----------------------------------------------------------------------------


def rebase_ratio(stored: pd.DataFrame, fetched: pd.DataFrame) -> float | None:
    """New over stored factor on bars both hold (median), or None when they share no factored bar."""
    if ADJ_FACTOR not in stored.columns or ADJ_FACTOR not in fetched.columns or stored.empty or fetched.empty:
        return None
    old = stored.dropna(subset=[ADJ_FACTOR]).set_index("ts")[ADJ_FACTOR]
    new = fetched.dropna(subset=[ADJ_FACTOR]).drop_duplicates("ts").set_index("ts")[ADJ_FACTOR]
    common = old.index.intersection(new.index)
    if common.empty:
        return None
    ratio = float(np.median(new.loc[common].to_numpy() / old.loc[common].to_numpy()))
    return ratio if math.isfinite(ratio) and ratio > 0 else None


def inherit_factors(fetched: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Give factor-less bars the factor of the next later stored bar (1.0 after the last), if the lake has any."""
    if ADJ_FACTOR in fetched.columns or ADJ_FACTOR not in stored.columns or fetched.empty:
        return fetched
    known = stored.dropna(subset=[ADJ_FACTOR]).sort_values("ts")
    if known.empty:
        return fetched
    times, factors = _ns(known["ts"]), known[ADJ_FACTOR].to_numpy(dtype="float64")
    idx = np.searchsorted(times, _ns(fetched["ts"]), side="right")
    out = fetched.copy()
    out[ADJ_FACTOR] = np.where(idx < times.size, factors[np.clip(idx, 0, times.size - 1)], 1.0)
    return out


# --- the ledger ------------------------------------------------------------------------------------

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS checked (
    symbol TEXT NOT NULL, interval TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    source TEXT NOT NULL, fetched_at TEXT NOT NULL, rows INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS checked_key ON checked (symbol, interval);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, runs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    job_id TEXT NOT NULL, symbol TEXT NOT NULL, status TEXT NOT NULL, source TEXT, rows INTEGER NOT NULL,
    detail TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (job_id, symbol)
);
"""


@dataclass(frozen=True)
class JobState:
    """A backfill job as the ledger knows it when a run starts."""

    job_id: str
    resumed: bool
    runs: int
    done: frozenset[str]


def job_id_for(spec: Mapping[str, Any]) -> str:
    """A stable id for a job's arguments, so re-running the same command resumes the same job."""
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class BackfillLedger(SqliteLedger):
    """Checkpoints in SQLite: ranges already asked for per (symbol, interval), and each job's progress."""

    what = "backfill ledger"

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def checked(self, symbol: str, interval: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """Ranges this (symbol, interval) was already fetched for, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT start_ns, end_ns FROM checked WHERE symbol = ? AND interval = ? ORDER BY start_ns",
                (symbol, normalize_interval(interval)),
            ).fetchall()
        return [(pd.Timestamp(int(a), tz="UTC"), pd.Timestamp(int(b), tz="UTC")) for a, b in rows]

    def mark_checked(
        self, symbol: str, interval: str, gaps: Sequence[Gap], source: str, fetched_at: datetime, rows: int
    ) -> None:
        """Remember that these gaps were fetched (whatever the vendor had), so no run asks for them again."""
        iv = normalize_interval(interval)
        stamp = _ts(fetched_at, "fetched_at").isoformat()
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO checked VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(symbol, iv, int(g.start.value), int(g.end.value), source, stamp, rows) for g in gaps],
            )

    def start_job(self, spec: Mapping[str, Any], symbols: Sequence[str], now: datetime) -> JobState:
        """Open a job (or resume the unfinished one with the same arguments) and list its finished symbols."""
        job_id = job_id_for(spec)
        stamp = _ts(now, "now").isoformat()
        with self._connect() as conn:
            row = conn.execute("SELECT status, runs FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            resumed = row is not None and row[0] != "done"
            runs = (int(row[1]) if row else 0) + 1
            if row is None:
                conn.execute(
                    "INSERT INTO jobs VALUES (?, ?, 'running', ?, ?, ?)",
                    (job_id, json.dumps(spec, sort_keys=True, default=str), stamp, stamp, runs),
                )
            else:
                conn.execute(
                    "UPDATE jobs SET status = 'running', updated_at = ?, runs = ? WHERE job_id = ?",
                    (stamp, runs, job_id),
                )
            if not resumed:
                conn.execute("DELETE FROM tasks WHERE job_id = ?", (job_id,))
            conn.executemany(
                "INSERT OR IGNORE INTO tasks VALUES (?, ?, 'pending', NULL, 0, NULL, ?)",
                [(job_id, s, stamp) for s in symbols],
            )
            done = {
                str(r[0])
                for r in conn.execute(
                    "SELECT symbol FROM tasks WHERE job_id = ? AND status IN ('done', 'up_to_date')", (job_id,)
                )
            }
        return JobState(job_id, resumed, runs, frozenset(done))

    def finish_task(
        self, job_id: str, symbol: str, status: str, source: str | None, rows: int, detail: str, now: datetime
    ) -> None:
        """Record one symbol's outcome in a job."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE tasks SET status = ?, source = ?, rows = ?, detail = ?, updated_at = ? "
                "WHERE job_id = ? AND symbol = ?",
                (status, source, rows, detail[:500], _ts(now, "now").isoformat(), job_id, symbol),
            )

    def finish_job(self, job_id: str, status: str, now: datetime) -> None:
        """Mark a job done, stopped or failed."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, updated_at = ? WHERE job_id = ?",
                (status, _ts(now, "now").isoformat(), job_id),
            )

    def tasks(self, job_id: str) -> dict[str, str]:
        """symbol -> status of one job."""
        with self._connect() as conn:
            return {
                str(s): str(t) for s, t in conn.execute("SELECT symbol, status FROM tasks WHERE job_id = ?", (job_id,))
            }


# --- planning and estimates ------------------------------------------------------------------------


def _months(start: pd.Timestamp, end: pd.Timestamp) -> int:
    first = start.tz_convert(EASTERN).tz_localize(None).to_period("M")
    last = (end - pd.Timedelta(microseconds=1)).tz_convert(EASTERN).tz_localize(None).to_period("M")
    return max(1, len(pd.period_range(first, last, freq="M")))


def span_requests(source: str, interval: str, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp) -> int:
    """Requests one fetch costs at a source, mirroring how its adapter splits a range (Questrade: + 1 lookup)."""
    iv = normalize_interval(interval)
    end = min(end, now)
    if end <= start:
        return 0
    if source == "alphavantage":
        if iv == "1d" or start >= now - _AV_RECENT:
            return 1
        return _months(start, end)
    if source == "yahoo":
        if iv == "1d":
            return 1
        windows = math.ceil((end - start) / _YAHOO_1M_SPAN) if iv == "1m" else 1
        return windows + 1  # plus the daily request that brings split/dividend events up to now
    if source == "questrade":
        return math.ceil((end - start) / (BAR_LENGTH[iv] * _QUESTRADE_PAGE)) + 1
    return 1


@dataclass(frozen=True)
class SymbolPlan:
    """One symbol's missing sessions and the fetches that fill them."""

    symbol: str
    gaps: tuple[Gap, ...]
    spans: tuple[Span, ...]

    @property
    def sessions(self) -> int:
        """Missing sessions."""
        return sum(g.sessions for g in self.gaps)


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill will fetch: per symbol the gaps and spans, with the route it will try."""

    interval: str
    start: pd.Timestamp
    end: pd.Timestamp
    now: pd.Timestamp
    route: tuple[str, ...]
    symbols: tuple[SymbolPlan, ...]

    @property
    def todo(self) -> tuple[SymbolPlan, ...]:
        """Symbols with something to fetch."""
        return tuple(s for s in self.symbols if s.spans)

    @property
    def sessions(self) -> int:
        """Missing sessions in all."""
        return sum(s.sessions for s in self.symbols)

    def requests(self, source: str) -> int:
        """Requests if `source` served every fetch."""
        return sum(
            span_requests(source, self.interval, sp.start, sp.end, self.now) for s in self.todo for sp in s.spans
        )


def plan_backfill(
    lake: Lake,
    ledger: BackfillLedger | None,
    symbols: Sequence[str],
    interval: str,
    start: datetime,
    end: datetime,
    now: datetime,
    route: Sequence[str],
) -> BackfillPlan:
    """Compute every symbol's gaps from what the lake holds and the ledger already asked for."""
    iv = normalize_interval(interval)
    lo, hi, at = _ts(start, "start"), _ts(end, "end"), _ts(now, "now")
    if hi <= lo:
        raise DataError(f"empty range: end {hi.isoformat()} is not after start {lo.isoformat()}")
    wanted = list(dict.fromkeys(symbols))
    stored = lake.read_bars(wanted, iv, adjusted=False).loc[:, ["symbol", "ts"]]  # one query for all partitions
    by_symbol = dict(tuple(stored.groupby("symbol", sort=False)["ts"]))
    empty = stored["ts"].iloc[:0]
    plans = []
    for symbol in wanted:
        checked = ledger.checked(symbol, iv) if ledger is not None else []
        gaps = find_gaps(symbol, iv, lo, hi, at, by_symbol.get(symbol, empty), checked)
        plans.append(SymbolPlan(symbol, tuple(gaps), tuple(fetch_spans(gaps, iv))))
    return BackfillPlan(iv, lo, hi, at, tuple(route), tuple(plans))


@dataclass(frozen=True)
class BudgetLine:
    """Requests and time if one source served the whole plan."""

    source: str
    requests: int
    seconds: float | None
    detail: str

    def describe(self) -> str:
        """One line for humans."""
        took = "cannot be served (no key)" if self.seconds is None else f"~{format_seconds(self.seconds)}"
        return f"{self.source}: {self.requests} request(s), {took} ({self.detail})"


def estimate(plan: BackfillPlan, budgets: Sequence[KeyBudget] | None) -> list[BudgetLine]:
    """Requests and time per source of the route, from the key budgets (Alpha Vantage) or published limits."""
    lines = []
    premium = bool(budgets) and any(b.tier == "premium" for b in budgets or ())
    for source in plan.route:
        n = plan.requests(source)
        if source == "alphavantage":
            keys = list(budgets or ())
            # intraday and daily-adjusted bars are premium endpoints; without premium, daily uses free keys
            premium_only = plan.interval != "1d" or premium
            seconds = time_for_requests(n, keys, plan.now.to_pydatetime(), premium_only=premium_only)
            used = [b for b in keys if b.tier == "premium" or not premium_only]
            left = sum(b.remaining for b in used)
            detail = (
                ", ".join(f"{b.key} {b.tier} {b.remaining}/{b.budget} left" for b in used) + f"; {left} left now"
                if used
                else "no usable Alpha Vantage key"
            )
            lines.append(BudgetLine(source, n, seconds, detail))
        elif source == "yahoo":
            lines.append(
                BudgetLine(source, n, n / YAHOO_PACE_PER_S, f"no published limit; paced ~{YAHOO_PACE_PER_S:g}/s")
            )
        elif source == "questrade":
            lines.append(BudgetLine(source, n, n / QUESTRADE_PER_S, f"market data limit {QUESTRADE_PER_S:g}/s"))
        else:
            lines.append(BudgetLine(source, n, None, "unknown source budget"))
    return lines


# --- running ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolResult:
    """What the backfill did for one symbol."""

    symbol: str
    status: str
    source: str | None = None
    written: int = 0
    quarantined: int = 0
    sessions: int = 0
    failed_over: bool = False
    detail: str = ""


@dataclass
class BackfillReport:
    """A run's outcome per symbol, and whether it resumed an earlier job or was stopped."""

    job_id: str
    resumed: bool
    results: list[SymbolResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def written(self) -> int:
        """Bars written in this run."""
        return sum(r.written for r in self.results)

    @property
    def failed(self) -> list[SymbolResult]:
        """Symbols no source could serve."""
        return [r for r in self.results if r.status == "failed"]

    def by_source(self) -> dict[str, int]:
        """Symbols served per source."""
        out: dict[str, int] = {}
        for r in self.results:
            if r.source and r.status == "done":
                out[r.source] = out.get(r.source, 0) + 1
        return out


class Backfiller:
    """Fills the lake's gaps through the router, writing provenance and checkpoints as it goes."""

    def __init__(self, lake: Lake, router: Router, ledger: BackfillLedger, *, clock: Clock | None = None) -> None:
        self.lake = lake
        self.router = router
        self.ledger = ledger
        self._clock: Clock = clock or WallClock()

    def plan(
        self, symbols: Sequence[str], interval: str, start: datetime, end: datetime, route: Sequence[str]
    ) -> BackfillPlan:
        """The gaps to fill now; `route` (the sources the router will try) only labels the estimates."""
        return plan_backfill(self.lake, self.ledger, symbols, interval, start, end, self._clock.now(), route)

    def run(
        self,
        plan: BackfillPlan,
        spec: Mapping[str, Any],
        *,
        on_symbol: Callable[[SymbolResult], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> BackfillReport:
        """Fetch every span of the plan; a failing symbol is reported and the run goes on to the next."""
        symbols = [s.symbol for s in plan.symbols]
        job = self.ledger.start_job(spec, symbols, self._clock.now())
        if job.resumed:
            log.info(
                "resuming backfill job %s (run %d): %d symbol(s) already done", job.job_id, job.runs, len(job.done)
            )
        report = BackfillReport(job.job_id, job.resumed)
        for sym_plan in plan.symbols:
            if should_stop():
                report.stopped = True
                break
            result = self._fill(plan, sym_plan) if sym_plan.spans else SymbolResult(sym_plan.symbol, "up_to_date")
            self.ledger.finish_task(
                job.job_id,
                result.symbol,
                result.status,
                result.source,
                result.written,
                result.detail,
                self._clock.now(),
            )
            report.results.append(result)
            if on_symbol is not None:
                on_symbol(result)
        status = "stopped" if report.stopped else "failed" if report.failed else "done"
        self.ledger.finish_job(job.job_id, status, self._clock.now())
        return report

    def _fill(self, plan: BackfillPlan, sym_plan: SymbolPlan) -> SymbolResult:
        """Fetch and store one symbol's spans, stopping at the first span no source could serve."""
        symbol, iv = sym_plan.symbol, plan.interval
        written = quarantined = sessions = 0
        sources: list[str] = []
        failed_over = False
        for span in sym_plan.spans:
            try:
                stored = self.lake.read_partition(symbol, iv)
                fetch_start, fetch_end = self._fetch_range(span, stored, iv, plan.now)
                routed = self.router.fetch_bars(symbol, iv, fetch_start.to_pydatetime(), fetch_end.to_pydatetime())
                frame = self._align_factors(symbol, iv, routed.value, stored)
                frame = frame.loc[in_gaps(frame["ts"], span.gaps)] if len(frame) else frame
                if len(frame):
                    wrote = self.lake.write_bars(frame, iv, routed.source, fetched_at=routed.fetched_at)
                    written += wrote.written + wrote.unchanged
                    quarantined += wrote.quarantined
                self.ledger.mark_checked(symbol, iv, span.gaps, routed.source, routed.fetched_at, len(frame))
                sessions += span.sessions
                sources.append(routed.source)
                failed_over |= routed.failed_over
            except PapertraderError as exc:
                detail = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("backfill %s %s: %s", symbol, iv, detail)
                status = "partial" if sources else "failed"
                return SymbolResult(
                    symbol, status, _joined(sources), written, quarantined, sessions, failed_over, detail
                )
        self._store_actions(symbol, iv, sources)
        return SymbolResult(symbol, "done", _joined(sources), written, quarantined, sessions, failed_over)

    def _store_actions(self, symbol: str, interval: str, sources: Sequence[str]) -> None:
        """Keep the splits and dividends behind a daily partition's factor (data/actions.py), so the engine
        can fill at the raw prints and move positions on the ex-dates."""
        if interval != "1d" or not sources:
            return
        stored = self.lake.read_partition(symbol, interval)
        if ADJ_FACTOR not in stored.columns or stored[ADJ_FACTOR].isna().all():
            return
        actions = infer_actions(stored.loc[stored[ADJ_FACTOR].notna()])
        if len(actions):
            self.lake.write_actions(actions, f"factor:{_joined(sources)}")

    @staticmethod
    def _fetch_range(
        span: Span, stored: pd.DataFrame, interval: str, now: pd.Timestamp
    ) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The span, widened for daily bars by a week towards stored factored bars (one request either way)."""
        start, end = span.start, min(span.end, now)
        if interval != "1d" or ADJ_FACTOR not in stored.columns or stored[ADJ_FACTOR].isna().all():
            return start, end
        if bool((stored["ts"] < span.start).any()):
            start = span.start - REBASE_LOOKBACK
        if bool((stored["ts"] >= span.end).any()):
            end = min(span.end + REBASE_LOOKBACK, now)
        return start, end

    def _align_factors(self, symbol: str, interval: str, frame: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
        """Put the fetched factors and the stored ones on one basis (see the module docstring)."""
        if frame.empty:
            return frame
        ratio = rebase_ratio(stored, frame)
        if ratio is not None and abs(ratio - 1.0) > REBASE_TOLERANCE:
            log.info(
                "%s %s: a split or dividend since the last fetch; rescaling stored factors by %.6g",
                symbol,
                interval,
                ratio,
            )
            self.lake.rescale_adj_factor(symbol, interval, ratio)
            return frame
        if ratio is None and ADJ_FACTOR not in frame.columns:
            return inherit_factors(frame, stored)
        return frame


def _joined(sources: Sequence[str]) -> str | None:
    return ",".join(dict.fromkeys(sources)) or None


def job_spec(
    source: str, symbols: Sequence[str], interval: str, start: datetime, end: datetime | None
) -> dict[str, Any]:
    """The arguments that identify a job (same arguments, same job: a re-run resumes it; no end means "now")."""
    if not symbols:
        raise ConfigError("a backfill needs at least one symbol (--symbols or --universe)")
    return {
        "source": source,
        "symbols": sorted(dict.fromkeys(symbols)),
        "interval": normalize_interval(interval),
        "start": _ts(start, "start").isoformat(),
        "end": "now" if end is None else _ts(end, "end").isoformat(),
    }
