"""The Risk view's sector exposure and the drawdown guard's alerts, as the dashboard shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from papertrader.api.schemas import PositionView
from papertrader.api.views.alerts import alert_view
from papertrader.api.views.risk import sector_buckets
from papertrader.config.settings import RiskSettings
from papertrader.domain.events import event_from_record

T = datetime(2020, 3, 16, 13, 30, tzinfo=UTC)


def _position(symbol: str, weight: float) -> PositionView:
    return PositionView(
        symbol=symbol,
        qty=10,
        avg_price=100.0,
        mark=100.0,
        market_value=weight * 1e5,
        unrealized_pnl=0.0,
        realized_pnl=0.0,
        weight=weight,
    )


def test_sector_exposure_groups_held_symbols_by_the_universe_and_explicitsector_buckets(tmp_path: Path) -> None:
    held = [_position("AAPL", 0.25), _position("MSFT", 0.2), _position("BAC", -0.1), _position("SPY", 0.3)]
    limits = RiskSettings(sectors={"BAC": "Banks"})
    rows = {r.name: r for r in sector_buckets(limits, held, tmp_path)}
    assert set(rows) == {"Information Technology", "Banks"}, "ETFs have no sector; explicit sectors win"
    assert rows["Information Technology"].symbols == ["AAPL", "MSFT"]
    assert abs(rows["Information Technology"].weight - 0.45) < 1e-12 and rows["Banks"].weight == 0.1
    assert all(r.cap == limits.max_sector_fraction for r in rows.values())
    only_explicit = sector_buckets(RiskSettings(sectors={"BAC": "Banks"}, sectors_from_universe=False), held, tmp_path)
    assert [r.name for r in only_explicit] == ["Banks"]


def test_guard_exits_and_gaps_read_as_alerts_with_their_cause() -> None:
    exit_ = alert_view(
        event_from_record(
            T,
            "risk.drawdown_exit",
            {"symbol": "SPY", "cause": "intrabar", "qty": 10, "level": 250.0, "price": "249.9", "floor": 92000.0},
        )
    )
    assert exit_.severity == "warning" and "intrabar" in exit_.message and "92,000.00" in exit_.message
    gap = alert_view(
        event_from_record(
            T, "risk.gap_through", {"gap": 0.11, "allowance": 0.05, "loss": 1.0, "symbols": {"SPY": -0.11}}
        )
    )
    assert gap.severity == "critical" and "SPY -11.0%" in gap.message and "11.0%" in gap.message
