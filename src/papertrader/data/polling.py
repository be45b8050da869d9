"""Live polling for paper trading: the freshest quote or bar per symbol, as often as the key budgets allow.

Budgets decide the cadence, so they are computed first and reported (``achievable_cadence``): a sweep needs
``ceil(symbols / batch_size)`` requests, and the keys sustain ``sum(premium budget / 60 s) + sum(free budget /
86,400 s)`` requests a second (a premium key is metered per rolling minute, a free key per US/Eastern day).
200 symbols on one 75/min premium key: 200 requests per sweep, one sweep every 160 s (~2.7 min); three free
keys add 75 requests a day, which moves that by a fraction of a second; free keys alone (3 × 25/day) manage
one sweep every ~2.7 days. None of the project's vendor clients has a batch quote call yet, so
``batch_size`` is 1 unless a source offers one (Alpha Vantage's REALTIME_BULK_QUOTES takes 100 symbols and
Questrade's ``v1/markets/quotes?ids=`` many; adding them to the clients divides the requests accordingly).

The poller itself is paced by the key manager (it waits for slots), then sleeps on the injected clock until
the next sweep is due. Every quote carries its provenance (``source``, ``fetched_at``); in bar mode the
fresh bars can be written to the lake with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final, Literal, Protocol

import pandas as pd

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, PapertraderError
from papertrader.data.keys import EASTERN, KeyManager, Tier
from papertrader.data.router import Router
from papertrader.data.schema import UTC_NS, normalize_interval
from papertrader.data.store import BAR_LENGTH, Lake

log = logging.getLogger(__name__)

#: Columns of a quotes frame (one row per symbol).
QUOTE_COLUMNS: Final = ("symbol", "price", "ts", "volume", "delayed", "source", "fetched_at")
_DAY_S: Final = 86_400.0
_MINUTE_S: Final = 60.0
_CLOSE: Final = time(16, 0)


# --- budgets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyBudget:
    """One key's budget as planners see it: masked name, tier, budget per window and what is left now."""

    key: str
    tier: str
    budget: int
    remaining: int
    min_spacing_s: float = 0.0

    @property
    def window_s(self) -> float:
        """The budget window: a rolling minute (premium) or a US/Eastern day (free)."""
        return _MINUTE_S if self.tier == Tier.PREMIUM.value else _DAY_S

    @property
    def per_second(self) -> float:
        """Sustained requests a second: the budget over its window, capped by the spacing between requests."""
        rate = self.budget / self.window_s
        return min(rate, 1.0 / self.min_spacing_s) if self.min_spacing_s > 0 else rate


def key_budgets(manager: KeyManager) -> list[KeyBudget]:
    """The configured keys' budgets and what is left of them now (masked), from the key manager."""
    spacing = {k.fingerprint[:12]: k.min_spacing_s for k in manager.keys}
    return [KeyBudget(s.key, s.tier, s.budget, s.remaining, spacing.get(s.fingerprint, 0.0)) for s in manager.status()]


def hypothetical_budgets(
    premium: int = 1, free: int = 0, settings: AlphaVantageSettings | None = None
) -> list[KeyBudget]:
    """Budgets of `premium` and `free` fresh keys at the settings' defaults, for plans without real keys."""
    s = settings or AlphaVantageSettings(_env_file=None)
    out = [KeyBudget(f"premium-{i + 1}", "premium", s.premium_per_minute, s.premium_per_minute) for i in range(premium)]
    out += [
        KeyBudget(f"free-{i + 1}", "free", s.free_per_day, s.free_per_day, s.free_min_spacing_s) for i in range(free)
    ]
    return out


def usable(budgets: Sequence[KeyBudget], premium_only: bool) -> list[KeyBudget]:
    """The keys a request may use: premium-only endpoints (intraday, daily adjusted) take premium keys only."""
    return [b for b in budgets if b.tier == Tier.PREMIUM.value or not premium_only]


def sustained_rate(budgets: Sequence[KeyBudget], *, premium_only: bool = False) -> float:
    """Requests a second the keys sustain together over a long run."""
    return sum(b.per_second for b in usable(budgets, premium_only))


def seconds_until_midnight(now: datetime) -> float:
    """Seconds until free budgets reset (midnight US/Eastern)."""
    local = now.astimezone(EASTERN)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=EASTERN)
    return (midnight - now).total_seconds()


