"""A simulated live week on real hourly bars: the schedule drives the engine, and the result equals a replay."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from live_support import (
    LIVE_FROM,
    SYMBOLS,
    at,
    live_settings,
    orchestrator,
    prepared_home,
    repository,
    stripped_state,
)

from papertrader.core.clock import SimClock
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.orchestrator import BackgroundRetrainer
from papertrader.engine.runner import RunRequest, run
from papertrader.engine.schedule import day_plan

DAYS = (date(2019, 5, 23), date(2019, 5, 24), date(2019, 5, 28), date(2019, 5, 29))


def test_a_live_week_follows_the_calendar_never_looks_ahead_reports_retrains_and_equals_a_replay(
    tmp_path: Path,
) -> None:
    home, live_bars = prepared_home(tmp_path)
    settings = live_settings(home, retrain_weekdays=(4,), retrain_after_close_minutes=60)
    clock = SimClock(at(LIVE_FROM, 6))
    feed = RecordedFeed(live_bars)
    release = threading.Event()
    trained_at: list[datetime] = []

    def train(data_until: datetime) -> str:
        trained_at.append(clock.now())
        assert release.wait(30), "the test never released the training job"
        return "v-test"

    retrainer = BackgroundRetrainer("lstm", train, lambda _version: [])
    cycles: list[tuple[datetime, datetime, int, bool]] = []
    box: dict[str, object] = {}

    def on_cycle(outcome: CycleOutcome) -> None:
        engine = orch.engine
        assert engine is not None
        # no look-ahead: the newest bar the engine holds closed at or before the moment of the decision
        assert engine.panel.close_times[-1] <= clock.now()
        assert engine.panel.close_times[outcome.k] == outcome.ts
        cycles.append((outcome.ts, clock.now(), outcome.k, retrainer.running))
        if outcome.ts == at(DAYS[2], 10).astimezone(UTC):
            release.set()  # the loop traded while training ran; let it finish
        if outcome.ts == at(DAYS[2], 16).astimezone(UTC):
            retrainer.join(30)
            box["models_before_warm_up"] = dict(orch.result.models)

    orch = orchestrator(settings, feed, clock, days=4, retrainer=retrainer, on_cycle=on_cycle)
    result = orch.run()

    # warm-up before each open; cycles only at in-session bar closes (none on the weekend or Memorial Day)
    assert result.status == "finished"
    assert [w.astimezone(NEW_YORK) for w in result.warm_ups] == [at(d, 9) for d in DAYS]
    expected = [c for d in DAYS for c in day_plan("XNYS", d, "1h", settings.live).bar_closes]  # type: ignore[union-attr]
    assert [c[0] for c in cycles] == expected and len(expected) == 28
    assert all(now >= ts for ts, now, _, _ in cycles)
    assert result.cycles == 28 and result.held_cycles == 0

    # retraining started in Friday's slot on data to the close, the loop went on, the version came in at a warm-up
    assert trained_at == [at(DAYS[1], 17)]
    assert retrainer.started == [at(DAYS[1], 16).astimezone(UTC)]
    assert any(running for ts, _, _, running in cycles if ts.astimezone(NEW_YORK).date() == DAYS[2])
    assert box["models_before_warm_up"] == {}
    assert result.models == {"lstm": "v-test"}

    # end-of-day reports exist after every close
    for d in DAYS:
        assert (orch.report_dir() / f"{d.isoformat()}.json").is_file()
        assert (orch.report_dir() / f"{d.isoformat()}.html").stat().st_size > 10_000
    summary = pd.read_json(orch.report_dir() / f"{DAYS[0].isoformat()}.json", typ="series")
    assert summary["cycles"] == 7 and summary["health"]["data"] == "ok"

    # every fill comes at a later bar than the decision that ordered it
    repo = repository(settings)
    orders = {o.id: o for o in repo.load_orders("live")}
    fills = repo.load_fills("live")
    assert fills, "the strategy should trade in four days of hourly bars"
    assert all(f.ts >= orders[f.order_id].created_at for f in fills)  # a bar opening at or after the decision

    # latency is recorded and exposed with the run
    assert result.latency["cycles"] == 28 and result.latency["p99_ms"] > 0
    stored = repo.get_run("live")
    assert stored is not None and stored.status.value == "finished"
    assert stored.summary is not None and stored.summary["cycle_latency"]["cycles"] == 28

    # the live loop and a replay of the same bars are the same engine
    start = datetime(2019, 5, 23, tzinfo=NEW_YORK)
    run(settings, RunRequest(SYMBOLS, "1h", start, start + timedelta(days=7), mode="replay", run_id="replay"))
    assert stripped_state(repo, "live") == stripped_state(repo, "replay")
