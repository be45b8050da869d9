"""The fake vendor server serves the recorded bodies, and its generated bodies look like the recorded ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_vendors import RECORDINGS, FakeVendors, yahoo_chart
from vendor_rig import PREMIUM, needs_shared

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.config.questrade import QuestradeSettings
from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage import AlphaVantageClient
from papertrader.data.adapters.alphavantage.keys import KeyManager, Purpose, Tier, make_key
from papertrader.data.adapters.questrade import QuestradeClient
from papertrader.data.adapters.yahoo import YahooChartClient
from papertrader.persistence.db import make_engine

pytestmark = needs_shared
AAPL_2020 = RECORDINGS / "yahoo" / "chart-AAPL-2020-08-31-to-2020-11-07.json"
RECORDED_AT = datetime(2025, 2, 20, 12, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeVendors]:
    with FakeVendors(SimClock(RECORDED_AT)) as server:
        yield server


def _recorded_result() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(AAPL_2020.read_text())["response"]["bodyJson"]["chart"]["result"][0]
    return result


def test_a_request_matching_a_recording_gets_the_recorded_yahoo_body(fake: FakeVendors) -> None:
    client = YahooChartClient(YahooSettings(_env_file=None, url=fake.yahoo_url), clock=SimClock(RECORDED_AT))
    payload = client.get_chart(
        "AAPL",
        interval="1d",
        period1=datetime.fromtimestamp(1598832000, UTC),
        period2=datetime.fromtimestamp(1604707200, UTC),
    )
    recorded = _recorded_result()
    assert payload.ts.tolist() == recorded["timestamp"]
    assert payload.close.tolist() == recorded["indicators"]["quote"][0]["close"]


def test_generated_yahoo_bodies_match_the_recording_they_imitate() -> None:
    recorded = _recorded_result()
    generated = yahoo_chart("AAPL", 1598832000, 1604707200, RECORDED_AT)
    assert generated is not None
    result = generated["chart"]["result"][0]
    assert result["timestamp"] == recorded["timestamp"]
    assert result["meta"]["exchangeTimezoneName"] == "America/New_York"
    rec_q, gen_q = recorded["indicators"]["quote"][0], result["indicators"]["quote"][0]
    np.testing.assert_allclose(gen_q["close"], rec_q["close"], rtol=1e-4)
    assert result["events"]["splits"].keys() == recorded["events"]["splits"].keys()
    assert result["events"]["dividends"].keys() == recorded["events"]["dividends"].keys()
    # adjclose differs by one constant: dividends after the shared data ends (2021) are unknown to the fake
    ratio = np.array(recorded["indicators"]["adjclose"][0]["adjclose"]) / np.array(
        result["indicators"]["adjclose"][0]["adjclose"]
    )
    assert np.ptp(ratio) / ratio.mean() < 1e-4  # float32 prints and rounding, no dividend step


def test_questrade_and_alpha_vantage_recordings_are_served_through_the_real_clients(
    fake: FakeVendors, tmp_path: Path
) -> None:
    clock = SimClock(RECORDED_AT)
    qt = QuestradeClient(
        QuestradeSettings(
            _env_file=None,
            login_url=fake.questrade_login_url,
            refresh_token=fake.questrade_refresh,
            token_file=tmp_path / "qt.json",
        ),
        clock=clock,
    )
    recorded_markets = json.loads((RECORDINGS / "questrade" / "markets.json").read_text())["markets"]
    assert [m.name for m in qt.markets()] == [m["name"] for m in recorded_markets]

    settings = AlphaVantageSettings(_env_file=None, url=fake.av_url)
    keys = KeyManager(
        [make_key(PREMIUM, Tier.PREMIUM, Purpose.MARKET, settings)],
        make_engine(f"sqlite:///{tmp_path / 'keys.db'}"),
        clock=clock,
        settings=settings,
    )
    quote = AlphaVantageClient(keys, settings, clock=clock).global_quote("MSFT", entitlement="none")
    assert quote["price"].iloc[0] == pytest.approx(112.13)  # the recorded MSFT quote
