"""Route each data request to the first healthy source for its kind, failing over on classified errors.

Per data kind (``bars_daily``, ``bars_intraday``, ``quote``, ``fundamentals``, ``macro``, ``news``) the router
holds an ordered list of source names (default Alpha Vantage → Yahoo → Questrade; configurable with
``parse_routes``); a registered source that no route names is tried last for every kind. Each source has one
circuit breaker (closed → open after ``failure_threshold`` failures in a row → half-open after ``cooldown`` →
one trial call → closed or open again), timed on the injected clock.

How an error from a source is treated:

=====================================================  ===================================  =============
error                                                  router                               breaker
=====================================================  ===================================  =============
``TemporaryError`` (5xx, timeout, ``RateLimitedError``,  next source                          failure
``QuotaExhaustedError``)                                                                    (a quota with
                                                                                            ``available_at``
                                                                                            opens it until
                                                                                            then)
``DataError`` (unknown symbol, bad range)               next source                          no failure
``ConfigError`` / ``AuthError`` (no key, bad token,     source skipped for this kind until   untouched
premium-only endpoint)                                  ``enable``; reported in ``health``
an empty answer                                         next source (``empty_failover``);    success
                                                        the first empty answer is returned
                                                        when no source has data
=====================================================  ===================================  =============

When every source fails, the most hopeful error is raised: ``SourcesExhaustedError`` (a TemporaryError: retry
later) if any failure was temporary, else ``DataError`` if any source refused the input, else ``ConfigError``.
Every answer carries its provenance: the source that served it and ``fetched_at`` (the clock's time when it
answered), which the backfill stores with every bar.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

import pandas as pd

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError, PapertraderError, TemporaryError
from papertrader.data.schema import normalize_interval

log = logging.getLogger(__name__)
T = TypeVar("T")


class DataKind(StrEnum):
    """What is asked for; each kind has its own source order."""

    BARS_DAILY = "bars_daily"
    BARS_INTRADAY = "bars_intraday"
    QUOTE = "quote"
    FUNDAMENTALS = "fundamentals"
    MACRO = "macro"
    NEWS = "news"


#: The source order every kind uses unless configured otherwise.
DEFAULT_ORDER: Final = ("alphavantage", "yahoo", "questrade")
#: The port method each kind is served by; a source without it is skipped as unsupported.
METHODS: Final[Mapping[DataKind, str]] = {
    DataKind.BARS_DAILY: "fetch_bars",
    DataKind.BARS_INTRADAY: "fetch_bars",
    DataKind.QUOTE: "fetch_quote",
    DataKind.FUNDAMENTALS: "fetch_fundamentals",
    DataKind.MACRO: "fetch_series",
    DataKind.NEWS: "fetch_news",
}


def bars_kind(interval: str) -> DataKind:
    """The kind of a bar request: daily and intraday bars route separately (different endpoints and keys)."""
    return DataKind.BARS_DAILY if normalize_interval(interval) == "1d" else DataKind.BARS_INTRADAY


def default_routes() -> dict[DataKind, tuple[str, ...]]:
    """Alpha Vantage → Yahoo → Questrade for every kind; sources lacking a kind are skipped."""
    return {kind: DEFAULT_ORDER for kind in DataKind}


def parse_routes(text: str) -> dict[DataKind, tuple[str, ...]]:
    """Routes from ``kind=src,src;kind=src`` (``bars_daily=yahoo,alphavantage``); other kinds keep the default."""
    routes = default_routes()
    for number, entry in enumerate((e.strip() for e in text.split(";")), start=1):
        if not entry:
            continue
        kind_text, sep, names = entry.partition("=")
        if not sep:
            raise ConfigError(f"route entry {number} {entry!r}: expected KIND=SOURCE[,SOURCE...]")
        try:
            kind = DataKind(kind_text.strip().lower())
        except ValueError:
            raise ConfigError(
                f"route entry {number}: unknown data kind {kind_text.strip()!r}; use one of "
                f"{', '.join(k.value for k in DataKind)}"
            ) from None
        order = tuple(n.strip().lower() for n in names.split(",") if n.strip())
        if not order:
            raise ConfigError(f"route entry {number}: {kind.value} names no source")
        routes[kind] = order
    return routes


class BreakerState(StrEnum):
    """A circuit breaker's state: closed (calls pass), open (calls skipped), half-open (one trial passes)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calling a failing source for a cool-down, then lets one trial call decide, so outages cost little."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        failure_threshold: int = 3,
        cooldown: timedelta = timedelta(seconds=60),
    ) -> None:
        if failure_threshold < 1:
            raise ConfigError("circuit breaker failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: datetime | None = None
        self._trial = False

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, {self.state.value}, failures={self.failures})"

    @property
    def failures(self) -> int:
        """Failures in a row since the last success."""
        return self._failures

    @property
    def open_until(self) -> datetime | None:
        """When an open breaker lets a trial call through (None when closed)."""
        return self._open_until

    @property
    def state(self) -> BreakerState:
        """The state now, on the injected clock."""
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._open_until is None:
            return BreakerState.CLOSED
        return BreakerState.OPEN if self._clock.now() < self._open_until else BreakerState.HALF_OPEN

    def allow(self) -> bool:
        """Whether a call may go to the source now (half-open: only one trial at a time)."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.OPEN or self._trial:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        """The source answered: close the breaker and forget past failures."""
        with self._lock:
            if self._open_until is not None:
                log.info("source %s recovered: circuit closed", self.name)
            self._failures = 0
            self._open_until = None
            self._trial = False

    def failure(self, until: datetime | None = None) -> None:
        """The source failed temporarily; open after the threshold, or at once until `until` (a quota reset)."""
        with self._lock:
            now = self._clock.now()
            self._failures += 1
            half_open = self._open_until is not None
            if until is not None and until > now:
                self._open(max(until, now + self.cooldown) if half_open else until)
            elif half_open or self._failures >= self.failure_threshold:
                self._open(now + self.cooldown)
            self._trial = False

    def release(self) -> None:
        """A trial call ended without a verdict on the source's health (e.g. it was not attempted)."""
        with self._lock:
            self._trial = False

    def _open(self, until: datetime) -> None:
        self._open_until = until
        log.warning("source %s failing (%d in a row): circuit open until %s", self.name, self._failures, until)


