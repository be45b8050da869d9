"""The tear sheet folds long lists (risk events, drift scores, fills) behind summaries that say what they mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from papertrader.domain.events import DomainEvent, DriftChanged, event_from_record
from papertrader.reports.attribution import drift_section
from papertrader.reports.tearsheet import TearSheetInput, render

START = datetime(2020, 1, 2, 21, tzinfo=UTC)


def _sheet(events: list[DomainEvent]) -> str:
    """Render synthetic curves (a rendering test, not a result) with the given events."""
    index = pd.date_range("2020-01-02 21:00", periods=30, freq="B", tz="UTC")
    equity = pd.Series(np.linspace(100_000, 101_000, 30), index=index)
    return render(
        TearSheetInput(
            run_id="synthetic",
            title="synthetic",
            equity=equity,
            exposure=pd.Series(0.5, index=index),
            benchmark=equity,
            benchmark_exposure=pd.Series(1.0, index=index),
            closes=pd.DataFrame({"AAA": np.linspace(10, 11, 30)}, index=index),
            fills=(),
            events=events,
            periods_per_year=252,
        )
    )


def test_risk_events_are_summarised_by_kind_and_rule_and_the_list_is_folded() -> None:
    cut = {"symbol": "AAA", "rule": "vol_target", "requested_weight": 0.2, "allowed_weight": 0.1}
    raised = {"symbol": "AAA", "rule": "vol_target", "requested_weight": 0.0027, "allowed_weight": 0.0064}
    events = [event_from_record(START + timedelta(days=i), "order.reduced", cut) for i in range(200)]
    events += [event_from_record(START, "order.resized", raised)]
    page = _sheet(events)
    assert "201 risk events, by kind and rule" in page
    assert "<td>order.reduced</td><td>vol_target (cut)</td><td>200</td>" in page
    assert "<td>order.resized</td><td>vol_target (raised)</td><td>1</td>" in page
    assert "<details><summary>Every event (all 201, oldest first)</summary>" in page
    assert "raised from 0.27% to 0.64%" in page and "cut from 0.27%" not in page
    assert "2020-01-02 16:00 ET" in page  # the exchange's clock, labelled


def test_drift_scores_are_folded_behind_a_sentence_that_explains_psi() -> None:
    drifts = [
        DriftChanged(START, 40, 0.2, 60, ({"name": "rsi_14", "psi": 0.31}, {"name": "ret_1", "psi": 0.05}), False),
        DriftChanged(START + timedelta(days=5), 45, 0.2, 60, ({"name": "ret_1", "psi": 0.12},), False),
    ]
    section = drift_section(drifts)
    assert section.startswith("<p>Feature drift: 2 reports on 2 features; 1 shifted a lot")
    assert "most shifted: rsi_14 0.31, ret_1 0.12" in section
    assert "population stability index" in section
    assert section.index("<details>") < section.index("rsi_14 PSI 0.31")


def test_a_live_runs_uptime_and_critical_failures_get_their_own_section_escaped() -> None:
    from papertrader.reports.tearsheet import live_score_section

    score = {
        "scheduled": 400,
        "up": 399,
        "uptime": 399 / 400,
        "missed_closes": 1,
        "critical_failures": ["1 scheduled bar close(s) had no cycle", "<script>x</script>"],
    }
    html = live_score_section(score)
    assert "99.75%" in html and "399 / 400" in html and "above 99.50%" in html
    assert "1 scheduled bar close(s) had no cycle" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "n/a" in live_score_section({"scheduled": 0, "up": 0, "uptime": None, "critical_failures": []})
    assert "Live uptime" not in _sheet([])  # a replay's tear sheet has no such section
