"""compare's rows: stable JSON keys, the gate only on model members, the kill-switch note, one percent format.

The curves are synthetic (a unit test of the table code); the real rows are pinned by
tests/integration/signals/test_compare_one_engine_path.py.
"""

from __future__ import annotations

import numpy as np

from papertrader.cli.board import display_paired, display_rows
from papertrader.engine.compare import (
    BOARD,
    TREND_BASELINE,
    VOL_MATCHED,
    Line,
    compare_table,
    halt_note,
    paired_tests,
    with_statistics,
)
from papertrader.models.gate import GateResult

KEYS = ["name", "total_return", "sharpe", "sharpe_low", "sharpe_high", "max_drawdown", "exposure", "trades", "fees"]


def _line(name: str, seed: int, **kw: object) -> Line:
    rets = np.random.default_rng(seed).normal(0.0004, 0.01, 252)
    equity = 100_000 * np.cumprod(np.concatenate([[1.0], 1 + rets]))
    metrics = {
        "total_return": equity[-1] / equity[0] - 1,
        "sharpe": float(rets.mean() / rets.std(ddof=1) * np.sqrt(252)),
        "max_drawdown": -0.1234,
        "exposure": 0.0567,
        "trades": 10,
        "fees_paid": 12.345,
    }
    return Line(name, equity, metrics, **kw)  # type: ignore[arg-type]


def _lines() -> list[Line]:
    gate = GateResult(False, 0.01, 0.70, 0.69, 0.5, 0.52, 0.7, 0.01, 300, "predictions do not move").to_dict()
    return with_statistics(
        [
            _line(BOARD, 1, note="halted by the kill switch"),
            _line("lstm", 2, has_gate=True, gate=gate),
            _line("gru", 3, has_gate=True, gate=None),
            _line(TREND_BASELINE, 4),
            _line(VOL_MATCHED, 5),
        ],
        252.0,
    )


def test_rows_have_stable_keys_a_sharpe_interval_and_the_gate_only_on_model_members() -> None:
    rows = {r["name"]: r for r in compare_table(_lines())}
    for row in rows.values():
        assert list(row)[: len(KEYS)] == KEYS and "note" in row
        assert row["sharpe_low"] < row["sharpe"] < row["sharpe_high"]
    assert rows["lstm"]["gate"]["passed"] is False and rows["lstm"]["gate"]["reason"] == "predictions do not move"
    assert rows["gru"]["gate"] is None  # a version trained before the gate
    assert "gate" not in rows[BOARD] and "gate" not in rows[TREND_BASELINE]
    assert rows[BOARD]["note"] == "halted by the kill switch" and rows["lstm"]["note"] is None


def test_the_board_alone_carries_paired_tests_against_both_baselines() -> None:
    lines = _lines()
    tests = paired_tests(lines)
    assert [(t["a"], t["b"]) for t in tests] == [(BOARD, TREND_BASELINE), (BOARD, VOL_MATCHED)]
    assert all(0 < t["p_value"] <= 1 and t["low"] <= t["difference"] <= t["high"] for t in tests)
    shown = display_paired(tests)
    assert shown[0]["board vs"] == TREND_BASELINE and shown[0]["p-value"].startswith("0.")


def test_every_percentage_is_shown_with_two_decimals() -> None:
    shown = {r["strategy"]: r for r in display_rows(compare_table(_lines()))}
    assert shown["lstm"]["max DD"] == "-12.34%" and shown["lstm"]["exposure"] == "5.67%"
    assert shown["lstm"]["return"].endswith("%") and len(shown["lstm"]["return"].split(".")[1]) == 3
    assert shown["lstm"]["gate"].startswith("failed") and shown["gru"]["gate"] == "no record"
    assert shown["lstm"]["fees"] == "$12.35"


def test_a_kill_switch_halt_becomes_a_note() -> None:
    assert halt_note({"kill_switch": {"fired": False, "drawdown": None, "limit": 0.2}}) is None
    note = halt_note({"kill_switch": {"fired": True, "drawdown": -0.2134, "limit": 0.2}})
    assert note is not None and "kill switch" in note and "-21.34%" in note and "20.00%" in note


def test_the_html_page_shows_the_same_rows_columns_and_paired_tests() -> None:
    import pandas as pd

    from papertrader.cli.board import compare_html

    lines = _lines()
    ts = pd.date_range("2011-06-01", periods=253, freq="B", tz="UTC")
    page = compare_html(ts, lines, compare_table(lines))
    for text in (VOL_MATCHED, "Sharpe 95% CI", "p-value", "-12.34%", "5.67%", "failed: predictions do not move"):
        assert text in page
    assert "ex-post" in page and "data:image/png;base64" in page