def time_for_requests(
    requests: int, budgets: Sequence[KeyBudget], now: datetime, *, premium_only: bool = False
) -> float | None:
    """Seconds the keys need to send `requests` (None: no key can): what is left now, then the budget rate."""
    keys = usable(budgets, premium_only)
    if requests <= 0:
        return 0.0
    if not keys:
        return None
    premium = [b for b in keys if b.tier == Tier.PREMIUM.value]
    free = [b for b in keys if b.tier != Tier.PREMIUM.value]
    left_now = sum(b.remaining for b in keys)
    spacing = max((b.min_spacing_s for b in keys), default=0.0) / max(1, len(keys))
    if requests <= left_now:
        return requests * spacing
    if premium:
        rate = sum(b.per_second for b in premium)  # free keys add almost nothing per second
        return (requests - left_now) / rate
    per_day = sum(b.budget for b in free)
    days = math.ceil((requests - left_now) / per_day)
    return seconds_until_midnight(now) + (days - 1) * _DAY_S


@dataclass(frozen=True)
class Cadence:
    """How often every symbol can be refreshed within the budgets, and what limits it."""

    symbols: int
    requests_per_sweep: int
    requests_per_second: float
    sweep_seconds: float | None
    limited_by: str

    def describe(self) -> str:
        """One line for humans: requests per sweep and one sweep every so long."""
        every = "never (no budget)" if self.sweep_seconds is None else f"every {format_seconds(self.sweep_seconds)}"
        return (
            f"{self.symbols} symbols: {self.requests_per_sweep} request(s) per sweep, one sweep {every} "
            f"({self.limited_by})"
        )


def format_seconds(seconds: float) -> str:
    """A duration as 12 s, 2.7 min, 3.1 h or 2.7 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / _DAY_S:.1f} days"


def achievable_cadence(
    n_symbols: int,
    budgets: Sequence[KeyBudget],
    *,
    batch_size: int = 1,
    premium_only: bool = False,
    min_sweep_s: float = 0.0,
) -> Cadence:
    """The fastest sweep over `n_symbols` that the keys sustain (batch endpoints cut the requests)."""
    if batch_size < 1:
        raise ConfigError("batch_size must be at least 1")
    requests = math.ceil(n_symbols / batch_size)
    keys = usable(budgets, premium_only)
    rate = sustained_rate(keys)
    tiers = ", ".join(
        f"{sum(1 for b in keys if b.tier == t)} {t} ({'/'.join(sorted({str(b.budget) for b in keys if b.tier == t}))}"
        f"/{'min' if t == 'premium' else 'day'})"
        for t in ("premium", "free")
        if any(b.tier == t for b in keys)
    )
    if rate <= 0:
        return Cadence(n_symbols, requests, 0.0, None, "no key can serve it")
    return Cadence(n_symbols, requests, rate, max(requests / rate, min_sweep_s), f"keys: {tiers}")


def fixed_rate_cadence(n_symbols: int, per_second: float, what: str, *, batch_size: int = 1) -> Cadence:
    """The cadence of a source metered by a fixed request rate (Questrade's 20/s, a polite Yahoo pace)."""
    requests = math.ceil(n_symbols / max(1, batch_size))
    return Cadence(n_symbols, requests, per_second, requests / per_second if per_second > 0 else None, what)


# --- quote sources ---------------------------------------------------------------------------------


class QuoteSource(Protocol):
    """The latest price of one symbol, as a one-row frame with QUOTE_COLUMNS' first five columns."""

    name: str

    def fetch_quote(self, symbol: str) -> pd.DataFrame:
        """One row: symbol, price, ts (UTC time of the price), volume, delayed; empty for an unknown symbol."""
        ...


def empty_quotes() -> pd.DataFrame:
    """A quotes frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "price": pd.Series([], dtype="float64"),
            "ts": pd.Series([], dtype=UTC_NS),
            "volume": pd.Series([], dtype="float64"),
            "delayed": pd.Series([], dtype=bool),
            "source": pd.Series([], dtype=object),
            "fetched_at": pd.Series([], dtype=UTC_NS),
        }
    )


class AlphaVantageQuotes:
    """Quotes from Alpha Vantage GLOBAL_QUOTE through the budgeted client (delayed on the 75/min tier)."""

    name = "alphavantage"

    def __init__(self, client: Any, *, clock: Clock | None = None) -> None:
        self.client = client
        self._clock: Clock = clock or WallClock()

    def fetch_quote(self, symbol: str) -> pd.DataFrame:
        """The vendor quote, stamped no later than its session's close and, if delayed, the delay before now."""
        frame: pd.DataFrame = self.client.global_quote(symbol)
        if frame.empty:
            return empty_quotes().iloc[:, :5]
        row = frame.iloc[0]
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        delayed = bool(row.get("delayed", False))
        delay = pd.Timedelta(minutes=self.client.settings.realtime_delay_minutes if delayed else 0)
        day = row.get("latest_trading_day")
        stamp = now - delay
        if day is not None and not pd.isna(day):
            close = pd.Timestamp(datetime.combine(pd.Timestamp(day).tz_convert(EASTERN).date(), _CLOSE, tzinfo=EASTERN))
            stamp = min(stamp, close.tz_convert("UTC"))
        return _quote_row(str(row["symbol"]), float(row["price"]), stamp, float(row.get("volume", math.nan)), delayed)


class LatestBarQuotes:
    """A quote from a bar source's freshest bar (close price, stamped at the bar's end): Yahoo, Questrade."""

    def __init__(
        self, source: Any, *, interval: str = "1m", lookback: timedelta = timedelta(days=5), clock: Clock | None = None
    ) -> None:
        self.source = source
        self.name = str(source.name)
        self.interval = normalize_interval(interval)
        self.lookback = lookback
        self._clock: Clock = clock or WallClock()

    def fetch_quote(self, symbol: str) -> pd.DataFrame:
        """The last bar's close as the price; empty when the source has no recent bar."""
        now = self._clock.now()
        bars: pd.DataFrame = self.source.fetch_bars(symbol, self.interval, now - self.lookback, now)
        bars = bars.dropna(subset=["close"])
        if bars.empty:
            return empty_quotes().iloc[:, :5]
        last = bars.sort_values("ts").iloc[-1]
        end = pd.Timestamp(last["ts"]) + BAR_LENGTH[self.interval]
        return _quote_row(symbol, float(last["close"]), end, float(last["volume"]), False)


def _quote_row(symbol: str, price: float, ts: pd.Timestamp, volume: float, delayed: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series([symbol], dtype=object),
            "price": [price],
            "ts": pd.Series([ts], dtype=UTC_NS),
            "volume": [volume],
            "delayed": [delayed],
        }
    )