class Outcome(StrEnum):
    """What happened when the router tried one source."""

    OK = "ok"
    EMPTY = "empty"
    FAILED = "failed"
    REJECTED = "rejected"
    BREAKER_OPEN = "breaker_open"
    DISABLED = "disabled"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Attempt:
    """One source tried for one request, and why it did or did not serve it."""

    source: str
    outcome: Outcome
    error: str = ""


@dataclass(frozen=True)
class Routed(Generic[T]):
    """An answer with its provenance: which source served it, when, and what was tried before."""

    value: T
    source: str
    fetched_at: datetime
    attempts: tuple[Attempt, ...]

    @property
    def failed_over(self) -> bool:
        """Whether a source before the one that served was tried and did not."""
        return any(a.source != self.source for a in self.attempts)


class SourcesExhaustedError(TemporaryError):
    """Every source for a kind failed or is cooling down; retry later (the attempts say why)."""

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


@dataclass(frozen=True)
class SourceHealth:
    """One source's breaker and the kinds it is disabled for, for status pages."""

    source: str
    state: BreakerState
    failures: int
    open_until: datetime | None
    disabled: Mapping[str, str] = field(default_factory=dict)


def _is_empty(value: object) -> bool:
    return isinstance(value, pd.DataFrame) and value.empty


