"""The loopback vendor answers the real Yahoo and Alpha Vantage clients (httpx, parsing, errors) with real minute bars.

The bars are real SPY 1-minute trades (shared data, regular session) under two tickers; the vendor's clock is a
SimClock the test moves. No test waits on a wall clock: the timeout fault holds the request until released,
and the client's read timeout (its settings) is what ends it, so only the error path is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import SimClock
from papertrader.core.errors import QuotaExhaustedError, RateLimitedError, TemporaryError
from papertrader.data.adapters.alphavantage import AlphaVantageClient, AlphaVantageSource
from papertrader.data.adapters.alphavantage.keys import KeyManager, make_key
from papertrader.data.adapters.yahoo import YahooSource
from papertrader.data.loopback import Fault, LoopbackVendor, RemoteControl
from papertrader.data.router import DataKind, Router
from papertrader.engine.feed import RouterFeed
from papertrader.persistence.db import make_engine
from support import SHARED

MINUTES = SHARED / "equity-us" / "1m" / "SPY-trade-2011.csv.gz"
SYMBOLS = ("AAA", "BBB")


def real_minute_bars(sessions: int = 2) -> pd.DataFrame:
    """The first `sessions` regular sessions of SPY's January 2011 minute bars, as AAA and BBB (x1.01)."""
    if not MINUTES.exists():
        pytest.skip(f"shared data not available: {MINUTES}")
    df = pd.read_csv(MINUTES)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    local = ts.dt.tz_convert("America/New_York")
    regular = (local.dt.time >= pd.Timestamp("09:30").time()) & (local.dt.time < pd.Timestamp("16:00").time())
    days = sorted(local[regular].dt.date.unique())[:sessions]
    keep = regular & local.dt.date.isin(days)
    frames = []
    for j, symbol in enumerate(SYMBOLS):
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "ts": ts[keep].to_numpy(),
                    **{
                        c: (df.loc[keep, c].to_numpy(float) * (1 + j / 100)).round(4)
                        for c in ("open", "high", "low", "close")
                    },
                    "volume": df.loc[keep, "volume"].to_numpy(float),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["ts"] = pd.to_datetime(out["ts"], utc=True)
    return out


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return real_minute_bars()


@pytest.fixture
def clock(bars: pd.DataFrame) -> SimClock:
    """Half past noon of the second session (New York)."""
    second = bars["ts"].dt.tz_convert("America/New_York").dt.date.max()
    return SimClock(pd.Timestamp(f"{second} 12:30", tz="America/New_York").to_pydatetime())


@pytest.fixture
def vendor(bars: pd.DataFrame, clock: SimClock) -> Iterator[LoopbackVendor]:
    with LoopbackVendor(bars, "1m", clock=clock, hold_s=120.0) as v:
        yield v


def yahoo(vendor: LoopbackVendor, clock: SimClock, **settings: object) -> YahooSource:
    options = {"url": vendor.yahoo_url, "backoff_base_s": 0.01, "backoff_max_s": 0.01, **settings}
    return YahooSource(settings=YahooSettings(**options), clock=clock)  # type: ignore[arg-type]


def alphavantage(vendor: LoopbackVendor, clock: SimClock, tmp_path: Path, **settings: object) -> AlphaVantageSource:
    options = {"url": vendor.av_url, "entitlement": "realtime", "max_retries": 1, **settings}
    av = AlphaVantageSettings(**options)  # type: ignore[arg-type]
    keys = KeyManager(
        [make_key("LOOPBACKTESTKEY1", "premium", "market", av, budget=600)],
        make_engine(f"sqlite:///{tmp_path / 'keys.db'}"),
        clock=clock,
        settings=av,
        jitter=lambda: 0.0,
    )
    return AlphaVantageSource(AlphaVantageClient(keys, av, clock=clock), clock=clock)


def recorded(bars: pd.DataFrame, symbol: str, start: datetime, closed_by: datetime) -> pd.DataFrame:
    rows = bars[(bars["symbol"] == symbol) & (bars["ts"] >= start) & (bars["ts"] + timedelta(minutes=1) <= closed_by)]
    return rows.reset_index(drop=True)


COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]


def test_yahoo_client_parses_the_loopback_answer_into_the_recorded_bars(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor
) -> None:
    start = bars["ts"].min().to_pydatetime()
    got = yahoo(vendor, clock).fetch_bars("BBB", "1m", start, clock.now())
    want = recorded(bars, "BBB", start, clock.now())
    assert len(want) > 390  # a whole session and half of the next
    pd.testing.assert_frame_equal(got[COLUMNS], want[COLUMNS], check_dtype=False)
    assert (got["adj_factor"] == 1.0).all()  # no split or dividend in the served daily reference


def test_alphavantage_client_parses_the_loopback_answer_into_the_recorded_bars(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor, tmp_path: Path
) -> None:
    start = bars["ts"].min().to_pydatetime()
    got = alphavantage(vendor, clock, tmp_path).fetch_bars("AAA", "1m", start, clock.now())
    pd.testing.assert_frame_equal(got[COLUMNS], recorded(bars, "AAA", start, clock.now())[COLUMNS], check_dtype=False)


def test_the_loopback_vendor_never_serves_a_bar_that_has_not_closed_by_the_simulated_now(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor, tmp_path: Path
) -> None:
    source = yahoo(vendor, clock)
    av = alphavantage(vendor, clock, tmp_path)
    start = bars["ts"].min().to_pydatetime()
    far = clock.now() + timedelta(days=3)  # asking beyond now does not reach into the future
    for seconds in (0, 1, 59, 60, 61):
        now = clock.now()
        for got in (source.client.get_chart("AAA", interval="1m", period1=start, period2=far), None):
            if got is None:
                break
            assert len(got) and int(got.ts.max()) + 60 <= int(now.timestamp())
        latest = av.fetch_bars("AAA", "1m", start, far)["ts"].max()
        assert latest + timedelta(minutes=1) <= now
        assert latest + timedelta(minutes=2) > now  # and the newest closed bar is there
        clock.advance_to(now + timedelta(seconds=seconds))


def test_a_time_posted_to_control_gates_a_vendor_without_a_clock(bars: pd.DataFrame, clock: SimClock) -> None:
    with LoopbackVendor(bars, "1m") as remote:
        control = RemoteControl(remote.url)
        try:
            control.set(clock.now())
            source = yahoo(remote, clock)
            start = bars["ts"].min().to_pydatetime()
            clock.advance_to(clock.now() + timedelta(minutes=5))  # the client's clock moves on, the vendor's not
            before = source.fetch_bars("AAA", "1m", start, clock.now())
            control.set(clock.now(), {"BBB": Fault.SERVER_ERROR})
            after = source.fetch_bars("AAA", "1m", start, clock.now())
            posted = clock.now()
            with pytest.raises(TemporaryError, match="server error 503"):
                source.fetch_bars("BBB", "1m", start, clock.now())
        finally:
            control.close()
    assert len(after) - len(before) == 5
    assert after["ts"].max() + timedelta(minutes=1) == posted


@pytest.mark.parametrize(
    ("fault", "yahoo_error", "av_error"),
    [
        (Fault.THROTTLE, RateLimitedError, RateLimitedError),
        (Fault.NOTE, RateLimitedError, QuotaExhaustedError),
        (Fault.SERVER_ERROR, TemporaryError, TemporaryError),
    ],
)
def test_each_fault_reaches_the_adapters_as_their_own_classified_error(
    bars: pd.DataFrame,
    clock: SimClock,
    vendor: LoopbackVendor,
    tmp_path: Path,
    fault: Fault,
    yahoo_error: type[Exception],
    av_error: type[Exception],
) -> None:
    vendor.set_faults({"AAA": fault})
    start = clock.now() - timedelta(hours=1)
    with pytest.raises(yahoo_error):
        yahoo(vendor, clock).fetch_bars("AAA", "1m", start, clock.now())
    with pytest.raises(av_error):
        alphavantage(vendor, clock, tmp_path).fetch_bars("AAA", "1m", start, clock.now())
    assert len(yahoo(vendor, clock).fetch_bars("BBB", "1m", start, clock.now())) == 60  # the other symbol is served


