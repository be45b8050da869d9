"""The notifier: engine events reach a real local webhook through apprise, filtered, rate-limited, never blocking.

Events are built in the shapes the engine publishes (cycle.py, orchestrator.py, signals/monitor.py); every
delivery goes over HTTP to an http.server on 127.0.0.1 (port 0) through apprise's json:// target.
"""

from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from papertrader.config.notify import NotifySettings, split_urls
from papertrader.core.errors import ConfigError
from papertrader.core.events import EventBus
from papertrader.domain.events import (
    CycleClosed,
    DriftChanged,
    HaltChanged,
    HealthChanged,
    MemberDegraded,
    OrderFilled,
    SignalChanged,
    event_from_record,
)
from papertrader.domain.types import Side
from papertrader.engine.notifier import (
    AppriseTarget,
    Notifier,
    RateLimiter,
    attach_notifier,
    classify,
    no_notifier,
    render,
)
from webhook_support import local_webhook

T = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
FILL = OrderFilled(T, "r:1", 1, "AAPL", Side.BUY, 10, Decimal("171.5"), Decimal("0.35"))
HALT = HaltChanged(T, True, "kill switch: drawdown 8.10% past 8%")
RESET = HaltChanged(T, False, "operator reset")
DATA_DOWN = HealthChanged(T, "data", "degraded", "yahoo: HTTP 503")
SECRET = "not-a-real-token-0042"


def _settings(url: str, **kw: object) -> NotifySettings:
    return NotifySettings(urls=SecretStr(url), **kw)  # type: ignore[arg-type]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_engine_events_map_to_notification_kinds() -> None:
    assert [classify(e) for e in (FILL, HALT, RESET, DATA_DOWN)] == ["fill", "halt", "reset", "data"]
    model = HealthChanged(T, "model.lstm", "degraded", "v3 fell back to v2")
    degraded = MemberDegraded(T, "gru", "1d", ("hit_rate_cusum",), 5.1, 0.0, (1.0, 1.0), 0.55, 0.24, 0.4, 0.26, 80)
    assert classify(model) == "model" and classify(degraded) == "model"
    assert classify(DriftChanged(T, 10, 0.2, 60, (), True)) == "drift"
    assert classify(HealthChanged(T, "database", "degraded", "")) == "health"
    cycle = CycleClosed(T, 1, Decimal(1), Decimal(1), Decimal(0), 0, 0)
    assert classify(cycle) is None and classify(SignalChanged(T, "SPY", "trend", 0.5, 1.0, "")) is None
    # a row of another version (a kind or payload this one cannot type) is no notification, never a crash
    assert classify(event_from_record(T, "monitor.degraded", {"member": "gru"})) is None


def test_messages_say_what_happened() -> None:
    assert render("fill", FILL, "run1").body.startswith("BUY 10 AAPL @ 171.5 (fee 0.35)")
    halt = render("halt", HALT, "run1")
    assert halt.body.startswith("HALTED: kill switch") and halt.level == "failure" and "run1" in halt.title
    drift = DriftChanged(T, 10, 0.2, 60, ({"name": "rsi_14", "psi": 0.41},), False)
    assert render("drift", drift, "r").body.startswith("feature drift: rsi_14 (PSI 0.41)")
    assert render("data", DATA_DOWN, "r").body.startswith("data is degraded: yahoo: HTTP 503")


def test_urls_split_one_per_target_but_keep_commas_inside_a_url() -> None:
    urls = split_urls("tgram://123:ABC/456, discord://id/tok\n mailto://u:p@example.com?to=a@x.com,b@x.com")
    assert urls == ["tgram://123:ABC/456", "discord://id/tok", "mailto://u:p@example.com?to=a@x.com,b@x.com"]


def test_settings_reject_an_unknown_kind_and_never_show_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_NOTIFY_URLS", f"json://127.0.0.1:9/{SECRET}")
    settings = NotifySettings()
    assert settings.url_list() == [f"json://127.0.0.1:9/{SECRET}"]
    assert SECRET not in repr(settings) and SECRET not in settings.model_dump_json()
    with pytest.raises(ValueError, match="unknown notification kind"):
        NotifySettings(kinds="fill,fils")