class Router:
    """Serves every data port from an ordered list of sources per kind, with breakers and provenance."""

    def __init__(
        self,
        sources: Sequence[Any] | Mapping[str, Any],
        *,
        routes: Mapping[DataKind, Sequence[str]] | None = None,
        clock: Clock | None = None,
        failure_threshold: int = 3,
        cooldown: timedelta = timedelta(seconds=60),
        empty_failover: bool = True,
    ) -> None:
        items = sources.items() if isinstance(sources, Mapping) else ((str(s.name), s) for s in sources)
        self._sources: dict[str, Any] = dict(items)
        if not self._sources:
            raise ConfigError("the data router needs at least one source")
        self._clock: Clock = clock or WallClock()
        configured = {k: tuple(v) for k, v in (routes or default_routes()).items()}
        named = {n for order in configured.values() for n in order}
        extras = tuple(n for n in self._sources if n not in named)  # unnamed sources go last, for every kind
        self._routes = {kind: configured.get(kind, DEFAULT_ORDER) + extras for kind in DataKind}
        self._breakers = {
            name: CircuitBreaker(name, self._clock, failure_threshold=failure_threshold, cooldown=cooldown)
            for name in self._sources
        }
        self._disabled: dict[tuple[str, DataKind], str] = {}
        self._lock = threading.Lock()
        self.empty_failover = empty_failover

    def __repr__(self) -> str:
        return f"Router({', '.join(self._sources)})"

    @property
    def sources(self) -> Mapping[str, Any]:
        """The registered sources by name."""
        return dict(self._sources)

    def route(self, kind: DataKind | str) -> tuple[str, ...]:
        """The registered sources for a kind, in the order they are tried."""
        return tuple(n for n in self._routes[DataKind(kind)] if n in self._sources)

    def breaker(self, source: str) -> CircuitBreaker:
        """The breaker of one source."""
        return self._breakers[source]

    def enable(self, source: str, kind: DataKind | None = None) -> None:
        """Take a source back after its configuration was fixed (all kinds unless one is named)."""
        with self._lock:
            for key in [k for k in self._disabled if k[0] == source and (kind is None or k[1] == kind)]:
                del self._disabled[key]

    def health(self) -> list[SourceHealth]:
        """Each source's breaker state and disabled kinds, in registration order."""
        with self._lock:
            disabled = dict(self._disabled)
        return [
            SourceHealth(
                name,
                b.state,
                b.failures,
                b.open_until,
                {k.value: why for (s, k), why in disabled.items() if s == name},
            )
            for name, b in self._breakers.items()
        ]

    # --- the ports ------------------------------------------------------------------------------------

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> Routed[pd.DataFrame]:
        """Bars from the first source that has them (BarSource)."""
        return self.call(bars_kind(interval), f"{symbol} {interval}", symbol, interval, start, end)

    def fetch_quote(self, symbol: str) -> Routed[pd.DataFrame]:
        """The latest quote of a symbol from the first quote source that answers."""
        return self.call(DataKind.QUOTE, symbol, symbol)

    def fetch_series(self, series: str) -> Routed[pd.DataFrame]:
        """A macro series (MacroSource)."""
        return self.call(DataKind.MACRO, series, series)

    def fetch_fundamentals(self, symbol: str) -> Routed[pd.DataFrame]:
        """Company fundamentals (FundamentalsSource)."""
        return self.call(DataKind.FUNDAMENTALS, symbol, symbol)

    def fetch_news(self, symbols: list[str], start: datetime, end: datetime) -> Routed[pd.DataFrame]:
        """Scored news (NewsSource)."""
        return self.call(DataKind.NEWS, ",".join(symbols), symbols, start, end)

    # --- the routing loop -----------------------------------------------------------------------------

    def call(self, kind: DataKind, what: str, *args: Any) -> Routed[Any]:
        """Call the kind's port method on each source in order until one serves; classify every failure."""
        kind = DataKind(kind)
        method = METHODS[kind]
        attempts: list[Attempt] = []
        first_empty: Routed[Any] | None = None
        for name in self._routes[kind]:
            source = self._sources.get(name)
            if source is None:
                continue
            fn: Callable[..., Any] | None = getattr(source, method, None)
            if fn is None:
                attempts.append(Attempt(name, Outcome.UNSUPPORTED))
                continue
            with self._lock:
                why = self._disabled.get((name, kind))
            if why is not None:
                attempts.append(Attempt(name, Outcome.DISABLED, why))
                continue
            breaker = self._breakers[name]
            if not breaker.allow():
                attempts.append(Attempt(name, Outcome.BREAKER_OPEN, f"circuit open until {breaker.open_until}"))
                continue
            try:
                value = fn(*args)
            except (ConfigError, DataError, TemporaryError) as exc:
                attempts.append(self._classify(name, kind, breaker, exc, what))
                continue
            except BaseException:
                breaker.release()
                raise
            breaker.success()
            answered = self._clock.now()
            if self.empty_failover and _is_empty(value):
                attempts.append(Attempt(name, Outcome.EMPTY))
                if first_empty is None:
                    first_empty = Routed(value, name, answered, ())
                continue
            attempts.append(Attempt(name, Outcome.OK))
            if len(attempts) > 1:
                log.info("%s %s served by %s after %s", kind.value, what, name, _summary(attempts[:-1]))
            return Routed(value, name, answered, tuple(attempts))
        if first_empty is not None:
            return Routed(first_empty.value, first_empty.source, first_empty.fetched_at, tuple(attempts))
        raise self._exhausted(kind, what, attempts)

    def _classify(
        self, name: str, kind: DataKind, breaker: CircuitBreaker, exc: PapertraderError, what: str
    ) -> Attempt:
        """Record one failure by its class: temporary trips the breaker, data moves on, config disables."""
        text = f"{type(exc).__name__}: {exc}"[:300]
        if isinstance(exc, ConfigError):  # AuthError included
            breaker.release()
            with self._lock:
                self._disabled[(name, kind)] = text
            log.warning("%s disabled for %s: %s", name, kind.value, text)
            return Attempt(name, Outcome.DISABLED, text)
        if isinstance(exc, DataError):
            breaker.success()  # the source answered; the input was wrong for it
            log.info("%s refused %s %s: %s", name, kind.value, what, text)
            return Attempt(name, Outcome.REJECTED, text)
        until = getattr(exc, "available_at", None)
        breaker.failure(until if isinstance(until, datetime) else None)
        log.warning("%s failed for %s %s: %s", name, kind.value, what, text)
        return Attempt(name, Outcome.FAILED, text)

    @staticmethod
    def _exhausted(kind: DataKind, what: str, attempts: Sequence[Attempt]) -> PapertraderError:
        """The error saying what to do when no source served: retry, fix the input, or fix the config."""
        outcomes = {a.outcome for a in attempts}
        detail = _summary(attempts) or "no source is registered for it"
        message = f"no source served {kind.value} {what}: {detail}"
        if outcomes & {Outcome.FAILED, Outcome.BREAKER_OPEN}:
            return SourcesExhaustedError(message + "; retry later", attempts)
        if Outcome.REJECTED in outcomes:
            return DataError(message + "; check the symbol and range")
        return ConfigError(message + "; configure a source for it (keys, tokens, routes)")


def _summary(attempts: Sequence[Attempt]) -> str:
    return "; ".join(f"{a.source} {a.outcome.value}" + (f" ({a.error[:120]})" if a.error else "") for a in attempts)
