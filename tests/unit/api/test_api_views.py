"""Read routes over a stored run: typed bodies, numbers that agree with the ledger, honest empty states."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import LOCAL, auth, etf_bars, make_app, open_repo, record_run, shared_run
from fastapi.testclient import TestClient
from pydantic import BaseModel

from papertrader.api import create_app
from papertrader.api.app import PREFIX
from papertrader.api.schemas import (
    ConfigView,
    DailyPnlView,
    EquitySeries,
    FillsView,
    OrdersView,
    PortfolioView,
    PositionsView,
    RiskView,
    RunDetail,
    RunList,
    SignalsView,
    TradesView,
)
from papertrader.api.views.config import mask_secrets
from papertrader.api.views.signals import model_kind
from papertrader.config.settings import Settings

ROUTES: dict[str, type[BaseModel]] = {
    "/runs": RunList,
    "/runs/run-a": RunDetail,
    "/portfolio": PortfolioView,
    "/positions": PositionsView,
    "/orders": OrdersView,
    "/fills": FillsView,
    "/trades": TradesView,
    "/equity": EquitySeries,
    "/pnl/daily": DailyPnlView,
    "/signals": SignalsView,
    "/risk": RiskView,
    "/config": ConfigView,
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(make_app(shared_run())) as c:
        yield c


def _get(client: TestClient, path: str) -> dict:  # type: ignore[type-arg]
    response = client.get(PREFIX + path, headers=auth())
    assert response.status_code == 200, (path, response.text)
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_read_route_returns_its_typed_model(client: TestClient, path: str) -> None:
    body = _get(client, path)
    ROUTES[path].model_validate(body)


def test_the_portfolio_is_the_ledger_at_the_last_committed_cycle(client: TestClient) -> None:
    run = shared_run()
    body = PortfolioView.model_validate(_get(client, "/portfolio"))
    valuation = run.engine.ledger.value(run.engine.marks())
    assert body.run_id == "run-a" and body.source == "stored" and body.status == "finished"
    assert body.equity == pytest.approx(float(valuation.equity))
    assert body.cash == pytest.approx(float(valuation.cash))
    assert body.cycles_done == 700 and body.cycle == 699
    assert body.total_pnl == pytest.approx(body.equity - body.initial_cash)
    assert body.max_drawdown <= body.drawdown <= 0
    assert body.fees_paid > 0


def test_positions_carry_marks_only_when_the_lake_has_prices(client: TestClient) -> None:
    body = PositionsView.model_validate(_get(client, "/positions"))
    held = {s: p for s, p in shared_run().engine.ledger.positions.items() if p.qty}
    assert {p.symbol for p in body.positions} == set(held)
    for p in body.positions:
        assert p.qty == held[p.symbol].qty
        assert p.mark is None and p.market_value is None, "this home has no lake: no price is invented"


def test_trade_log_realised_pnl_and_fees_match_the_ledger(client: TestClient) -> None:
    body = TradesView.model_validate(_get(client, "/trades?limit=10000"))
    realised = float(shared_run().engine.ledger.realized_pnl)
    fills = shared_run().repo.load_fills("run-a")
    assert body.total == len(fills) == len(body.trades)
    assert body.fees_total == pytest.approx(sum(float(f.fee) for f in fills))
    assert body.realized_pnl_total == pytest.approx(realised, abs=0.01)
    assert [t.seq for t in body.trades] == sorted((t.seq for t in body.trades), reverse=True)


def test_limits_cut_lists_newest_first(client: TestClient) -> None:
    fills = FillsView.model_validate(_get(client, "/fills?limit=3"))
    assert len(fills.fills) == 3 and fills.total > 3
    assert fills.fills[0].seq == fills.total
    orders = OrdersView.model_validate(_get(client, "/orders?limit=2"))
    assert len(orders.orders) == 2


def test_daily_pnl_adds_up_to_the_total_pnl(client: TestClient) -> None:
    days = DailyPnlView.model_validate(_get(client, "/pnl/daily")).days
    port = PortfolioView.model_validate(_get(client, "/portfolio"))
    assert len(days) == 700
    assert sum(d.pnl for d in days) == pytest.approx(port.total_pnl, abs=1e-6)


def test_equity_series_has_drawdown_and_says_why_the_benchmark_is_missing(client: TestClient) -> None:
    series = EquitySeries.model_validate(_get(client, "/equity"))
    assert len(series.points) == 700
    assert all(p.drawdown <= 0 for p in series.points)
    assert min(p.drawdown for p in series.points) == pytest.approx(series.max_drawdown)
    assert series.benchmark_name is None and series.benchmark_note and "lake" in series.benchmark_note
    thinned = EquitySeries.model_validate(_get(client, "/equity?max_points=50"))
    assert len(thinned.points) <= 50 and thinned.points[-1] == series.points[-1]


def test_signals_group_by_symbol_and_model_and_say_there_is_no_ensemble_yet(client: TestClient) -> None:
    body = SignalsView.model_validate(_get(client, "/signals"))
    assert body.decision_source == "trend_sma_20_50" and body.ensemble_source is None
    assert [m.model for m in body.models] == ["baseline"] and body.models[0].drives_orders
    assert {s.symbol for s in body.symbols} == {"EEM", "IWM", "QQQ", "SPY"}
    latest = [m for s in body.symbols for m in s.models]
    assert latest and all(m.rationale for m in latest)
    assert body.note and "ensemble" in body.note
    only = SignalsView.model_validate(_get(client, "/signals?symbol=spy"))
    assert {s.symbol for s in only.symbols} == {"SPY"}


def test_model_kinds_are_recognised_from_source_names() -> None:
    assert model_kind("trend_sma_20_50") == "baseline"
    assert model_kind("lstm_v3") == "lstm"
    assert model_kind("gru-1h") == "gru"
    assert model_kind("ppo_agent") == "rl"
    assert model_kind("ensemble") == "ensemble"
    assert model_kind("mystery") == "other"


def test_risk_reports_limits_from_the_runs_own_settings_and_alerts(client: TestClient) -> None:
    body = RiskView.model_validate(_get(client, "/risk"))
    risk = Settings().risk
    assert body.limits.max_position_fraction == risk.max_position_fraction
    assert body.limits.settings["max_gross_exposure"] == risk.max_gross_exposure
    assert body.alerts == sorted(body.alerts, key=lambda a: a.ts, reverse=True)
    assert sum(body.alert_counts.values()) >= len(body.alerts)
    assert all(a.message for a in body.alerts)


def test_run_detail_and_config_mask_secrets(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", "SUPERSECRETKEY123")
    response = client.get(f"{PREFIX}/config", headers=auth())
    assert "SUPERSECRETKEY123" not in response.text
    body = ConfigView.model_validate(response.json())
    assert body.vendors["alphavantage_credentials"]["key_premium"] == "***"  # type: ignore[index,call-overload]
    assert "vendors.alphavantage_credentials.key_premium" in body.masked


def test_masking_hides_secret_names_and_url_passwords_but_keeps_unset_ones_visible() -> None:
    masked: list[str] = []
    out = mask_secrets(
        {
            "api_key": "abc",
            "nested": {"refresh_token": "r", "Password": "p", "client_secret": None},
            "database_url": "postgresql://bob:hunter2@db/papertrader",
            "plain": "keep",
            "list": [{"token": "x"}],
        },
        masked=masked,
    )
    assert out["api_key"] == "***" and out["nested"] == {
        "refresh_token": "***",
        "Password": "***",
        "client_secret": None,
    }
    assert out["database_url"] == "postgresql://bob:***@db/papertrader" and out["plain"] == "keep"
    assert out["list"] == [{"token": "***"}]
    assert set(masked) == {"api_key", "nested.refresh_token", "nested.Password", "database_url", "list[0].token"}


def test_an_unknown_run_is_404_with_a_sentence(client: TestClient) -> None:
    for path in ("/portfolio?run=nope", "/runs/nope", "/equity?run=nope", "/config?run=nope"):
        response = client.get(PREFIX + path, headers=auth())
        assert response.status_code == 404
        assert "runs" in response.json()["detail"]


def test_with_no_runs_data_routes_say_so_and_health_is_idle(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with TestClient(create_app(settings, open_repo(settings), token="t" * 43), base_url=LOCAL) as c:
        response = c.get(f"{PREFIX}/portfolio", headers=auth())
        assert response.status_code == 404 and "papertrader demo" in response.json()["detail"]
        assert c.get(f"{PREFIX}/runs", headers=auth()).json() == {"live_run_id": None, "runs": []}
        assert c.get(f"{PREFIX}/health").json()["status"] == "idle"
        assert c.get(f"{PREFIX}/config", headers=auth()).json()["run_id"] is None


def test_a_run_with_no_cycles_shows_initial_cash_and_empty_series(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2000-01-01"), 0, run_id="empty", finish=False)
    with TestClient(make_app(run)) as c:
        port = PortfolioView.model_validate(_get(c, "/portfolio"))
        assert port.as_of is None and port.cycle is None and port.cycles_done == 0
        assert port.equity == port.cash == port.initial_cash and port.open_positions == 0
        assert _get(c, "/equity")["points"] == [] and _get(c, "/pnl/daily")["days"] == []
        signals = SignalsView.model_validate(_get(c, "/signals"))
        assert signals.models == [] and signals.note and "no signals" in signals.note


def test_no_response_carries_nan_or_infinity(client: TestClient) -> None:
    for path in ROUTES:
        text = client.get(PREFIX + path, headers=auth()).text
        assert "NaN" not in text and "Infinity" not in text, path
    assert not math.isnan(PortfolioView.model_validate(_get(client, "/portfolio")).gross_exposure)


def test_the_dashboard_page_is_served_without_a_token_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "papertrader" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert client.get(f"{PREFIX}/health").headers["cache-control"] == "no-store"
