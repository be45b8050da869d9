"""Alpha Vantage's side of live polling: what the key budgets allow, and quotes from GLOBAL_QUOTE.

Budgets decide the cadence, so they are computed first and reported (``achievable_cadence``): a sweep needs
``ceil(symbols / batch_size)`` requests, and the keys sustain ``sum(premium budget / 60 s) + sum(free budget /
86,400 s)`` requests a second (a premium key is metered per rolling minute, a free key per US/Eastern day).
200 symbols on one 75/min premium key: 200 requests per sweep, one sweep every 160 s (~2.7 min); three free
keys add 75 requests a day, which moves that by a fraction of a second; free keys alone (3 × 25/day) manage
one sweep every ~2.7 days. GLOBAL_QUOTE (``data poll``) has ``batch_size`` 1; the live loop's between-bar
quotes use REALTIME_BULK_QUOTES (``AlphaVantageBulkQuotes``, premium, 100 symbols a request: 200 symbols are 2
requests, a sweep every 1.6 s on one 75/min key). Questrade's ``v1/markets/quotes?ids=`` (``QuestradeBulkQuotes``,
100 symbolIds a request) is the live loop's bulk failover.
``time_for_requests`` turns the same budgets into the time a backfill or a collection needs.

The generic poller (``data.polling.LivePoller``) sweeps at the cadence; the key manager paces each request
(it waits for slots).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final

import pandas as pd

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError
from papertrader.data.adapters.alphavantage.keys import EASTERN, KeyManager, Tier
from papertrader.data.polling import Cadence, empty_quotes, quote_row

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


# --- quotes ----------------------------------------------------------------------------------------


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
        return quote_row(str(row["symbol"]), float(row["price"]), stamp, float(row.get("volume", math.nan)), delayed)


class AlphaVantageBulkQuotes:
    """Quotes for up to 100 symbols a request from REALTIME_BULK_QUOTES (premium key) through the budgeted client."""

    name = "alphavantage-bulk"

    def __init__(self, client: Any, *, clock: Clock | None = None) -> None:
        from papertrader.data.adapters.alphavantage.bulk import BULK_LIMIT

        self.client = client
        self.batch_size = BULK_LIMIT
        self._clock: Clock = clock or WallClock()

    def fetch_quotes(self, symbols: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
        """One request: quotes stamped by the vendor (never after now), and the quarantined symbols with why."""
        answer = self.client.bulk_quotes(list(symbols))
        quotes = answer.quotes.copy()
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        quotes["ts"] = quotes["ts"].where(quotes["ts"] <= now, now)
        quotes["delayed"] = getattr(self.client.settings, "entitlement", None) == "delayed"
        return quotes, dict(answer.quarantined)
