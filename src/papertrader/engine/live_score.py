"""Live uptime and critical failures, scored with the trial's definitions (engine/trial_score.py) on a live run.

A paper trial scores a replayed window; a live run is scored the same way over the sessions it has traded:

* **Scheduled cycles** are the bar closes of the exchange calendar from the run's first committed cycle to now
  (a close is due `live.fetch_delay_seconds` after it). Closes that fell while the operator had stopped the
  run cleanly (`interrupted` or `finished`, then `--resume`) are not scheduled: nobody asked for them.
* A scheduled close is **up** when its cycle was committed *on time* and, by the trial's rule, no component's
  latest health (events stamped at or before the close's on-time limit) is ``down``. The limit is the due time
  plus `schedule.on_time_window` (twice the in-bar re-fetch window; the due time itself when re-fetching is off),
  so a close whose bars came on a re-request within the bar is up, and one whose re-requests ran out is down
  (the data component's verdict is stamped before the limit). A close whose cycle ran late,
  in the catch-up after an unclean stop, is down; a close with no cycle at all is a **missed close**.
* **Critical failures** are the trial's (the run raised, the drawdown kill switch fired, the ledger rebuilt
  from the event log disagrees with the stored state, which is how a lost fill shows), plus two that only a
  live run can have: the run stopped without closing (a crash or a kill: it was found `running` or `failed`
  on resume), and scheduled bar closes missed. Each kind counts once, as in a trial window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from papertrader.config.live import LiveSettings
from papertrader.domain.events import DomainEvent, HaltChanged, HealthChanged, KillSwitchFired, LiveRestarted
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.check import check_run
from papertrader.engine.schedule import on_time_window, plans
from papertrader.engine.trial_score import DOWN, critical_failures, uptime
from papertrader.persistence.repository import RunRepository

#: what the scorer reads from a run's event log
SCORE_KINDS: tuple[str, ...] = (HealthChanged.KIND, KillSwitchFired.KIND, HaltChanged.KIND, LiveRestarted.KIND)


@dataclass(frozen=True)
class LiveScore:
    """A live run's uptime over its scheduled bar closes and its critical failures, as of `as_of`."""

    as_of: datetime
    scheduled: int
    up: int
    missed_closes: int
    critical_failures: tuple[str, ...]

    @property
    def uptime(self) -> float:
        """Up closes / scheduled closes (NaN before the first scheduled close)."""
        return self.up / self.scheduled if self.scheduled else math.nan

    def to_json(self) -> dict[str, Any]:
        """Stable keys for the run summary, the end-of-day report and the API."""
        return {
            "as_of": self.as_of.isoformat(),
            "scheduled": self.scheduled,
            "up": self.up,
            "uptime": None if not self.scheduled else self.uptime,
            "missed_closes": self.missed_closes,
            "critical_failures": list(self.critical_failures),
        }


@dataclass(frozen=True)
class ScheduledClose:
    """One bar close of the calendar: when the bar closed, when its cycle was due and by when it counts on time."""

    close: datetime
    due: datetime
    #: the close's on-time limit (due + the re-fetch allowance); None: the due time itself
    limit: datetime | None = None

    @property
    def on_time_by(self) -> datetime:
        """When the close's health is read: its on-time limit."""
        return self.due if self.limit is None else self.limit


def scheduled_closes(live: LiveSettings, interval: str, first: datetime, until: datetime) -> list[ScheduledClose]:
    """Every bar close from `first` (inclusive) whose cycle was due by `until`, in order."""
    out: list[ScheduledClose] = []
    start = first.astimezone(NEW_YORK).date()
    last_day = until.astimezone(NEW_YORK).date()
    allowance = on_time_window(live, interval)
    for plan in plans(live.calendar, start, interval, live):
        if plan.day > last_day:
            break
        for close in plan.bar_closes:
            due = close + plan.fetch_delay
            if close >= first and due <= until:
                out.append(ScheduledClose(close, due, due + allowance))
    return out