# --- the poller ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """One pass over the symbols: the freshest quote per symbol with provenance, and what failed."""

    started_at: datetime
    finished_at: datetime
    quotes: pd.DataFrame
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """How long the sweep took on the clock."""
        return (self.finished_at - self.started_at).total_seconds()


class LivePoller:
    """Refreshes every symbol once per sweep through the router, sweeps spaced by the achievable cadence."""

    def __init__(
        self,
        router: Router,
        symbols: Sequence[str],
        cadence: Cadence,
        *,
        clock: Clock | None = None,
        mode: Literal["quote", "bar"] = "quote",
        interval: str = "1m",
        lookback: timedelta = timedelta(days=5),
        lake: Lake | None = None,
    ) -> None:
        if cadence.sweep_seconds is None:
            raise ConfigError(f"no budget to poll {len(symbols)} symbols: {cadence.limited_by}")
        self.router = router
        self.symbols = tuple(symbols)
        self.cadence = cadence
        self.mode = mode
        self.interval = normalize_interval(interval)
        self.lookback = lookback
        self.lake = lake
        self._clock: Clock = clock or WallClock()

    def sweep(self) -> Sweep:
        """Fetch every symbol once (failures are collected, never fatal) and return the freshest values."""
        started = self._clock.now()
        rows: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        for symbol in self.symbols:
            try:
                rows.append(self._one(symbol))
            except PapertraderError as exc:
                failures[symbol] = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("poll %s failed: %s", symbol, failures[symbol])
        frames = [r for r in rows if not r.empty]
        quotes = pd.concat(frames, ignore_index=True) if frames else empty_quotes()
        return Sweep(started, self._clock.now(), quotes.loc[:, list(QUOTE_COLUMNS)], failures)

    def _one(self, symbol: str) -> pd.DataFrame:
        if self.mode == "quote":
            routed = self.router.fetch_quote(symbol)
            frame = routed.value
        else:
            now = self._clock.now()
            routed = self.router.fetch_bars(symbol, self.interval, now - self.lookback, now)
            bars = routed.value
            if self.lake is not None and not bars.empty:
                self.lake.write_bars(bars, self.interval, routed.source, fetched_at=routed.fetched_at)
            bars = bars.dropna(subset=["close"])
            if bars.empty:
                return empty_quotes()
            last = bars.sort_values("ts").iloc[-1]
            end = pd.Timestamp(last["ts"]) + BAR_LENGTH[self.interval]
            frame = _quote_row(symbol, float(last["close"]), end, float(last["volume"]), False)
        if frame.empty:
            return empty_quotes()
        out = frame.iloc[:1].copy()
        out["source"] = routed.source
        out["fetched_at"] = pd.Series([pd.Timestamp(routed.fetched_at)], dtype=UTC_NS, index=out.index)
        return out

    def run(self, sweeps: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> Iterator[Sweep]:
        """Sweep repeatedly, each sweep starting one cadence after the last (sleeping on the clock between)."""
        period = float(self.cadence.sweep_seconds or 0.0)
        done = 0
        while (sweeps is None or done < sweeps) and not should_stop():
            result = self.sweep()
            done += 1
            yield result
            if sweeps is not None and done >= sweeps:
                break
            self._clock.sleep(max(0.0, period - result.seconds))
