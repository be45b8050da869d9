"""The client end to end over httpx.MockTransport with the real key manager on SQLite and a SimClock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from av_fake import FakeAlphaVantage, bodies, json_reply, keyfixtures

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import SimClock
from papertrader.core.errors import AuthError, DataError, QuotaExhaustedError, TemporaryError
from papertrader.data.adapters.alphavantage import AlphaVantageClient, AlphaVantageSource, PremiumEndpointError
from papertrader.data.adapters.alphavantage.keys import ApiKey, KeyManager, KeyTierError, Purpose, Tier, make_key
from papertrader.data.ports import BarSource, FundamentalsSource, MacroSource, NewsSource
from papertrader.data.store import Lake

PREMIUM = keyfixtures.PREMIUM_SECRET
FUND = keyfixtures.FUND_SECRET
MACRO = keyfixtures.MACRO_SECRET
SENT = keyfixtures.SENT_SECRET


class Rig:
    """A client wired to a fake vendor, real key manager (file SQLite), SimClock and recorded sleeps."""

    def __init__(
        self, tmp_path: Path, keys: list[ApiKey] | None = None, *, now: str = "2024-10-30 15:00", **overrides: Any
    ) -> None:
        self.settings: AlphaVantageSettings = keyfixtures.av_settings(**overrides)
        self.clock: SimClock = keyfixtures.sim_clock(now)
        self.sleep = keyfixtures.SimSleep(self.clock)
        self.fake = FakeAlphaVantage()
        self.keys = KeyManager(
            keys if keys is not None else keyfixtures.standard_keys(self.settings),
            keyfixtures.db_engine(tmp_path),
            clock=self.clock,
            settings=self.settings,
            jitter=lambda: 0.5,
            sleep=self.sleep,
        )
        self.client = AlphaVantageClient(
            self.keys, self.settings, clock=self.clock, transport=self.fake.transport(), sleep=self.sleep
        )
        self.source = AlphaVantageSource(self.client, clock=self.clock)


def _free(secret: str, purpose: Purpose, budget: int = 25) -> ApiKey:
    return make_key(secret, Tier.FREE, purpose, keyfixtures.av_settings(free_min_spacing_s=0), budget)


def test_a_premium_key_gets_intraday_with_the_delayed_entitlement(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    bars = rig.client.intraday("IBM", "5min")
    (request,) = rig.fake.requests
    params = request.url.params
    assert params["apikey"] == PREMIUM and params["function"] == "TIME_SERIES_INTRADAY"
    assert params["interval"] == "5min" and params["entitlement"] == "delayed"
    assert params["extended_hours"] == "true" and params["outputsize"] == "compact"
    assert str(request.url).startswith("https://www.alphavantage.co/query?")
    assert len(bars) == 3 and bars["ts"].iloc[0] == pd.Timestamp("2024-10-29 08:00", tz="UTC")


def test_history_months_are_asked_without_entitlement(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.client.intraday("IBM", "5min", month="2019-03", outputsize="full")
    params = rig.fake.requests[0].url.params
    assert params["month"] == "2019-03" and "entitlement" not in params


def test_intraday_without_a_premium_key_fails_before_any_request(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.FUNDAMENTALS)])
    with pytest.raises(KeyTierError):
        rig.client.intraday("IBM")
    assert rig.fake.requests == []


def test_a_fundamentals_request_goes_to_the_fundamentals_key(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    frame = rig.client.overview("IBM")
    assert rig.fake.sent(FUND) == 1 and len(rig.fake.requests) == 1
    assert frame["pe_ratio"].iloc[0] == 23.5
    assert frame["available_at"].iloc[0] == pd.Timestamp(rig.clock.now())


def test_a_daily_cap_answer_moves_the_request_to_another_free_key_and_retires_the_first(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.fake.script(FUND, json_reply(bodies.DAILY_CAP))
    frame = rig.client.earnings("IBM")
    assert len(frame) == 3
    assert rig.fake.sent(FUND) == 1 and rig.fake.sent(MACRO) == 1
    status = {row.key: row for row in rig.keys.status()}
    assert status["FU…02"].retired_reason == "daily cap answered" and status["FU…02"].remaining == 0
    rig.client.overview("IBM")  # the retired key is not asked again today
    assert rig.fake.sent(FUND) == 1


def test_an_exhausted_fundamentals_budget_moves_to_another_free_key_without_sending(tmp_path: Path) -> None:
    keys = [_free(FUND, Purpose.FUNDAMENTALS, budget=2), _free(MACRO, Purpose.MACRO, budget=2)]
    rig = Rig(tmp_path, keys)
    for _ in range(4):
        rig.client.overview("IBM")
    assert (rig.fake.sent(FUND), rig.fake.sent(MACRO)) == (2, 2)
    with pytest.raises(QuotaExhaustedError) as info:
        rig.client.overview("IBM")
    assert len(rig.fake.requests) == 4
    assert info.value.available_at == datetime(2024, 10, 31, 4, 0, tzinfo=UTC)


def test_a_burst_answer_backs_off_with_jitter_and_retries(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(MACRO, Purpose.MACRO)])
    rig.fake.script(MACRO, json_reply(bodies.BURST))
    series = rig.client.cpi()
    assert len(series) == 3 and rig.fake.sent(MACRO) == 2
    assert rig.sleep.calls == [1.5]  # base 2 s * (0.5 + 0.5 * jitter 0.5)


def test_a_briefly_throttled_key_is_waited_for_rather_than_spending_a_backup(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.FUNDAMENTALS), _free(MACRO, Purpose.MACRO)])
    rig.fake.script(FUND, json_reply(bodies.BURST))
    rig.client.overview("IBM")
    assert rig.fake.functions(FUND) == ["OVERVIEW", "OVERVIEW"] and rig.fake.sent(MACRO) == 0
    assert rig.sleep.calls == [1.5]


def test_a_key_backing_off_longer_than_the_failover_wait_hands_the_retry_to_another_key(tmp_path: Path) -> None:
    keys = [_free(FUND, Purpose.FUNDAMENTALS), _free(MACRO, Purpose.MACRO)]
    rig = Rig(tmp_path, keys, failover_wait_s=1.0)
    rig.fake.script(FUND, json_reply(bodies.BURST))
    rig.client.overview("IBM")
    assert rig.fake.functions(FUND) == ["OVERVIEW"] and rig.fake.functions(MACRO) == ["OVERVIEW"]
    assert rig.sleep.calls == []


def test_http_429_honours_retry_after(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(MACRO, Purpose.MACRO)])
    rig.fake.script(MACRO, httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "12"}))
    rig.client.wti()
    assert rig.sleep.calls == [12.0]


def test_server_errors_html_and_truncation_are_retried_then_succeed(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(MACRO, Purpose.MACRO)])
    rig.fake.script(
        MACRO,
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(200, content=bodies.HTML_PAGE, headers={"content-type": "text/html"}),
        httpx.Response(
            200, content=b'{"name": "CPI", "data": [{"date": "2024-', headers={"content-type": "application/json"}
        ),
    )
    assert len(rig.client.cpi()) == 3
    assert rig.fake.sent(MACRO) == 4
    assert rig.sleep.calls == [1.5, 3.0, 6.0]


def test_timeouts_are_retried_then_raised_as_temporary_errors_and_every_send_counts(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(MACRO, Purpose.MACRO)], max_retries=2)
    for _ in range(3):
        rig.fake.script(MACRO, httpx.ReadTimeout("timed out"))
    with pytest.raises(TemporaryError, match="timed out"):
        rig.client.cpi()
    assert rig.fake.sent(MACRO) == 3
    assert rig.keys.status()[0].used == 3


def test_connection_errors_are_temporary_errors(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(MACRO, Purpose.MACRO)], max_retries=0)
    rig.fake.script(MACRO, httpx.ConnectError("connection refused"))
    with pytest.raises(TemporaryError, match="ConnectError"):
        rig.client.cpi()


def test_a_bad_call_is_a_data_error_and_is_not_retried(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.fake.script(PREMIUM, json_reply(bodies.BAD_CALL))
    with pytest.raises(DataError, match="Invalid API call"):
        rig.client.daily("NOPE")
    assert len(rig.fake.requests) == 1


def test_a_premium_only_answer_says_the_key_tier_is_insufficient(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.ANY)])
    rig.fake.script(FUND, json_reply(bodies.PREMIUM_ONLY))
    with pytest.raises(PremiumEndpointError, match="key tier is insufficient"):
        rig.client.global_quote("IBM")
    assert "entitlement" not in rig.fake.requests[0].url.params  # never sent with a free key


def test_a_bad_key_with_no_other_key_is_an_auth_error(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(SENT, Purpose.SENTIMENT)])
    rig.fake.script(SENT, json_reply(bodies.BAD_KEY))
    with pytest.raises(AuthError, match="SE…04"):
        rig.client.news_sentiment(tickers=["IBM"])
    assert rig.fake.sent(SENT) == 1


def test_daily_caps_on_every_key_end_in_quota_exhausted(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.FUNDAMENTALS), _free(MACRO, Purpose.MACRO)])
    rig.fake.script(FUND, json_reply(bodies.DAILY_CAP))
    rig.fake.script(MACRO, json_reply(bodies.OLD_NOTE))
    with pytest.raises(QuotaExhaustedError):
        rig.client.overview("IBM")
    assert len(rig.fake.requests) == 2


def test_csv_datatype_is_requested_and_parsed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    bars = rig.client.daily("IBM", datatype="csv")
    assert rig.fake.requests[0].url.params["datatype"] == "csv"
    assert list(bars["close"]) == [210.66, 210.43]


def test_every_endpoint_method_returns_a_frame(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    client = rig.client
    frames = {
        "daily_adjusted": client.daily_adjusted("NVDA"),
        "quote": client.global_quote("IBM"),
        "rsi": client.rsi("IBM"),
        "macd": client.macd("IBM"),
        "movers": client.top_gainers_losers(),
        "insider": client.insider_transactions("IBM"),
        "news": client.news_sentiment(tickers=["IBM"], time_from=datetime(2024, 10, 23, 12, tzinfo=UTC)),
        "treasury": client.treasury_yield("2year", "daily"),
    }
    assert all(len(f) for f in frames.values())
    functions = rig.fake.functions()
    assert functions[:3] == ["TIME_SERIES_DAILY_ADJUSTED", "GLOBAL_QUOTE", "RSI"]
    news = next(r for r in rig.fake.requests if r.url.params["function"] == "NEWS_SENTIMENT")
    assert news.url.params["apikey"] == SENT and news.url.params["time_from"] == "20241023T0800"
    treasury = rig.fake.requests[-1].url.params
    assert (treasury["apikey"], treasury["maturity"], treasury["interval"]) == (MACRO, "2year", "daily")


def test_invalid_arguments_are_data_errors_before_sending(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    for call in (
        lambda: rig.client.intraday("IBM", "2min"),
        lambda: rig.client.intraday("IBM", month="2024-13"),
        lambda: rig.client.macro("GDP_PER_CAPITA"),
        lambda: rig.client.treasury_yield("1year"),
        lambda: rig.client.overview("IBM; DROP"),
        lambda: rig.client.news_sentiment(limit=5000),
    ):
        with pytest.raises(DataError):
            call()
    assert rig.fake.requests == []


def test_eight_threads_through_the_client_never_exceed_a_keys_budget(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.FUNDAMENTALS, budget=10)], max_wait_s=0)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(3):
            try:
                rig.client.overview("IBM")
                result = "ok"
            except QuotaExhaustedError:
                result = "exhausted"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rig.fake.sent(FUND) == 10
    assert outcomes.count("ok") == 10 and outcomes.count("exhausted") == 14


# --- the ports ----------------------------------------------------------------------------------------


def test_the_source_implements_every_data_port(tmp_path: Path) -> None:
    source = Rig(tmp_path).source
    assert source.name == "alphavantage"
    ports: tuple[BarSource, MacroSource, FundamentalsSource, NewsSource] = (source, source, source, source)
    assert all(p.name == "alphavantage" for p in ports)


def test_daily_bars_from_the_source_carry_adj_factor_and_drop_an_unsettled_session(tmp_path: Path) -> None:
    rig = Rig(tmp_path, now="2024-06-11 18:00")  # 14:00 New York: the 2024-06-11 bar is still forming
    bars = rig.source.fetch_bars("NVDA", "1d", datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 12, tzinfo=UTC))
    assert list(bars.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume", "adj_factor"]
    assert list(bars["ts"]) == [pd.Timestamp("2024-06-07 04:00", tz="UTC"), pd.Timestamp("2024-06-10 04:00", tz="UTC")]
    assert rig.fake.requests[0].url.params["function"] == "TIME_SERIES_DAILY_ADJUSTED"


def test_daily_bars_without_a_premium_key_use_the_raw_series(tmp_path: Path) -> None:
    rig = Rig(tmp_path, [_free(FUND, Purpose.ANY)])
    bars = rig.source.fetch_bars("IBM", "daily", datetime(2024, 10, 28, tzinfo=UTC), datetime(2024, 10, 30, tzinfo=UTC))
    assert list(bars["close"]) == [210.66, 210.43] and "adj_factor" not in bars.columns
    assert rig.fake.requests[0].url.params["outputsize"] == "compact"


def test_recent_intraday_from_the_source_drops_bars_that_may_still_be_forming(tmp_path: Path) -> None:
    rig = Rig(tmp_path, now="2024-10-29 23:59")  # 19:59 New York; delayed data lags 15 minutes
    bars = rig.source.fetch_bars("IBM", "5m", datetime(2024, 10, 29, tzinfo=UTC), datetime(2024, 10, 30, tzinfo=UTC))
    assert list(bars["ts"]) == [pd.Timestamp("2024-10-29 08:00", tz="UTC"), pd.Timestamp("2024-10-29 13:30", tz="UTC")]
    params = rig.fake.requests[0].url.params
    assert params["adjusted"] == "false" and params["outputsize"] == "full" and "month" not in params


def test_older_intraday_ranges_are_fetched_month_by_month(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.source.fetch_bars("IBM", "1h", datetime(2024, 7, 20, tzinfo=UTC), datetime(2024, 9, 2, tzinfo=UTC))
    assert [r.url.params["month"] for r in rig.fake.requests] == ["2024-07", "2024-08", "2024-09"]
    assert all(r.url.params["interval"] == "60min" for r in rig.fake.requests)


def test_macro_series_names_pick_function_maturity_and_interval(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    series = rig.source.fetch_series("TREASURY_YIELD:10year:daily")
    params = rig.fake.requests[0].url.params
    assert (params["function"], params["maturity"], params["interval"]) == ("TREASURY_YIELD", "10year", "daily")
    assert list(series.columns) == ["date", "value"] and series["value"].notna().all() and len(series) == 2
    with pytest.raises(DataError):
        rig.source.fetch_series("CPI:hourly")


def test_fundamentals_from_the_source_combine_overview_and_earnings_point_in_time(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    frame = rig.source.fetch_fundamentals("IBM")
    assert frame["report"].tolist() == ["earnings", "earnings", "earnings", "overview"]
    assert frame["available_at"].is_monotonic_increasing
    assert rig.fake.functions(FUND) == ["OVERVIEW", "EARNINGS"]


def test_news_from_the_source_is_one_request_per_symbol_filtered_to_the_window(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    news = rig.source.fetch_news(
        ["IBM", "MSFT"], datetime(2024, 10, 23, tzinfo=UTC), datetime(2024, 10, 24, tzinfo=UTC)
    )
    assert [r.url.params["tickers"] for r in rig.fake.requests] == ["IBM", "MSFT"]
    assert sorted(news["symbol"]) == ["IBM", "MSFT"]  # the 2024-10-24 article is outside the window


def test_from_env_reads_keys_and_the_base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", PREMIUM)
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_URL", "http://127.0.0.1:8765/query")
    monkeypatch.chdir(tmp_path)  # no stray .env
    fake = FakeAlphaVantage()
    source = AlphaVantageSource.from_env(
        clock=keyfixtures.sim_clock(), db_url=f"sqlite:///{tmp_path / 'pt.db'}", transport=fake.transport()
    )
    source.client.global_quote("IBM")
    assert str(fake.requests[0].url).startswith("http://127.0.0.1:8765/query?")
    assert [row.key for row in source.client.keys.status()] == ["PR…01"]


def test_parsed_bars_are_accepted_by_the_lake_and_bad_rows_are_quarantined(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    body = bodies.intraday_body(["2024-10-29 10:00:00", "2024-10-29 09:55:00", "2024-10-29 09:50:00"])
    body["Time Series (5min)"]["2024-10-29 09:55:00"]["2. high"] = "None"
    rig.fake.script(PREMIUM, json_reply(body))
    bars = rig.client.intraday("IBM", "5min")
    report = Lake(tmp_path / "lake").write_bars(bars, "5m", source="alphavantage")
    assert (report.written, report.quarantined) == (2, 1)