def score_live(
    as_of: datetime,
    closes: Sequence[ScheduledClose],
    cycles: Iterable[datetime],
    events: Sequence[DomainEvent],
    *,
    raised: str | None = None,
    check_problems: Sequence[str] = (),
) -> LiveScore:
    """Score a live run from its calendar closes, committed cycle close times and events (module docstring)."""
    restarts = [e for e in events if isinstance(e, LiveRestarted)]
    gaps = [(datetime.fromisoformat(e.since), e.ts, e.clean) for e in restarts if e.since is not None]
    scheduled = [c for c in closes if not any(clean and since < c.close <= at for since, at, clean in gaps)]
    late = [(since, at) for since, at, clean in gaps if not clean]
    done = set(cycles)
    on_time = [c for c in scheduled if c.close in done and not any(s < c.close and c.due <= at for s, at in late)]
    missed = sum(1 for c in scheduled if c.close not in done)
    share = uptime(len(scheduled), [c.on_time_by for c in on_time], events) if scheduled else math.nan
    up = round(share * len(scheduled)) if scheduled else 0
    failures = list(critical_failures(raised, events, check_problems))
    crashes = [e for e in restarts if not e.clean]
    if crashes:
        failures.append(
            f"run stopped without closing (crash or kill) {len(crashes)} time(s), "
            f"last found {crashes[-1].previous_status} at {crashes[-1].ts:%Y-%m-%d %H:%M}Z"
        )
    if missed:
        failures.append(f"{missed} scheduled bar close(s) had no cycle")
    return LiveScore(as_of, len(scheduled), up, missed, tuple(failures))


def down_closes(
    closes: Sequence[ScheduledClose], cycles: Iterable[datetime], events: Sequence[DomainEvent]
) -> list[tuple[datetime, str]]:
    """Each scheduled close that `score_live` counts down, with why (what an operator or a soak reads)."""
    restarts = [e for e in events if isinstance(e, LiveRestarted)]
    gaps = [(datetime.fromisoformat(e.since), e.ts, e.clean) for e in restarts if e.since is not None]
    late = [(since, at) for since, at, clean in gaps if not clean]
    done = set(cycles)
    health = sorted((e for e in events if isinstance(e, HealthChanged)), key=lambda e: e.ts)
    status: dict[str, tuple[str, str]] = {}
    out: list[tuple[datetime, str]] = []
    i = 0
    for c in closes:
        if any(clean and since < c.close <= at for since, at, clean in gaps):
            continue  # not scheduled: the operator had stopped the run
        while i < len(health) and health[i].ts <= c.on_time_by:
            status[health[i].component] = (health[i].status, health[i].message)
            i += 1
        if c.close not in done:
            out.append((c.close, "no cycle"))
        elif any(s < c.close and c.due <= at for s, at in late):
            out.append((c.close, "caught up late after a crash or kill"))
        else:
            down = sorted(name for name, (state, _m) in status.items() if state == DOWN)
            if down:
                out.append((c.close, "down: " + "; ".join(f"{n} ({status[n][1][:80]})" for n in down)))
    return out


def score_run(
    repo: RunRepository,
    run_id: str,
    live: LiveSettings,
    interval: str,
    as_of: datetime,
    *,
    raised: str | None = None,
    check: bool = True,
) -> LiveScore:
    """Score a stored live run from what it committed (resume-proof: nothing is kept only in memory)."""
    equity = repo.load_equity(run_id)
    cycles = [ts.to_pydatetime() for ts in equity["ts"]]
    events = repo.load_events(run_id, SCORE_KINDS)
    problems = check_run(repo, run_id).problems if check else ()
    closes = scheduled_closes(live, interval, cycles[0], as_of) if cycles else []
    return score_live(as_of, closes, cycles, events, raised=raised, check_problems=problems)
