"""Notifications: a bus subscriber that sends fills, halts, data and model trouble and drift through apprise.

The engine's bus delivers in the cycle's thread, so the subscriber only classifies, rate-limits and queues
(all O(1)); one worker thread does the sending. A slow or failing target therefore never stalls or crashes a
run: a full queue drops the message, and every drop, rate-limited message and failed send is counted and
logged. Target URLs (bot tokens, webhook secrets) come from `NotifySettings` (environment only); they are
never logged by us and are masked in apprise's and urllib3's own log records.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from pydantic import ValidationError

from papertrader.config.notify import NotifySettings
from papertrader.core.errors import ConfigError
from papertrader.core.events import EventBus
from papertrader.domain.events import (
    DomainEvent,
    DriftChanged,
    HaltChanged,
    HealthChanged,
    MemberDegraded,
    MemberRecovered,
    OrderFilled,
)

log = logging.getLogger(__name__)

#: health components of the data feed and of model loading (engine/orchestrator's DATA, MODELS, model.<member>)
_DATA_COMPONENTS: Final = frozenset({"data"})
_MODEL_COMPONENTS: Final = frozenset({"models"})
#: loggers that print request URLs (apprise at DEBUG, urllib3's connection pool): their records are masked
_URL_LOGGERS: Final = ("apprise", "urllib3.connectionpool")
_LEVEL: Final = {"fill": "info", "halt": "failure", "reset": "success", "drift": "warning"}


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: which kind it is, its title and body, and apprise's severity."""

    kind: str
    title: str
    body: str
    level: str = "info"


class Target(Protocol):
    """Somewhere a message can go; `label` is safe to log (the scheme and position, never the URL)."""

    label: str

    def send(self, message: Message) -> bool:
        """Deliver one message; False (or an exception) when the target refused it."""
        ...


def classify(event: DomainEvent) -> str | None:
    """The notification kind of an engine event, or None when no notification is about it."""
    if isinstance(event, OrderFilled):
        return "fill"
    if isinstance(event, HaltChanged):
        return "halt" if event.halted else "reset"
    if isinstance(event, DriftChanged):
        return "drift"
    if isinstance(event, MemberDegraded | MemberRecovered):
        return "model"
    if isinstance(event, HealthChanged):
        component = event.component
        if component in _DATA_COMPONENTS:
            return "data"
        if component in _MODEL_COMPONENTS or component.startswith("model."):
            return "model"
        return "health"
    return None


def render(kind: str, event: DomainEvent, run_id: str) -> Message:
    """A short human message for one event (pure: the same event always reads the same)."""
    at = f"{event.ts:%Y-%m-%d %H:%M} UTC"
    title = f"papertrader {run_id}: {kind}"
    status: str | None = None
    if isinstance(event, OrderFilled):
        body = f"{event.side.value.upper()} {event.qty} {event.symbol} @ {event.price} (fee {event.fee})"
    elif isinstance(event, HaltChanged):
        body = ("HALTED: " if event.halted else "trading resumed: ") + event.reason
    elif isinstance(event, DriftChanged):
        features = [f"{f.get('name')} (PSI {float(f.get('psi', 0.0)):.2f})" for f in event.features[:5]]
        body = "feature drift cleared" if event.cleared else "feature drift: " + ", ".join(features)
    elif isinstance(event, MemberDegraded):
        body = f"board member {event.member} degraded ({', '.join(event.tests)})"
    elif isinstance(event, MemberRecovered):
        body = f"board member {event.member} recovered"
    elif isinstance(event, HealthChanged):
        status = event.status
        body = f"{event.component} is {event.status}: {event.message}"
    else:
        body = ", ".join(f"{k}={v}" for k, v in event.payload.items())
    level = _LEVEL.get(kind, "warning" if status not in (None, "ok") else "success")
    if isinstance(event, MemberDegraded):
        level = "warning"
    return Message(kind, title, f"{body}\n{at}", level)


class RateLimiter:
    """At most `limit` messages per kind in any `window` seconds of the injected monotonic clock."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._sent: dict[str, deque[float]] = {}

    def allow(self, kind: str) -> bool:
        """Take a slot for one message of `kind` if the window has one."""
        now = self._clock()
        sent = self._sent.setdefault(kind, deque())
        while sent and now - sent[0] >= self.window:
            sent.popleft()
        if len(sent) >= self.limit:
            return False
        sent.append(now)
        return True


def secret_fragments(url: str) -> list[str]:
    """The parts of a URL that may be a credential (every token after the scheme of 4+ characters)."""
    rest = url.split("://", 1)[-1]
    parts = {url, rest, *(t for t in re.split(r"[/?&=:@#,;]", rest) if len(t) >= 4)}
    return sorted(parts, key=len, reverse=True)


class MaskSecrets(logging.Filter):
    """Rewrites a log record so that none of the registered secret fragments appears in it."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self._lock = threading.Lock()

    def add(self, fragments: Iterable[str]) -> None:
        """Register more fragments to mask (longest replaced first)."""
        with self._lock:
            self._secrets = sorted(set(self._secrets) | set(fragments), key=len, reverse=True)

    def mask(self, text: str) -> str:
        """The text with every secret fragment replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Always emit, but only the masked text."""
        if self._secrets:
            record.msg, record.args = self.mask(record.getMessage()), ()
            if record.exc_info:  # a traceback may quote the request URL too
                record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


MASK: Final = MaskSecrets()
for _name in _URL_LOGGERS:
    logging.getLogger(_name).addFilter(MASK)


