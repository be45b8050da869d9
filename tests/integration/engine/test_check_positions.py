"""`papertrader check` audits the positions table SQL readers see (qty, avg_price, realized_pnl) against the
ledger rebuilt from the event log: a tampered quantity fails with a sentence naming the symbol."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import RiskSettings, Settings
from papertrader.domain.events import OrderFilled
from papertrader.engine.check import check_run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository
from support import load_shared_daily, record_run

RUN = "audited"


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Settings, RunRepository]:
    """A real 400-cycle run of the trend baseline on SPY and QQQ, committed cycle by cycle."""
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "QQQ")], ignore_index=True)
    bars = bars[bars["ts"] < pd.Timestamp("2000-01-01", tz="UTC")].reset_index(drop=True)
    # sized as before the drawdown budget (issue 16), whose path ends this window flat: the audit needs open positions
    settings = Settings(home=tmp_path, risk=RiskSettings(drawdown_budget=False))
    repo, _ = record_run(settings, bars, 400, RUN, finish=False, every=50)
    return settings, repo


def _tamper(settings: Settings, sql: str) -> None:
    with make_engine(settings.db_url).begin() as conn:
        conn.execute(text(sql), {"run": RUN})


def _open_symbol(repo: RunRepository) -> str:
    return next(p.symbol for p in repo.load_positions(RUN) if p.qty != 0)


def test_an_untouched_run_passes_including_its_flat_positions(stored: tuple[Settings, RunRepository]) -> None:
    _, repo = stored
    report = check_run(repo, RUN)
    assert report.ok, report.problems
    assert report.fills > 0 and any(p.qty != 0 for p in repo.load_positions(RUN))
    assert any(p.qty == 0 and p.realized_pnl for p in repo.load_positions(RUN)), "a closed position is audited too"


@pytest.mark.parametrize(
    ("column", "change", "said"),
    [
        ("qty", "qty + 100", "qty"),
        ("avg_price", "'1.5'", "avg_price"),
        ("realized_pnl", "'123456.78'", "realized_pnl"),
    ],
)
def test_a_tampered_positions_column_fails_the_check(
    stored: tuple[Settings, RunRepository], column: str, change: str, said: str
) -> None:
    settings, repo = stored
    symbol = _open_symbol(repo)
    _tamper(settings, f"UPDATE positions SET {column} = {change} WHERE run_id = :run AND symbol = '{symbol}'")
    report = check_run(repo, RUN)
    assert not report.ok
    assert any(symbol in p and said in p and "event log" in p for p in report.problems), report.problems


def test_a_deleted_position_row_fails_the_check(stored: tuple[Settings, RunRepository]) -> None:
    settings, repo = stored
    symbol = _open_symbol(repo)
    _tamper(settings, f"DELETE FROM positions WHERE run_id = :run AND symbol = '{symbol}'")
    assert any(f"no row for {symbol}" in p for p in check_run(repo, RUN).problems)


def test_the_cli_exits_1_and_names_the_tampered_symbol(
    stored: tuple[Settings, RunRepository], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, repo = stored
    symbol = _open_symbol(repo)
    _tamper(settings, f"UPDATE positions SET qty = qty + 7 WHERE run_id = :run AND symbol = '{symbol}'")
    monkeypatch.setenv("PAPERTRADER_HOME", str(settings.home))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["check", RUN])
    assert result.exit_code == 1
    assert "mismatch" in result.output and f"{symbol} qty" in result.output


def test_the_event_log_reads_back_typed_and_a_fill_row_that_cannot_be_read_is_a_mismatch_not_a_crash(
    stored: tuple[Settings, RunRepository],
) -> None:
    settings, repo = stored
    assert all(isinstance(e, OrderFilled) for e in repo.load_events(RUN, ["fill"]))
    _tamper(
        settings,
        "UPDATE events SET payload = '{\"order_id\": \"x\"}' WHERE run_id = :run AND kind = 'fill' AND seq = "
        "(SELECT MIN(seq) FROM events WHERE run_id = :run AND kind = 'fill')",
    )
    report = check_run(repo, RUN)
    assert not report.ok
    assert any("fill event" in p and "could not be read" in p for p in report.problems), report.problems
