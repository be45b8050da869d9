"""Portfolio construction: expected returns and a shrunk covariance into weights that respect every cap."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import RiskSettings, Settings
from papertrader.features.view import FeatureView
from papertrader.risk.construction import construct, expected_returns
from papertrader.signals.base import Decision
from support import build_engine, load_shared_daily

pypfopt = pytest.importorskip("pypfopt")

ETFS = ("SPY", "QQQ", "IWM", "EEM")


@pytest.fixture(scope="module")
def closes() -> np.ndarray:
    bars = pd.concat([load_shared_daily(s) for s in ETFS], ignore_index=True)
    wide = bars.pivot(index="ts", columns="symbol", values="close")[list(ETFS)].dropna()
    return wide.to_numpy()[-600:-479]  # 121 real closes from 2018-2019


def _vol(weights: np.ndarray, window: np.ndarray) -> float:
    cov = pypfopt.risk_models.CovarianceShrinkage(pd.DataFrame(window), frequency=252).ledoit_wolf().to_numpy()
    return float(np.sqrt(weights @ cov @ weights))


def test_expected_return_is_the_edge_scaled_by_volatility_and_confidence() -> None:
    mu = expected_returns(
        np.array([0.6, 0.5, 0.4, np.nan]),
        np.array([1.0, 1.0, 1.0, 1.0]),
        np.array([1.0, 1.0, 0.5, 1.0]),
        np.full(4, 0.2),
    )
    assert mu[0] > 0 and mu[1] == 0 and mu[2] < 0 and mu[3] == 0
    half = expected_returns(np.array([0.6]), np.array([1.0]), np.array([0.5]), np.array([0.2]))
    assert np.isclose(half[0], mu[0] / 2), "confidence shrinks the expected return"


def test_weights_respect_position_bucket_sector_gross_caps_and_the_volatility_target(closes: np.ndarray) -> None:
    mu = np.array([0.05, 0.04, 0.03, 0.06])
    limits = RiskSettings(vol_target=0.12, max_sector_fraction=0.3)
    sectors = {"SPY": "US", "QQQ": "US"}
    built = construct(ETFS, mu, closes, closes[-1], limits, sectors, 252.0)
    w = built.weights
    assert w is not None, built.reason
    assert (w >= -1e-9).all() and (w <= limits.max_position_fraction + 1e-6).all()
    assert w.sum() <= limits.etf_cap + 1e-6, "every symbol here is an ETF: the bucket cap binds"
    assert w[0] + w[1] <= 0.3 + 1e-6, "the sector cap binds"
    assert _vol(w, closes) <= 0.12 + 1e-4
    assert w.sum() > 0.2, "the budget the caps allow is used"


def test_no_positive_expected_return_means_no_position(closes: np.ndarray) -> None:
    built = construct(ETFS, np.zeros(4), closes, closes[-1], RiskSettings(), {}, 252.0)
    assert built.weights is not None and not built.weights.any()


def test_an_unreachable_target_leaves_the_decision_to_per_symbol_sizing(closes: np.ndarray) -> None:
    assert construct(ETFS, np.full(4, 0.05), closes[:2], closes[-1], RiskSettings(), {}, 252.0).weights is None
    assert (
        construct(ETFS, np.full(4, 0.05), closes, closes[-1], RiskSettings(vol_target=None), {}, 252.0).weights is None
    )


class Odds:
    """A board stand-in that says long everything with fixed calibrated odds (for the engine wiring)."""

    name = "odds"

    def __init__(self, n: int) -> None:
        self.n = n

    def required_features(self) -> tuple[str, ...]:
        return ()

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        n = self.n
        return Decision(
            np.full(n, 0.1), np.ones(n), lambda _i: "odds", p_win=np.linspace(0.52, 0.58, n), payoff=np.ones(n)
        )


def test_the_engine_builds_the_book_from_rows_up_to_the_decision_only() -> None:
    bars = pd.concat([load_shared_daily(s) for s in ETFS], ignore_index=True)
    bars = bars[
        (bars["ts"] >= pd.Timestamp("2010-01-01", tz="UTC")) & (bars["ts"] < pd.Timestamp("2010-12-31", tz="UTC"))
    ]
    cut = sorted(bars["ts"].unique())[200]
    settings = Settings(risk=RiskSettings(construction="mean_variance"))
    full, _ = build_engine(bars, settings)
    past, _ = build_engine(bars[bars["ts"] <= cut], settings)
    for engine in (full, past):
        engine.strategy = Odds(len(engine.panel.symbols))
        for k in range(len(past.panel)):
            engine.step(k)
    k = len(past.panel) - 1
    decision = Odds(len(past.panel.symbols)).decide(past.panel.close_times[k], FeatureView(past.features, k))
    built_full, built_past = full._construct(k, decision), past._construct(k, decision)
    assert np.array_equal(built_full.weights, built_past.weights), "later bars changed the book"
    assert built_full.p_win is None, "Kelly does not size over the constructed book"
    assert not np.allclose(built_full.weights, decision.weights)


def test_the_same_inputs_give_the_same_weights_bit_for_bit() -> None:
    """Live and replay construct each bar separately: a second solve of the same bar must not move a weight."""
    bars = pd.concat([load_shared_daily(s) for s in (*ETFS, "AAPL", "IBM", "BAC", "AIG", "GOOG")], ignore_index=True)
    wide = bars.pivot(index="ts", columns="symbol", values="close").dropna()
    symbols = tuple(str(c) for c in wide.columns)
    prices = wide.to_numpy()
    limits = RiskSettings(vol_target=0.15, max_position_fraction=0.3, max_sector_fraction=0.4)
    sectors = {"AAPL": "tech", "IBM": "tech", "GOOG": "tech", "BAC": "fin", "AIG": "fin"}
    rng = np.random.default_rng(7)
    assert len(prices) > 1_000
    for end in np.linspace(200, len(prices), 10).astype(int):
        window = prices[end - 121 : end]
        mu = rng.uniform(-0.05, 0.2, len(symbols))
        first = construct(symbols, mu, window, window[-1], limits, sectors, 252.0)
        again = construct(symbols, mu, window, window[-1], limits, sectors, 252.0)
        assert first.weights is not None and again.weights is not None
        np.testing.assert_array_equal(again.weights, first.weights)
        assert np.count_nonzero(again.weights) >= 2


def test_symbols_the_board_leaves_flat_stay_flat_when_no_cap_binds() -> None:
    """Two favoured names at their position cap leave budget over; it stays in cash, not in the idle names."""
    symbols = (*ETFS, "AAPL", "IBM", "BAC", "AIG", "GOOG")
    bars = pd.concat([load_shared_daily(s) for s in symbols], ignore_index=True)
    window = bars.pivot(index="ts", columns="symbol", values="close")[list(symbols)].dropna().to_numpy()
    for end in (800, 1500, 2500):
        closes = window[end - 121 : end]
        mu = np.array([0, 0, 0, 0, 0.05, 0, 0, 0, 0.06])
        built = construct(symbols, mu, closes, closes[-1], RiskSettings(), {}, 252.0)
        assert built.weights is not None, built.reason
        np.testing.assert_array_equal(built.weights, np.where(mu > 0, 0.25, 0.0))


def test_the_capped_groups_put_every_name_in_the_bucket_classify_gives_it() -> None:
    """`_groups` finds the buckets in array form; `classify` (symbol by symbol) is the reference."""
    from papertrader.risk import construction
    from papertrader.risk.buckets import Bucket, classify

    names = ["SPY", "AAPL", "PENNY", "HALTED", "QQQ", "MSFT"]
    prices = np.array([450.0, 190.0, 0.8, np.nan, 2.0, 5.0])  # an ETF below the penny line stays an ETF
    limits = RiskSettings(penny_below=5.0, max_sector_fraction=0.3)
    sectors = {"AAPL": "tech", "MSFT": "tech", "PENNY": "__alone__PENNY"}
    buckets = classify(names, prices, set(limits.etfs), limits.penny_below)
    caps = {Bucket.CORE: limits.core_cap, Bucket.ETF: limits.etf_cap, Bucket.SPECULATIVE: limits.speculative_cap}
    expected = [(np.flatnonzero(buckets == b).tolist(), cap) for b, cap in caps.items() if (buckets == b).any()]
    expected.append(([1, 5], 0.3))  # the one named sector (a "__" sector is a symbol alone)
    got = [(members.tolist(), cap) for members, cap in construction._groups(names, prices, limits, sectors)]
    assert got == expected
