"""The plan of one trading day from the exchange calendar: warm-up, bar closes, close, report, retraining.

Everything here is a pure function of (exchange, date, interval, settings), so a live run and its tests
agree on exactly when each cycle happens. Bar closes follow the lake's stamping convention: intraday
bars are aligned to the clock (an hourly bar stamped 09:00 covers 09:30-10:00 and closes at 10:00), the
last bar of a session closes at the session close (13:00 on an early close), and a daily bar closes at
the close. A date the exchange is shut (weekend, holiday) has no plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from papertrader.config.live import LiveSettings
from papertrader.domain.calendars import session_bounds
from papertrader.domain.sessions import NEW_YORK, REGULAR_CLOSE, interval_minutes

#: how far ahead next_session looks before giving up (the longest market closure since 1990 is 4 days)
_MAX_GAP_DAYS = 30


class EventKind(StrEnum):
    """What the orchestrator does at a scheduled time."""

    WARM_UP = "warm_up"
    BAR_CLOSE = "bar_close"
    CLOSE = "close"
    REPORT = "report"
    RETRAIN = "retrain"


#: ties at the same instant run in this order (the last bar's cycle before the close's bookkeeping)
_ORDER = {k: i for i, k in enumerate(EventKind)}


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """One thing to do at `at`; bar events also carry the bar's stamp (its start) and its close time."""

    at: datetime
    kind: EventKind
    day: date
    bar_ts: datetime | None = None
    bar_close: datetime | None = None


@dataclass(frozen=True)
class DayPlan:
    """Everything scheduled on one session date, in UTC."""

    day: date
    exchange: str
    interval: str
    open: datetime
    close: datetime
    warm_up: datetime
    bar_closes: tuple[datetime, ...]
    report: datetime
    retrain: datetime | None
    fetch_delay: timedelta

    @property
    def early_close(self) -> bool:
        """Whether the exchange closes before 16:00 local time this day."""
        return self.close.astimezone(NEW_YORK).time() < REGULAR_CLOSE

    def bar_stamp(self, close: datetime) -> datetime:
        """The stamp (bar start) of the bar closing at `close`, in the lake's convention."""
        if self.interval == "1d":
            return datetime.combine(self.day, time(0, 0), NEW_YORK).astimezone(UTC)
        return close - timedelta(minutes=interval_minutes(self.interval))

    def events(self) -> tuple[ScheduledEvent, ...]:
        """The day's events in the order they happen."""
        out = [ScheduledEvent(self.warm_up, EventKind.WARM_UP, self.day)]
        out += [
            ScheduledEvent(c + self.fetch_delay, EventKind.BAR_CLOSE, self.day, self.bar_stamp(c), c)
            for c in self.bar_closes
        ]
        out.append(ScheduledEvent(self.close + self.fetch_delay, EventKind.CLOSE, self.day))
        out.append(ScheduledEvent(self.report, EventKind.REPORT, self.day))
        if self.retrain is not None:
            out.append(ScheduledEvent(self.retrain, EventKind.RETRAIN, self.day))
        return tuple(sorted(out, key=lambda e: (e.at, _ORDER[e.kind])))


def bar_closes(open_: datetime, close: datetime, interval: str) -> tuple[datetime, ...]:
    """Close times of the session's bars: clock-aligned boundaries after the open, then the close itself."""
    if interval == "1d":
        return (close,)
    step = timedelta(minutes=interval_minutes(interval))
    local_open = open_.astimezone(NEW_YORK)
    midnight = datetime.combine(local_open.date(), time(0, 0), NEW_YORK)
    elapsed = local_open - midnight
    boundary = midnight + step * (elapsed // step + 1)  # first aligned boundary strictly after the open
    out: list[datetime] = []
    while boundary.astimezone(UTC) < close:
        out.append(boundary.astimezone(UTC))
        boundary += step
    out.append(close)
    return tuple(out)


def day_plan(exchange: str, day: date, interval: str, settings: LiveSettings) -> DayPlan | None:
    """The plan of `day` on `exchange`, or None when the exchange does not open that day."""
    bounds = session_bounds(exchange, day)
    if bounds is None:
        return None
    open_, close = (b.astimezone(UTC) for b in bounds)
    retrain = (
        close + timedelta(minutes=settings.retrain_after_close_minutes)
        if day.weekday() in settings.retrain_weekdays
        else None
    )
    return DayPlan(
        day=day,
        exchange=exchange,
        interval=interval,
        open=open_,
        close=close,
        warm_up=open_ - timedelta(minutes=settings.warm_up_minutes),
        bar_closes=bar_closes(open_, close, interval),
        report=close + timedelta(minutes=settings.report_delay_minutes),
        retrain=retrain,
        fetch_delay=timedelta(seconds=settings.fetch_delay_seconds),
    )


def refetch_window(settings: LiveSettings, interval: str) -> timedelta:
    """How long after a close's due time a re-request of missing bars may still start (zero: re-fetching off).

    At most a quarter of an intraday bar, so the retries of one close never reach into the next one.
    """
    if settings.refetch_attempts == 0:
        return timedelta(0)
    deadline = timedelta(seconds=settings.refetch_deadline_seconds)
    return deadline if interval == "1d" else min(deadline, timedelta(minutes=interval_minutes(interval)) / 4)


def on_time_window(settings: LiveSettings, interval: str) -> timedelta:
    """How long after its due time a close's cycle still counts on time: twice the re-fetch window (live uptime)."""
    return 2 * refetch_window(settings, interval)


def next_session(exchange: str, on_or_after: date) -> date:
    """The first session date on or after a date (weekends and holidays skipped)."""
    day = on_or_after
    for _ in range(_MAX_GAP_DAYS):
        if session_bounds(exchange, day) is not None:
            return day
        day += timedelta(days=1)
    raise ValueError(f"{exchange} has no session within {_MAX_GAP_DAYS} days of {on_or_after}")


def plans(exchange: str, first: date, interval: str, settings: LiveSettings) -> Iterator[DayPlan]:
    """Day plans of every session from `first` on, endlessly (the caller decides when to stop)."""
    day = next_session(exchange, first)
    while True:
        plan = day_plan(exchange, day, interval, settings)
        assert plan is not None
        yield plan
        day = next_session(exchange, day + timedelta(days=1))