class AppriseTarget:
    """One apprise URL (one target); apprise is imported only when a target is configured."""

    def __init__(self, url: str, position: int) -> None:
        import apprise

        MASK.add(secret_fragments(url))
        self.label = f"target {position} ({url.split('://', 1)[0]})"
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ConfigError(f"PAPERTRADER_NOTIFY_URLS: {self.label} is not a URL apprise understands")
        self._types = {t.value: t for t in apprise.NotifyType}

    def send(self, message: Message) -> bool:
        """Send through apprise (its own connect/read timeouts apply); True when the target accepted it."""
        kind = self._types.get(message.level, self._types["info"])
        return bool(self._apprise.notify(body=message.body, title=message.title, notify_type=kind))


@dataclass
class NotifierStats:
    """What happened to the messages of one run (read after close, or live for the health board)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    rate_limited: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Notifier:
    """Subscribe to a bus, queue the events worth telling, send them from one worker thread."""

    def __init__(
        self,
        targets: Sequence[Target],
        run_id: str,
        settings: NotifySettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.targets = list(targets)
        self.run_id = run_id
        self.kinds = settings.kind_set
        self.stats = NotifierStats()
        self._drain_s = settings.drain_s
        self._limiter = RateLimiter(settings.rate_limit, settings.rate_window_s, monotonic)
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=settings.queue_size)
        self._health: dict[str, str] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._worker = threading.Thread(target=self._work, name=f"notifier-{run_id}", daemon=True)
        self._worker.start()

    def attach(self, bus: EventBus) -> Notifier:
        """Listen to every event of `bus` (returns self)."""
        self._unsubscribe = bus.subscribe(self.on_event)
        return self

    def _worth_telling(self, kind: str, event: DomainEvent) -> bool:
        """Health changes are news when they leave OK or come back to it, not a component's first OK."""
        if not isinstance(event, HealthChanged):
            return True
        component, status = event.component, event.status
        before = self._health.get(component, "ok")
        self._health[component] = status
        return status != before

    def on_event(self, event: DomainEvent) -> None:
        """The bus handler (engine thread): filter, rate-limit and queue; never blocks, never raises."""
        kind = classify(event)
        if kind is None or not self._worth_telling(kind, event) or kind not in self.kinds:
            return
        with self._lock:
            if not self._limiter.allow(kind):
                self.stats.rate_limited += 1
                return
        try:
            self._queue.put_nowait(render(kind, event, self.run_id))
        except queue.Full:
            with self._lock:
                self.stats.dropped += 1
                dropped = self.stats.dropped
            if dropped == 1 or dropped % 100 == 0:
                log.warning("notifier queue full: %d message(s) dropped so far (a target is slow)", dropped)
            return
        with self._lock:
            self.stats.queued += 1
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1

    def _work(self) -> None:
        """The sender thread: one message at a time to every target; failures are counted, never raised."""
        while True:
            message = self._queue.get()
            if message is None:
                return
            for target in self.targets:
                try:
                    ok = target.send(message)
                except Exception as exc:  # a target must never take the notifier down
                    log.debug("notification to %s raised %s", target.label, type(exc).__name__)
                    ok = False
                with self._lock:
                    if ok:
                        self.stats.sent += 1
                    else:
                        self.stats.failed += 1
                    failed = self.stats.failed
                if not ok and (failed == 1 or failed % 100 == 0):
                    log.warning("a %s notification to %s was not delivered (%d failed so far)", message.kind,
                                target.label, failed)  # fmt: skip

    def close(self, timeout: float | None = None) -> NotifierStats:
        """Stop listening, give queued messages up to `timeout` (default drain_s) to go out, report the counts."""
        if self._unsubscribe is not None:
            with contextlib.suppress(ValueError):  # already unsubscribed
                self._unsubscribe()
            self._unsubscribe = None
        wait = self._drain_s if timeout is None else timeout
        deadline = time.monotonic() + wait
        with contextlib.suppress(queue.Full):  # the worker is stuck on a slow target: abandon what is left
            self._queue.put(None, timeout=max(wait, 0.001))
        self._worker.join(max(deadline - time.monotonic(), 0.0))
        s = self.stats
        left = self._queue.qsize()
        if s.queued or s.dropped or s.rate_limited or s.failed:
            log.info(
                "notifications of %s: %d queued, %d sent, %d failed, %d dropped (queue full), %d rate-limited%s",
                self.run_id,
                s.queued,
                s.sent,
                s.failed,
                s.dropped,
                s.rate_limited,
                f", {left} abandoned at close" if left else "",
            )
        return s


def no_notifier() -> None:
    """What closes a run that notifies nobody."""


def attach_notifier(bus: EventBus, run_id: str, settings: NotifySettings | None = None) -> Callable[[], object]:
    """Notify a run's events when PAPERTRADER_NOTIFY_URLS is set; returns the function that closes it."""
    if settings is None:
        try:
            settings = NotifySettings()
        except ValidationError as exc:  # a misspelt kind or a bad number: say which variable, as one line
            problems = "; ".join(f"PAPERTRADER_NOTIFY_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                                 for e in exc.errors())  # fmt: skip
            raise ConfigError(problems) from None
    urls = settings.url_list()
    if not urls:
        return no_notifier
    targets = [AppriseTarget(url, i + 1) for i, url in enumerate(urls)]
    notifier = Notifier(targets, run_id, settings).attach(bus)
    log.info("notifying %s to %s", ",".join(sorted(notifier.kinds)), ", ".join(t.label for t in targets))
    return notifier.close
