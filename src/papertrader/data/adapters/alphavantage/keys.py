"""Alpha Vantage API keys: who serves what, how much each may send, and usage persisted in the database.

Keys come from the environment or an ignored ``.env`` (see ``config/alphavantage.py``):

* ``PAPERTRADER_AV_KEY_PREMIUM``   premium tier, purpose ``market``
* ``PAPERTRADER_AV_KEY_PRIMARY``   free tier, purpose ``fundamentals``
* ``PAPERTRADER_AV_KEY_SECONDARY`` free tier, purpose ``macro``
* ``PAPERTRADER_AV_KEY_SENTIMENT`` free tier, purpose ``sentiment``
* ``PAPERTRADER_AV_KEYS``: any number more, ``KEY[:TIER[:PURPOSE[:BUDGET]]]`` entries separated by commas,
  semicolons or whitespace. ``TIER`` is ``premium`` or ``free`` (default ``free``); ``PURPOSE`` is one of
  ``market, fundamentals, macro, sentiment, any`` (default ``market`` for premium, ``any`` for free);
  ``BUDGET`` is requests per rolling minute (premium) or per US/Eastern day (free), default from settings.
  Example: ``PAPERTRADER_AV_KEYS="ABCD1234:premium:market:150,EFGH5678:free:fundamentals,IJKL9012"``.
  A key listed twice is used once (the first entry wins).

Budgets: a premium key may send ``budget`` requests in any rolling 60 seconds; a free key ``budget`` requests
per US/Eastern calendar day (reset at midnight America/New_York) and no two within ``min_spacing_s``.

Routing: for a purpose, keys of that purpose come first, then ``any`` keys, then all other keys as backup;
within each group market data prefers premium keys and every other purpose prefers free keys. A key that
is only briefly unavailable (its spacing or a backoff ends within ``failover_wait_s``) is waited for; a
backup is used only when the better key is spent, retired or backing off for longer.

Safety: a request slot is reserved in one database transaction *before* the request is sent (SQLite takes
the write lock up front with ``BEGIN IMMEDIATE``, other databases lock the key's row ``FOR UPDATE``, and a
process-wide lock serialises threads), so no key is ever sent more than its budget, whatever the number of
threads, processes or restarts. A daily-cap or bad-key answer retires the key until the next reset
(persisted); a throttle answer backs the key off exponentially with jitter (persisted).

Secrecy: keys are identified everywhere by ``fingerprint`` (SHA-256 of a fixed prefix and the key, so usage
survives restarts without storing the key) and shown only as ``mask(key)`` (``AB…YZ``). ``ApiKey`` hides
its secret from ``repr``/``str``; only ``ApiKey.reveal()`` returns it, for the HTTP request itself.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from papertrader.config.alphavantage import AlphaVantageKeySettings, AlphaVantageSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, QuotaExhaustedError, TemporaryError
from papertrader.persistence.db import SQLITE_BEGIN_OPTION, init_db, make_engine
from papertrader.persistence.models import key_reservations, key_state

log = logging.getLogger(__name__)

#: The timezone whose midnight resets free keys' daily budgets.
EASTERN: Final = ZoneInfo("America/New_York")
PREMIUM_WINDOW: Final = timedelta(minutes=1)
_FINGERPRINT_PREFIX: Final = b"papertrader:alphavantage:"
_KEY_CHARS: Final = re.compile(r"^[A-Za-z0-9_\-]+$")
_MIN_POLL_S: Final = 0.05


class Purpose(StrEnum):
    """What a key (or a request) is for."""

    MARKET = "market"
    FUNDAMENTALS = "fundamentals"
    MACRO = "macro"
    SENTIMENT = "sentiment"
    ANY = "any"


class Tier(StrEnum):
    """How a key is metered: premium per rolling minute, free per day with spacing."""

    PREMIUM = "premium"
    FREE = "free"


class KeyOutcome(StrEnum):
    """What the vendor's answer says about the key that sent the request."""

    OK = "ok"
    DAILY_CAP = "daily_cap"
    THROTTLED = "throttled"
    BAD_KEY = "bad_key"