def test_a_held_request_ends_in_the_clients_timeout_error(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor, tmp_path: Path
) -> None:
    vendor.set_faults({"AAA": Fault.TIMEOUT})  # held until released: only the client's read timeout ends it
    start = clock.now() - timedelta(hours=1)
    try:
        with pytest.raises(TemporaryError, match="timed out"):
            yahoo(vendor, clock, timeout_s=0.2, max_attempts=1).fetch_bars("AAA", "1m", start, clock.now())
        with pytest.raises(TemporaryError, match="timed out"):
            alphavantage(vendor, clock, tmp_path, read_timeout_s=0.2, max_retries=0).fetch_bars(
                "AAA", "1m", start, clock.now()
            )
    finally:
        vendor.release()


def test_faults_reach_the_live_feed_as_per_symbol_failures_and_the_router_fails_over(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor, tmp_path: Path
) -> None:
    sources = [yahoo(vendor, clock), alphavantage(vendor, clock, tmp_path)]
    router = Router(sources, routes={DataKind.BARS_INTRADAY: ("yahoo", "alphavantage")}, clock=clock)  # as live
    feed = RouterFeed(router)
    since = clock.now() - timedelta(minutes=30)

    vendor.set_faults({"AAA": Fault.THROTTLE})  # both vendors throttle AAA: it fails, BBB is served
    batch = feed.fetch(SYMBOLS, "1m", since, clock.now())
    assert set(batch.failures) == {"AAA"} and "SourcesExhaustedError" in batch.failures["AAA"]
    assert "yahoo failed" in batch.failures["AAA"] and "alphavantage failed" in batch.failures["AAA"]
    assert set(batch.bars["symbol"]) == {"BBB"} and len(batch.bars) == 30

    vendor.set_faults({"AAA": Fault.SERVER_ERROR}, vendors=["yahoo"])  # only Yahoo fails: Alpha Vantage serves
    batch = feed.fetch(SYMBOLS, "1m", since, clock.now())
    assert not batch.failures and batch.source == "alphavantage,yahoo"
    served = batch.bars.sort_values(["symbol", "ts"]).reset_index(drop=True)
    want = pd.concat([recorded(bars, s, since, clock.now()) for s in SYMBOLS], ignore_index=True)
    pd.testing.assert_frame_equal(served[COLUMNS], want[COLUMNS], check_dtype=False)


def test_unknown_symbols_and_paths_get_the_vendors_own_refusals(clock: SimClock, vendor: LoopbackVendor) -> None:
    with httpx.Client() as http:
        assert (
            http.get(vendor.yahoo_url + "NOPE", params={"interval": "1m", "period1": 0, "period2": 1}).status_code
            == 404
        )
        answer = http.get(vendor.av_url, params={"function": "TIME_SERIES_INTRADAY", "symbol": "NOPE", "apikey": "k"})
        assert answer.status_code == 200 and "Error Message" in answer.json()
        assert "apikey" in http.get(vendor.av_url, params={"function": "X"}).json()["Error Message"]
        assert http.get(vendor.url + "/elsewhere").status_code == 404
        assert http.post(vendor.url + "/control", content=b"{not json").status_code == 400
    assert clock.now().tzinfo is UTC


def test_a_feed_asking_several_symbols_at_once_answers_exactly_as_one_at_a_time(
    bars: pd.DataFrame, clock: SimClock, vendor: LoopbackVendor
) -> None:
    vendor.set_faults({"AAA": Fault.SERVER_ERROR})
    since = clock.now() - timedelta(minutes=45)
    symbols = ("BBB", "AAA", "NOPE", "BBB")  # order, a failure and a refusal included
    batches = [
        RouterFeed(Router([yahoo(vendor, clock)], clock=clock), workers=w).fetch(symbols, "1m", since, clock.now())
        for w in (1, 4)
    ]
    pd.testing.assert_frame_equal(batches[0].bars, batches[1].bars)
    assert batches[0].failures == batches[1].failures and set(batches[0].failures) == {"AAA", "NOPE"}
    assert batches[0].source == batches[1].source == "yahoo"
