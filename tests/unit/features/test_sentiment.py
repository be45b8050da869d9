"""News sentiment: relevance-weighted, exponentially decayed, strictly before each decision time."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_data import load_bars, ny

from papertrader.features.sentiment import SentimentSpec, SentimentState, compute_sentiment, prepare_news
from papertrader.features.times import decision_times, to_ns

SYMBOLS = ("AAPL", "SPY")


def _news(times: pd.DatetimeIndex, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    published = times[0] - pd.Timedelta(days=2) + (times[-1] - times[0] + pd.Timedelta(days=2)) * rng.random(n)
    return pd.DataFrame(
        {
            "symbol": rng.choice([*SYMBOLS, "MSFT"], n),  # MSFT is outside the universe: ignored
            "published_at": pd.DatetimeIndex(published).round("s"),
            "sentiment": rng.uniform(-1, 1, n),
            "relevance": rng.uniform(0, 1, n),
            "source": "fake",
            "title": "t",
        }
    )


def test_decayed_sums_match_a_direct_sum_over_items_published_before_each_decision() -> None:
    ts = pd.DatetimeIndex(load_bars("1h", ("SPY",))["ts"].iloc[:300])
    tau = decision_times(ts, "1h")
    news = _news(ts)
    spec = SentimentSpec(half_lives_hours=(6.0, 48.0), min_weight=0.05)
    got = compute_sentiment(prepare_news(news, SYMBOLS), to_ns(tau), len(SYMBOLS), spec)
    pub = pd.DatetimeIndex(news["published_at"])
    for h in spec.half_lives_hours:
        for j, symbol in enumerate(SYMBOLS):
            for k in range(0, len(tau), 7):
                m = (news["symbol"] == symbol).to_numpy() & (pub < tau[k])
                age_h = (tau[k] - pub[m]) / pd.Timedelta(hours=1)
                f = 2.0 ** (-np.asarray(age_h) / h)
                a = float((news["relevance"][m] * news["sentiment"][m] * f).sum())
                w = float((news["relevance"][m] * f).sum())
                tag = f"{h:g}h"
                np.testing.assert_allclose(got[f"sent_decayed_{tag}"][k, j], a, rtol=1e-9, atol=1e-15)
                np.testing.assert_allclose(got[f"news_intensity_{tag}"][k, j], w, rtol=1e-9, atol=1e-15)
                score = a / w if w >= spec.min_weight else 0.0
                np.testing.assert_allclose(got[f"sent_score_{tag}"][k, j], score, rtol=1e-9, atol=1e-12)


def test_an_item_published_at_the_decision_time_waits_for_the_next_decision() -> None:
    tau = pd.DatetimeIndex([ny("2020-03-02 10:00"), ny("2020-03-02 11:00")])
    news = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL"],
            "published_at": [ny("2020-03-02 09:59:59"), ny("2020-03-02 10:00")],
            "sentiment": [0.5, -1.0],
            "relevance": [1.0, 0.5],
        }
    )
    got = compute_sentiment(prepare_news(news, SYMBOLS), to_ns(tau), 2, SentimentSpec(half_lives_hours=(1.0,)))
    np.testing.assert_allclose(got["sent_score_1h"][0], [0.5, 0.0], rtol=1e-6)  # only the earlier item
    a = 0.5 * 2 ** (-3601 / 3600) + -1.0 * 0.5 * 2 ** (-1.0)
    w = 1.0 * 2 ** (-3601 / 3600) + 0.5 * 2 ** (-1.0)
    np.testing.assert_allclose(got["sent_score_1h"][1, 0], a / w, rtol=1e-12)


def test_old_news_fades_to_a_neutral_score() -> None:
    tau = pd.DatetimeIndex([ny("2020-03-02 10:00"), ny("2020-03-09 10:00")])
    news = pd.DataFrame(
        {"symbol": ["SPY"], "published_at": [ny("2020-03-01 12:00")], "sentiment": [0.8], "relevance": [1.0]}
    )
    got = compute_sentiment(prepare_news(news, SYMBOLS), to_ns(tau), 2, SentimentSpec(half_lives_hours=(24.0,)))
    assert got["sent_score_24h"][0, 1] == 0.8 and got["sent_score_24h"][1, 1] == 0.0
    assert 0 < got["news_intensity_24h"][1, 1] < 0.05


def test_replacing_the_item_list_keeps_what_was_already_absorbed() -> None:
    ts = pd.DatetimeIndex(load_bars("1h", ("SPY",))["ts"].iloc[:120])
    tau = to_ns(decision_times(ts, "1h"))
    news = _news(ts, seed=3)
    items = prepare_news(news, SYMBOLS)
    batch = compute_sentiment(items, tau, 2, SentimentSpec())
    state = SentimentState(SentimentSpec(), prepare_news(news.iloc[:0], SYMBOLS), 2)
    for k, t in enumerate(tau):
        known = news[pd.DatetimeIndex(news["published_at"]) < pd.Timestamp(int(t), tz="UTC")]
        state.replace_items(prepare_news(known, SYMBOLS))  # a live feed: only what has been published
        row = state.update(int(t))
        np.testing.assert_allclose(row["sent_decayed_24h"], batch["sent_decayed_24h"][k], rtol=1e-12, atol=1e-15)