class KeyTierError(ConfigError):
    """The request needs a premium key and none is configured or the key used is not premium."""


class NoKeysError(ConfigError):
    """No Alpha Vantage key is configured at all."""


class KeyBudgetExhaustedError(QuotaExhaustedError):
    """Every key able to serve the request is at its budget, retired or backing off until `available_at`."""

    def __init__(self, message: str, available_at: datetime | None = None) -> None:
        super().__init__(message)
        self.available_at = available_at


def fingerprint(key: str) -> str:
    """Identify a key in the database and logs without storing it (hex SHA-256 of a prefix and the key)."""
    return hashlib.sha256(_FINGERPRINT_PREFIX + key.encode("utf-8")).hexdigest()


def mask(key: str) -> str:
    """Show a key to a human as first 2 and last 2 characters (``AB…YZ``); short keys show nothing."""
    if len(key) < 8:
        return "…"
    return f"{key[:2]}…{key[-2:]}"


class ApiKey:
    """One configured key with its tier, purpose and budget; the secret never shows in repr or str."""

    __slots__ = ("_secret", "budget", "fingerprint", "masked", "min_spacing_s", "purpose", "tier")

    def __init__(self, secret: str, tier: Tier, purpose: Purpose, budget: int, min_spacing_s: float = 0.0) -> None:
        if not secret or not _KEY_CHARS.match(secret):
            raise ConfigError("an Alpha Vantage key is empty or has characters other than letters and digits")
        if budget < 1:
            raise ConfigError(f"key {mask(secret)}: budget must be at least 1, got {budget}")
        self._secret = secret
        self.tier = Tier(tier)
        self.purpose = Purpose(purpose)
        self.budget = int(budget)
        self.min_spacing_s = float(min_spacing_s)
        self.fingerprint = fingerprint(secret)
        self.masked = mask(secret)

    def reveal(self) -> str:
        """Return the key itself: only the HTTP request that must carry it calls this."""
        return self._secret

    @property
    def window(self) -> str:
        """The budget window's name: ``minute`` (premium, rolling) or ``day`` (free, US/Eastern)."""
        return "minute" if self.tier is Tier.PREMIUM else "day"

    def __repr__(self) -> str:
        return f"ApiKey({self.masked}, {self.tier.value}, {self.purpose.value}, {self.budget}/{self.window})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __reduce__(self) -> Any:
        raise TypeError("ApiKey cannot be pickled: it would write the key where it does not belong")


@dataclass(frozen=True)
class Lease:
    """A reserved request slot on one key: send exactly one request with it, then report the outcome."""

    key: ApiKey
    reserved_at: datetime


@dataclass(frozen=True)
class KeyStatus:
    """One key's budget as `papertrader data status` shows it (the key masked)."""

    key: str
    fingerprint: str
    tier: str
    purpose: str
    used: int
    budget: int
    remaining: int
    window: str
    retired_until: datetime | None
    retired_reason: str | None
    backoff_until: datetime | None
    next_slot_at: datetime


def _default_budget(tier: Tier, settings: AlphaVantageSettings) -> tuple[int, float]:
    if tier is Tier.PREMIUM:
        return settings.premium_per_minute, settings.premium_min_spacing_s
    return settings.free_per_day, settings.free_min_spacing_s


def make_key(
    secret: str,
    tier: Tier | str,
    purpose: Purpose | str,
    settings: AlphaVantageSettings,
    budget: int | None = None,
) -> ApiKey:
    """Build a key with the settings' default budget and spacing for its tier."""
    tier = Tier(tier)
    default_budget, spacing = _default_budget(tier, settings)
    return ApiKey(secret, tier, Purpose(purpose), budget or default_budget, spacing)