def test_halt_and_fill_reach_a_local_webhook_and_the_secret_never_reaches_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # apprise and urllib3 print request URLs at DEBUG: they must come out masked
    bus = EventBus()
    with local_webhook() as hook:
        close = attach_notifier(bus, "run1", _settings(hook.url(SECRET)))
        bus.publish(HALT)
        bus.publish(FILL)
        bus.publish(CycleClosed(T, 1, Decimal(1), Decimal(1), Decimal(0), 0, 0))  # not news
        stats = close()
    assert [m.split("\n")[0] for m in hook.messages()] == ["HALTED: kill switch: drawdown 8.10% past 8%",
                                                           "BUY 10 AAPL @ 171.5 (fee 0.35)"]  # fmt: skip
    assert hook.paths == [f"/hook/{SECRET}"] * 2 and hook.received[0]["type"] == "failure"
    assert stats is not None and (stats.sent, stats.failed, stats.dropped) == (2, 0, 0)
    assert any("apprise" in r.name for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_per_kind_filter_and_rate_limit_count_what_they_hold_back() -> None:
    clock = FakeClock()
    with local_webhook() as hook:
        settings = _settings(hook.url(), kinds="fill,halt", rate_limit=2, rate_window_s=60)
        notifier = Notifier([AppriseTarget(hook.url(), 1)], "r", settings, monotonic=clock)
        for _ in range(5):
            notifier.on_event(FILL)
        notifier.on_event(HALT)  # its own kind's budget: not held back by the fills
        notifier.on_event(RESET)  # not a wanted kind
        clock.now = 60.0  # the window has passed: fills may go again
        notifier.on_event(FILL)
        stats = notifier.close()
    assert (stats.queued, stats.rate_limited, stats.sent) == (4, 3, 4)
    assert stats.by_kind == {"fill": 3, "halt": 1}
    assert sum(m.startswith("BUY") for m in hook.messages()) == 3


def test_health_is_news_when_it_leaves_ok_or_returns_not_at_a_components_first_ok() -> None:
    with local_webhook() as hook:
        notifier = Notifier([AppriseTarget(hook.url(), 1)], "r", _settings(hook.url(), rate_limit=10))
        for status in ("ok", "degraded", "degraded", "ok"):
            notifier.on_event(HealthChanged(T, "data", status, "m"))
        notifier.close()
    assert [m.split(":")[0] for m in hook.messages()] == ["data is degraded", "data is ok"]


def test_a_slow_target_never_blocks_the_bus_and_overflow_is_dropped_and_counted() -> None:
    gate = threading.Event()
    bus = EventBus()
    with local_webhook(gate) as hook:
        settings = _settings(hook.url(), rate_limit=1000, queue_size=2)
        notifier = Notifier([AppriseTarget(hook.url(), 1)], "r", settings).attach(bus)
        for _ in range(20):
            bus.publish(HALT)  # returns at once although the webhook answers nothing until the gate opens
        held = notifier.stats.dropped
        gate.set()
        stats = notifier.close(timeout=30)
    assert held >= 17  # at most one in flight and two queued
    assert stats.queued + stats.dropped == 20 and stats.sent == stats.queued == len(hook.received)


def test_a_refusing_target_is_counted_as_failed_and_the_other_target_still_gets_everything() -> None:
    with socket.socket() as s:  # a port nothing listens on once closed: connection refused
        s.bind(("127.0.0.1", 0))
        dead = f"json://127.0.0.1:{s.getsockname()[1]}/hook"
    with local_webhook() as hook:
        targets = [AppriseTarget(dead, 1), AppriseTarget(hook.url(), 2)]
        notifier = Notifier(targets, "r", _settings(hook.url()))
        notifier.on_event(HALT)
        notifier.on_event(RESET)
        stats = notifier.close()
    assert (stats.sent, stats.failed) == (2, 2) and len(hook.received) == 2


def test_without_urls_nothing_is_attached_and_a_bad_url_is_a_clear_error_without_the_url() -> None:
    bus = EventBus()
    assert attach_notifier(bus, "r", NotifySettings(urls=None)) is no_notifier
    with pytest.raises(ConfigError, match=r"target 1 \(nosuchscheme\) is not a URL apprise understands") as err:
        attach_notifier(bus, "r", _settings(f"nosuchscheme://{SECRET}"))
    assert SECRET not in str(err.value)


def test_rate_limiter_window_slides() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock)
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [True, True, False, True]
    clock.now = 10.0
    assert limiter.allow("a")


def test_a_traceback_logged_by_apprise_is_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    AppriseTarget(f"json://127.0.0.1:9/hook/{SECRET}", 1)  # registers the URL's fragments with the mask
    try:
        raise ConnectionError(f"POST http://127.0.0.1:9/hook/{SECRET} refused")
    except ConnectionError:
        logging.getLogger("apprise").exception("send to %s failed", f"127.0.0.1:9/hook/{SECRET}")
    text = "\n".join(logging.Formatter().format(r) for r in caplog.records if r.name == "apprise")
    assert "send to *** failed" in text and "ConnectionError" in text and SECRET not in text


def test_a_misspelt_kind_in_the_environment_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERTRADER_NOTIFY_URLS", "json://127.0.0.1:9/hook")
    monkeypatch.setenv("PAPERTRADER_NOTIFY_KINDS", "halt,fils")
    with pytest.raises(ConfigError, match=r"PAPERTRADER_NOTIFY_KINDS: .*unknown notification kind"):
        attach_notifier(EventBus(), "r")
