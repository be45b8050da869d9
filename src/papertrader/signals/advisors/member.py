"""An LLM advisor as a board member that never blocks or delays a cycle.

At cycle k, ``opine`` does two quick things and returns:

1. It answers with what is already known: for each symbol, the latest valid answer that was asked at a
   bar j with ``j < k <= j + max_age_bars``, mapped to probabilities (``AdvisorAnswer.probabilities``);
   every other symbol is NaN (no view). An answer is therefore never used on the bar that asked for it,
   and answers expire after ``max_age_bars`` bars.
2. It hands this cycle's questions to a background thread pool: one per ready symbol that has no
   request outstanding and was not asked in the last ``ask_every_bars`` bars. A question whose prompt is
   in the cache is answered from it on the spot (usable from k + 1, like any answer); otherwise it is
   queued, unless ``max_in_flight`` requests are already queued or running (then it is skipped, never
   queued without bound), the daily budget is spent, a 429 backoff is running or the key was refused.

The worker reserves a budget slot right before sending, then validates the answer strictly; valid and
rejected answers go to the cache, transport failures only to the health counters. A failing advisor
simply has no view (NaN) and says why in ``health()``. Advisors never ask for exits.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from papertrader.config.advisors import AdvisorSettings
from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError, DataError, TemporaryError
from papertrader.features.view import FeatureView
from papertrader.signals.advisors.budget import DailyBudget
from papertrader.signals.advisors.cache import AnswerCache, CachedAnswer, prompt_key
from papertrader.signals.advisors.clients import (
    AdvisorAuthError,
    AdvisorRateLimitedError,
    AdvisorTimeoutError,
    ChatClient,
)
from papertrader.signals.advisors.prompt import SYSTEM_PROMPT, PromptSpec, render, summarize
from papertrader.signals.advisors.schema import AdvisorAnswer, RejectedAnswerError, parse_answer
from papertrader.signals.votes import Opinion, Timeframe

log = logging.getLogger(__name__)

HealthStatus = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class HeldAnswer:
    """A valid answer and the bar whose data it was asked about."""

    asked_k: int
    answer: AdvisorAnswer


@dataclass(frozen=True, slots=True)
class AdvisorHealth:
    """What an operator needs to see about one advisor; no key, no prompt text."""

    name: str
    model: str
    status: HealthStatus
    message: str
    sent: int
    answered: int
    rejected: int
    cache_hits: int
    skipped: int
    in_flight: int
    budget_used: int
    budget_limit: int
    failures: dict[str, int] = field(default_factory=dict)
    backoff_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    i: int
    k: int
    key: str
    user: str


class AdvisorMember:
    """A board Member backed by one LLM advisor; `opine` returns at once (see the module docstring)."""

    timeframe: Timeframe = "advisor"

    def __init__(
        self,
        name: str,
        settings: AdvisorSettings,
        client: ChatClient,
        n_symbols: int,
        clock: Clock,
        *,
        cache: AnswerCache | None = None,
        budget: DailyBudget | None = None,
        prompt: PromptSpec | None = None,
    ) -> None:
        if n_symbols < 1:
            raise ValueError("n_symbols must be positive")
        self.name = name
        self.settings = settings
        self.horizon_bars = settings.horizon_bars
        self.n_symbols = n_symbols
        self._client = client
        self._clock = clock
        self._cache = cache if cache is not None else AnswerCache()
        self._budget = budget if budget is not None else DailyBudget(settings.daily_budget, clock)
        self._prompt = prompt if prompt is not None else PromptSpec(horizon_bars=settings.horizon_bars)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix=f"advisor-{name}")
        self._lock = threading.Condition()
        self._held: dict[int, HeldAnswer] = {}
        self._outstanding: set[int] = set()
        self._last_asked = np.full(n_symbols, np.iinfo(np.int64).min // 2, dtype=np.int64)
        self._counts: Counter[str] = Counter()
        self._failures: Counter[str] = Counter()
        self._backoff_until: datetime | None = None
        self._auth_refused = False
        self._last_problem = ""
        self._closed = False

    def __repr__(self) -> str:
        return f"AdvisorMember({self.name!r}, model={self.settings.model!r}, n={self.n_symbols})"

    # --- Member -------------------------------------------------------------------------------------

    def required_features(self) -> tuple[str, ...]:
        """The close (and volume) panels the prompt summary reads."""
        return self._prompt.required_features()

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """The answers already received for earlier bars (NaN elsewhere); this bar's questions go to the pool."""
        k = view.k
        opinion = self._current(k)
        self._ask(k, view)
        return opinion

    # --- answers ------------------------------------------------------------------------------------

    def _current(self, k: int) -> Opinion:
        n = self.n_symbols
        p_up = np.full(n, np.nan)
        p_down = np.full(n, np.nan)
        reasons: dict[int, str] = {}
        with self._lock:
            held = dict(self._held)
        for i, h in held.items():
            age = k - h.asked_k
            if 0 < age <= self.settings.max_age_bars:
                p_up[i], p_down[i] = h.answer.probabilities()
                a = h.answer
                reasons[i] = f"{self.name}: {a.direction} {a.confidence:.2f} ({age} bars ago): {a.reason}"
        silent = f"{self.name}: no valid answer for this bar yet"

        def reason(i: int) -> str:
            return reasons.get(i, silent)

        return Opinion(self.name, self.timeframe, p_up, p_down, np.zeros(n, dtype=np.bool_), reason)

    def _ask(self, k: int, view: FeatureView) -> None:
        with self._lock:
            if self._closed or self._auth_refused:
                return
            backoff = self._backoff_until
        if backoff is not None and self._clock.now() < backoff:
            return
        due = np.flatnonzero(k - self._last_asked >= self.settings.ask_every_bars)
        if due.size == 0:
            return
        summary = summarize(view, self._prompt)
        remaining = self._budget.status().remaining
        for i in due.tolist():
            if not summary.ready[i]:
                continue
            with self._lock:
                if i in self._outstanding:
                    continue
            user = render(summary, i, self._prompt)
            key = prompt_key(self.name, self.settings.model, SYSTEM_PROMPT, user)
            cached = self._cache.get(key)
            if cached is not None:
                self._last_asked[i] = k
                self._use_cached(i, k, cached)
                continue
            with self._lock:
                if len(self._outstanding) >= self.settings.max_in_flight or remaining <= 0:
                    self._counts["skipped"] += 1
                    continue
                self._outstanding.add(i)
            remaining -= 1
            self._last_asked[i] = k
            self._pool.submit(self._work, _Job(i, k, key, user))

    def _use_cached(self, i: int, k: int, cached: CachedAnswer) -> None:
        with self._lock:
            self._counts["cache_hits"] += 1
            if cached.answer is not None:
                self._keep(i, HeldAnswer(k, cached.answer))

    def _keep(self, i: int, held: HeldAnswer) -> None:
        """Keep the answer about the latest bar (called with the lock held)."""
        old = self._held.get(i)
        if old is None or held.asked_k >= old.asked_k:
            self._held[i] = held

    # --- the background worker ----------------------------------------------------------------------

    def _work(self, job: _Job) -> None:
        try:
            self._send(job)
        except Exception as exc:  # a worker must never die silently; the advisor stays absent
            if not self._closed:
                self._fail("internal", f"{type(exc).__name__}")
                log.exception("advisor %s: unexpected failure", self.name)
        finally:
            with self._lock:
                self._outstanding.discard(job.i)
                self._lock.notify_all()

    def _send(self, job: _Job) -> None:
        with self._lock:
            if self._auth_refused or self._closed:
                return
            backoff = self._backoff_until
        if backoff is not None and self._clock.now() < backoff:
            self._count("skipped")
            return
        if not self._budget.reserve():
            self._fail("budget", f"daily budget of {self._budget.limit} requests spent")
            return
        self._count("sent")
        try:
            text = self._client.complete(SYSTEM_PROMPT, job.user)
        except AdvisorAuthError as exc:
            with self._lock:
                self._auth_refused = True
            self._fail("auth", str(exc))
            log.error("advisor %s disabled until restart: %s", self.name, exc)
            return
        except AdvisorRateLimitedError as exc:
            wait = exc.retry_after if exc.retry_after is not None else self.settings.rate_limit_backoff_s
            with self._lock:
                self._backoff_until = self._clock.now() + timedelta(seconds=wait)
            self._fail("rate_limited", str(exc))
            log.warning("advisor %s: %s", self.name, exc)
            return
        except AdvisorTimeoutError as exc:
            self._fail("timeout", str(exc))
            log.warning("advisor %s: %s", self.name, exc)
            return
        except TemporaryError as exc:
            self._fail("unavailable", str(exc))
            log.warning("advisor %s: %s", self.name, exc)
            return
        except (ConfigError, DataError) as exc:
            self._fail("bad_reply" if isinstance(exc, DataError) else "request", str(exc))
            log.warning("advisor %s: %s", self.name, exc)
            return
        try:
            answer = parse_answer(text)
        except RejectedAnswerError as exc:
            self._cache.put(job.key, self.settings.model, CachedAnswer(None, str(exc)))
            self._count("rejected")
            self._fail("rejected", str(exc))
            log.warning("advisor %s: answer rejected: %s", self.name, exc)
            return
        self._cache.put(job.key, self.settings.model, CachedAnswer(answer))
        with self._lock:
            self._counts["answered"] += 1
            self._last_problem = ""
            self._keep(job.i, HeldAnswer(job.k, answer))

    def _count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def _fail(self, kind: str, message: str) -> None:
        with self._lock:
            self._failures[kind] += 1
            self._last_problem = message

    # --- operations ---------------------------------------------------------------------------------

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until no request is queued or running (tests, end of a replay); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._outstanding, timeout=timeout_s)

    def health(self) -> AdvisorHealth:
        """Counters and the current state, for the health board and the dashboard."""
        budget = self._budget.status()
        now = self._clock.now()
        with self._lock:
            backoff = self._backoff_until if self._backoff_until and self._backoff_until > now else None
            status: HealthStatus = "ok"
            message = self._last_problem or "ok"
            if self._auth_refused:
                status, message = "down", f"key refused: {self._last_problem}"
            elif budget.remaining == 0:
                status, message = "down", f"daily budget of {budget.limit} requests spent"
            elif backoff is not None:
                status, message = "degraded", f"throttled until {backoff.isoformat()}"
            elif self._last_problem:
                status = "degraded"
            return AdvisorHealth(
                name=self.name,
                model=self.settings.model,
                status=status,
                message=message,
                sent=self._counts["sent"],
                answered=self._counts["answered"],
                rejected=self._counts["rejected"],
                cache_hits=self._counts["cache_hits"],
                skipped=self._counts["skipped"],
                in_flight=len(self._outstanding),
                budget_used=budget.used,
                budget_limit=budget.limit,
                failures=dict(self._failures),
                backoff_until=backoff,
            )

    def close(self) -> None:
        """Stop asking: drop queued requests, let running ones finish in the background, free the client."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