def parse_key_list(text: str, settings: AlphaVantageSettings) -> list[ApiKey]:
    """Parse ``KEY[:TIER[:PURPOSE[:BUDGET]]]`` entries; errors name the entry number, never its content."""
    where = "PAPERTRADER_AV_KEYS"
    keys: list[ApiKey] = []
    for number, entry in enumerate((e for e in re.split(r"[,;\s]+", text) if e), start=1):
        parts = entry.split(":")
        if len(parts) > 4:
            raise ConfigError(f"{where} entry {number}: expected KEY[:TIER[:PURPOSE[:BUDGET]]]")
        secret = parts[0]
        tier_text = parts[1].strip().lower() if len(parts) > 1 and parts[1].strip() else "free"
        if tier_text not in {t.value for t in Tier}:
            raise ConfigError(f"{where} entry {number}: tier must be premium or free")
        tier = Tier(tier_text)
        default_purpose = Purpose.MARKET if tier is Tier.PREMIUM else Purpose.ANY
        purpose_text = parts[2].strip().lower() if len(parts) > 2 and parts[2].strip() else default_purpose
        if purpose_text not in {p.value for p in Purpose}:
            raise ConfigError(f"{where} entry {number}: purpose must be one of {', '.join(p.value for p in Purpose)}")
        budget: int | None = None
        if len(parts) > 3 and parts[3].strip():
            try:
                budget = int(parts[3].strip())
            except ValueError:
                raise ConfigError(f"{where} entry {number}: budget must be a whole number") from None
            if budget < 1:
                raise ConfigError(f"{where} entry {number}: budget must be at least 1")
        if not secret or not _KEY_CHARS.match(secret):
            raise ConfigError(f"{where} entry {number}: the key is empty or has invalid characters")
        keys.append(make_key(secret, tier, purpose_text, settings, budget))
    return keys


def keys_from_settings(key_settings: AlphaVantageKeySettings, settings: AlphaVantageSettings) -> list[ApiKey]:
    """All configured keys, named variables first, then the list; duplicates are dropped (first wins)."""
    named = (
        (key_settings.key_premium, Tier.PREMIUM, Purpose.MARKET, "PAPERTRADER_AV_KEY_PREMIUM"),
        (key_settings.key_primary, Tier.FREE, Purpose.FUNDAMENTALS, "PAPERTRADER_AV_KEY_PRIMARY"),
        (key_settings.key_secondary, Tier.FREE, Purpose.MACRO, "PAPERTRADER_AV_KEY_SECONDARY"),
        (key_settings.key_sentiment, Tier.FREE, Purpose.SENTIMENT, "PAPERTRADER_AV_KEY_SENTIMENT"),
    )
    keys: list[ApiKey] = []
    for secret, tier, purpose, var in named:
        if secret is None or not secret.get_secret_value().strip():
            continue
        value = secret.get_secret_value().strip()
        if not _KEY_CHARS.match(value):
            raise ConfigError(f"{var}: the key has characters other than letters and digits")
        keys.append(make_key(value, tier, purpose, settings))
    if key_settings.keys is not None:
        keys.extend(parse_key_list(key_settings.keys.get_secret_value(), settings))
    unique: dict[str, ApiKey] = {}
    for key in keys:
        if key.fingerprint in unique:
            log.warning("alphavantage key %s is configured twice; using its first entry", key.masked)
            continue
        unique[key.fingerprint] = key
    return list(unique.values())


# --- persistence -------------------------------------------------------------------------------------
# key_state and key_reservations live in persistence.models (the ledger schema, migrated by Alembic).


def eastern_day_start(now: datetime) -> datetime:
    """Midnight US/Eastern of the day containing `now`: where a free key's daily count starts."""
    local = now.astimezone(EASTERN)
    return datetime.combine(local.date(), time(0), tzinfo=EASTERN)


def next_eastern_midnight(now: datetime) -> datetime:
    """The next midnight US/Eastern after `now`: when free budgets reset and retired keys return."""
    local = now.astimezone(EASTERN)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=EASTERN)


class KeyManager:
    """Hands out request slots on keys by purpose, never beyond any key's budget, and persists usage."""

    def __init__(
        self,
        keys: Sequence[ApiKey],
        engine: Engine,
        *,
        clock: Clock | None = None,
        settings: AlphaVantageSettings | None = None,
        jitter: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings or AlphaVantageSettings()
        self._clock: Clock = clock or WallClock()
        self._keys = list(keys)
        self._engine = engine
        self._jitter = jitter or random.random
        self._sleep = sleep or self._clock.sleep
        self._lock = threading.RLock()
        try:
            init_db(engine)  # the key tables are part of the ledger schema: created, or migrated (Alembic), here
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"cannot create the key usage tables ({type(exc).__name__}); check PAPERTRADER_DATABASE_URL "
                "and that its directory is writable"
            ) from None
        self._ensure_rows()

    @classmethod
    def from_env(
        cls,
        *,
        clock: Clock | None = None,
        db_url: str | None = None,
        settings: AlphaVantageSettings | None = None,
        key_settings: AlphaVantageKeySettings | None = None,
        jitter: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> KeyManager:
        """Build the manager production uses: keys from env/.env, usage in the project's database."""
        settings = settings or AlphaVantageSettings()
        keys = keys_from_settings(key_settings or AlphaVantageKeySettings(), settings)
        if db_url is None:
            from papertrader.config.settings import Settings

            db_url = Settings().db_url
        return cls(keys, make_engine(db_url), clock=clock, settings=settings, jitter=jitter, sleep=sleep)

    def __repr__(self) -> str:
        return f"KeyManager({', '.join(map(repr, self._keys))})"

    @property
    def keys(self) -> tuple[ApiKey, ...]:
        """The configured keys (their repr is masked)."""
        return tuple(self._keys)

    def has_tier(self, tier: Tier) -> bool:
        """Whether any key of this tier is configured, so callers can pick premium-only endpoints."""
        return any(k.tier is tier for k in self._keys)

    # --- routing and reservation ---------------------------------------------------------------------

    def route(self, purpose: Purpose, *, premium_only: bool = False) -> list[ApiKey]:
        """The keys that may serve `purpose`, best first: same purpose, then `any`, then the rest as backup."""
        prefer_premium = purpose is Purpose.MARKET

        def rank(item: tuple[int, ApiKey]) -> tuple[int, int, int]:
            """Sort key: purpose match, then tier preference, then configuration order."""
            index, key = item
            group = 0 if key.purpose is purpose else 1 if key.purpose is Purpose.ANY else 2
            tier_rank = 0 if (key.tier is Tier.PREMIUM) == prefer_premium else 1
            return group, tier_rank, index

        ordered = [k for _, k in sorted(enumerate(self._keys), key=rank)]
        if premium_only:
            ordered = [k for k in ordered if k.tier is Tier.PREMIUM]
        return ordered

    def acquire(self, purpose: Purpose, *, premium_only: bool = False, max_wait_s: float | None = None) -> Lease:
        """Reserve one request slot on the best key with budget left, waiting (injected sleep) if allowed."""
        purpose = Purpose(purpose)
        candidates = self.route(purpose, premium_only=premium_only)
        if not candidates:
            if premium_only and self._keys:
                raise KeyTierError(
                    "this Alpha Vantage endpoint needs a premium key and every configured key is free: "
                    "set PAPERTRADER_AV_KEY_PREMIUM or add a KEY:premium entry to PAPERTRADER_AV_KEYS"
                )
            raise NoKeysError(
                "no Alpha Vantage key configured: set PAPERTRADER_AV_KEY_PREMIUM, _PRIMARY, _SECONDARY, "
                "_SENTIMENT or PAPERTRADER_AV_KEYS (in the environment or .env)"
            )
        limit = self._settings.max_wait_s if max_wait_s is None else max(0.0, max_wait_s)
        waited = 0.0
        while True:
            now = self._clock.now()
            patience = min(self._settings.failover_wait_s, max(0.0, limit - waited))
            got = self._try_reserve(candidates, now, patience_s=patience)
            if isinstance(got, Lease):
                return got
            delay = max((got - now).total_seconds(), _MIN_POLL_S)
            if waited + delay > limit:
                raise KeyBudgetExhaustedError(
                    f"every Alpha Vantage key for {purpose.value} data is at its budget, retired or "
                    f"backing off; the next slot is at {got.isoformat()} (retry then)",
                    available_at=got,
                )
            self._sleep(delay)
            waited += delay

    def _try_reserve(self, candidates: Sequence[ApiKey], now: datetime, *, patience_s: float) -> Lease | datetime:
        """In one transaction: take a slot on the best candidate that has one, else say when to try again.

        A key whose next slot is at most `patience_s` away (spacing, a short backoff) is waited for rather
        than passed over, so backups are spent only when the preferred key is really unavailable; the
        patience is never longer than the caller is willing to wait.
        """
        earliest: datetime | None = None
        patience = timedelta(seconds=patience_s)
        with self._transaction() as conn:
            for key in candidates:
                state = self._state(conn, key, for_update=True)
                at = self._available_at(conn, key, state, now)
                if now < at <= now + patience:
                    return at
                if at <= now:
                    conn.execute(insert(key_reservations).values(fingerprint=key.fingerprint, reserved_at=now))
                    conn.execute(
                        update(key_state).where(key_state.c.fingerprint == key.fingerprint).values(last_sent_at=now)
                    )
                    conn.execute(
                        delete(key_reservations).where(
                            key_reservations.c.fingerprint == key.fingerprint,
                            key_reservations.c.reserved_at < eastern_day_start(now) - timedelta(days=1),
                        )
                    )
                    return Lease(key, now)
                earliest = at if earliest is None else min(earliest, at)
        assert earliest is not None  # candidates is never empty here
        return earliest

    def _window_start(self, key: ApiKey, now: datetime) -> datetime:
        return now - PREMIUM_WINDOW if key.tier is Tier.PREMIUM else eastern_day_start(now)

    def _used(self, conn: Connection, key: ApiKey, now: datetime) -> int:
        start = self._window_start(key, now)
        column = key_reservations.c.reserved_at
        cond = column > start if key.tier is Tier.PREMIUM else column >= start
        count = conn.execute(
            select(func.count())
            .select_from(key_reservations)
            .where(key_reservations.c.fingerprint == key.fingerprint, cond)
        ).scalar_one()
        return int(count)

    def _available_at(self, conn: Connection, key: ApiKey, state: Any, now: datetime) -> datetime:
        """The earliest time this key may send again (<= now means now)."""
        times = [now]
        if state.retired_until is not None and state.retired_until > now:
            times.append(state.retired_until)
        if state.backoff_until is not None and state.backoff_until > now:
            times.append(state.backoff_until)
        if state.last_sent_at is not None and key.min_spacing_s > 0:
            times.append(state.last_sent_at + timedelta(seconds=key.min_spacing_s))
        used = self._used(conn, key, now)
        if used >= key.budget:
            if key.tier is Tier.PREMIUM:
                start = self._window_start(key, now)
                oldest_to_expire = conn.execute(
                    select(key_reservations.c.reserved_at)
                    .where(
                        key_reservations.c.fingerprint == key.fingerprint,
                        key_reservations.c.reserved_at > start,
                    )
                    .order_by(key_reservations.c.reserved_at)
                    .offset(used - key.budget)
                    .limit(1)
                ).scalar_one()
                times.append(oldest_to_expire + PREMIUM_WINDOW)
            else:
                times.append(next_eastern_midnight(now))
        return max(times)

    # --- outcomes ------------------------------------------------------------------------------------

    def record(self, lease: Lease, outcome: KeyOutcome, *, min_backoff_s: float | None = None) -> float:
        """Apply what the vendor said about the key; returns the throttle backoff in seconds (else 0)."""
        key = lease.key
        now = self._clock.now()
        outcome = KeyOutcome(outcome)
        with self._transaction() as conn:
            state = self._state(conn, key, for_update=True)
            where = key_state.c.fingerprint == key.fingerprint
            if outcome is KeyOutcome.OK:
                if state.throttle_count:
                    conn.execute(update(key_state).where(where).values(throttle_count=0))
                return 0.0
            if outcome in (KeyOutcome.DAILY_CAP, KeyOutcome.BAD_KEY):
                until = next_eastern_midnight(now)
                reason = "daily cap answered" if outcome is KeyOutcome.DAILY_CAP else "key refused"
                conn.execute(update(key_state).where(where).values(retired_until=until, retired_reason=reason))
                log.warning("alphavantage key %s retired until %s: %s", key.masked, until.isoformat(), reason)
                if outcome is KeyOutcome.DAILY_CAP and key.tier is Tier.PREMIUM:
                    log.warning("alphavantage key %s is configured premium but hit a daily cap", key.masked)
                return 0.0
            count = int(state.throttle_count or 0) + 1
            delay = max(self.backoff_delay(count), min_backoff_s or 0.0)
            until = now + timedelta(seconds=delay)
            conn.execute(update(key_state).where(where).values(backoff_until=until, throttle_count=count))
            log.info("alphavantage key %s throttled (%d in a row): backing off %.2fs", key.masked, count, delay)
            return delay

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff for the n-th throttle in a row, with jitter so callers do not stampede."""
        base = self._settings.burst_backoff_base_s * 2.0 ** max(0, attempt - 1)
        capped = min(self._settings.burst_backoff_max_s, base)
        jitter = min(1.0, max(0.0, float(self._jitter())))
        return capped * (0.5 + 0.5 * jitter)

    # --- status --------------------------------------------------------------------------------------

    def status(self) -> list[KeyStatus]:
        """Each key's usage in its current window, masked, for `papertrader data status`."""
        now = self._clock.now()
        rows: list[KeyStatus] = []
        with self._transaction() as conn:
            for key in self._keys:
                state = self._state(conn, key)
                used = self._used(conn, key, now)
                retired = state.retired_until if state.retired_until and state.retired_until > now else None
                backoff = state.backoff_until if state.backoff_until and state.backoff_until > now else None
                rows.append(
                    KeyStatus(
                        key=key.masked,
                        fingerprint=key.fingerprint[:12],
                        tier=key.tier.value,
                        purpose=key.purpose.value,
                        used=used,
                        budget=key.budget,
                        remaining=0 if retired else max(0, key.budget - used),
                        window=key.window,
                        retired_until=retired,
                        retired_reason=state.retired_reason if retired else None,
                        backoff_until=backoff,
                        next_slot_at=self._available_at(conn, key, state, now),
                    )
                )
        return rows

    # --- database plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction, serialised within the process and (SQLite) taking the lock up front."""
        with self._lock:
            try:
                engine = self._engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with engine.begin() as conn:
                    yield conn
            except SQLAlchemyError as exc:
                raise TemporaryError(
                    f"the key usage database is unavailable ({type(exc).__name__}); retry shortly"
                ) from None

    def _state(self, conn: Connection, key: ApiKey, *, for_update: bool = False) -> Any:
        query = select(key_state).where(key_state.c.fingerprint == key.fingerprint)
        if for_update:
            query = query.with_for_update()
        return conn.execute(query).one()

    def _ensure_rows(self) -> None:
        """Create a state row per key (first start) and refresh its tier and purpose (config changes)."""
        for attempt in range(2):
            try:
                with self._transaction() as conn:
                    known = set(
                        conn.execute(
                            select(key_state.c.fingerprint).where(
                                key_state.c.fingerprint.in_([k.fingerprint for k in self._keys])
                            )
                        ).scalars()
                    )
                    for key in self._keys:
                        values = {"tier": key.tier.value, "purpose": key.purpose.value}
                        if key.fingerprint in known:
                            conn.execute(
                                update(key_state).where(key_state.c.fingerprint == key.fingerprint).values(**values)
                            )
                        else:
                            conn.execute(
                                insert(key_state).values(fingerprint=key.fingerprint, throttle_count=0, **values)
                            )
                return
            except TemporaryError as exc:  # a concurrent first start inserted the same row
                if attempt or not isinstance(exc.__context__, IntegrityError):
                    raise
