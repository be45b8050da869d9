"""Collected families end to end: lake -> point-in-time features -> training -> manifest -> the board's members.

The side data comes from the fake vendor (test_collect_families.py's rig: the recorded IBM OVERVIEW and
hand-made bodies for the functions with no recording); the bars are real (shared/data/equity-us/1d).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_collect_families import Side
from typer.testing import CliRunner

from papertrader.cli import models as cli_models
from papertrader.config.features import FeatureSettings
from papertrader.config.settings import load_settings
from papertrader.data import collect as collect_mod
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import build_members, external_from
from papertrader.features.from_lake import available_families, external_from_lake
from papertrader.features.fundamentals import FundamentalsSpec
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.pipeline import FeaturePipeline
from papertrader.features.sentiment import SentimentSpec
from papertrader.features.spec import PipelineSpec
from papertrader.features.view import FeatureView
from papertrader.models.registry import Registry
from support import load_shared_daily

SYMBOLS = ("AAPL", "IBM")
ALL_FAMILIES = ["price", "macro", "fundamentals", "news"]


def real_bars(symbols: tuple[str, ...] = SYMBOLS) -> pd.DataFrame:
    """Real daily bars 2016-01 .. 2021-03 (shared/data)."""
    bars = pd.concat([load_shared_daily(s) for s in symbols], ignore_index=True)
    ts = bars["ts"]
    return bars.loc[(ts >= pd.Timestamp("2016-01-01", tz="UTC")) & (ts < pd.Timestamp("2021-04-01", tz="UTC"))]


@pytest.fixture
def side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Side]:
    monkeypatch.setattr(collect_mod, "NEWS_LIMIT", 1000)
    rig = Side(tmp_path, monkeypatch)
    yield rig
    rig.close()


def _raw(spec: PipelineSpec, bars: pd.DataFrame, external: External) -> dict[str, np.ndarray]:
    inputs = FeatureInputs.from_long(bars, "1d", external)
    return FeaturePipeline(spec).raw(inputs).panels()


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], rows: slice) -> bool:
    return all(np.array_equal(a[k][rows], b[k][rows], equal_nan=True) for k in a)


def test_a_report_is_invisible_to_every_row_before_its_date_plus_the_lag(side: Side) -> None:
    side.collect("fundamentals", ("IBM",))
    side.collect("news", ("IBM",))
    bars = real_bars(("IBM",))
    side.lake.write_bars(bars, "1d", "shared")
    settings = FeatureSettings(fundamentals_lag_days=2.0, statement_lag_days=60.0, news_lag_minutes=30.0)
    external = external_from_lake(side.lake, settings)
    funds = external.fundamentals
    assert funds is not None and external.news is not None
    statements = funds.loc[funds["report"].isin(["income_statement", "balance_sheet"])]
    assert ((statements["available_at"] - statements["fiscal_date_ending"]) >= pd.Timedelta(days=60)).all()

    spec = PipelineSpec(technical=None, returns=None, calendar=None, fundamentals=FundamentalsSpec(delay_days=2.0))
    full = _raw(spec, bars, external)
    ts = pd.DatetimeIndex(sorted(bars["ts"].unique()))
    checked = 0
    for i, row in funds.loc[funds["report"] != "overview"].iterrows():
        visible_from = row["available_at"] + pd.Timedelta(days=2)
        before = int(ts.searchsorted(visible_from, side="left"))
        without = _raw(spec, bars, External(fundamentals=funds.drop(index=i)))
        assert _same(full, without, slice(0, before)), f"{row['report']} {row['fiscal_date_ending']} seen early"
        if row["report"] == "earnings" and before < len(ts):
            assert not _same(full, without, slice(before, before + 1)), "a report must be visible once public"
        checked += 1
    assert checked > 40

    news = external.news.reset_index(drop=True)
    nspec = PipelineSpec(technical=None, returns=None, calendar=None, sentiment=SentimentSpec())
    nfull = _raw(nspec, bars, External(news=news))
    decisions = FeatureInputs.from_long(bars, "1d").decision_times()
    for i in (0, 1, 200, len(news) - 1):
        seen_from = news.loc[i, "published_at"]  # already moved news_lag_minutes later by the loader
        cut = int(decisions.searchsorted(seen_from, side="right"))
        without = _raw(nspec, bars, External(news=news.drop(index=i)))
        assert _same(nfull, without, slice(0, cut))
        if cut < len(decisions):
            assert not _same(nfull, without, slice(cut, cut + 1))


def test_training_uses_every_collected_family_and_the_board_predicts_with_them(
    side: Side, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))  # the rig's lake is tmp_path/lake
    side.lake.write_bars(real_bars(), "1d", "shared")
    side.collect("fundamentals", SYMBOLS)
    side.collect("macro")
    side.collect("news", SYMBOLS)
    settings = load_settings()
    assert list(available_families(external_from(side.lake, settings), SYMBOLS)) == ALL_FAMILIES

    out = tmp_path / "train.json"
    args = ["train", "all", "--small", "--until", "2020-07-01", "--json", str(out)]
    result = CliRunner().invoke(cli_models.app, args)
    assert result.exit_code == 0, result.output
    assert "data families: price, macro, fundamentals, news" in result.output
    assert json.loads(out.read_text())["families"] == ALL_FAMILIES
    registry = Registry(settings.home)
    for family in ("lstm", "gru", "rl"):
        config = registry.manifest(family).config
        assert config["families"] == ALL_FAMILIES
        spec = PipelineSpec.from_dict(config["features"])
        assert spec.fundamentals is not None and spec.fundamentals.delay_days == 1.0
        assert spec.sentiment is not None and spec.macro is not None
    rl = registry.manifest("rl").config  # the PPO observation is the feature row plus the account
    assert rl["input_shape"] == [rl["n_features"] + 4]
    assert rl["n_features"] == len(PipelineSpec.from_dict(rl["features"]).names())

    panel = Panel.from_long(side.lake.read_bars(list(SYMBOLS), "1d"), "1d")
    external = external_from(side.lake, settings)
    members, features, _ = build_members(settings, panel, ["lstm", "ppo"], external, registry)
    lstm = members[0]
    assert {"lstm:fund_eps_surprise", "lstm:sent_score_24h", "lstm:macro_ust_10y"} <= set(lstm.required_features())
    assert set(lstm.required_features()) <= set(features)
    spec = PipelineSpec.from_dict(registry.manifest("lstm").config["features"])
    raw = FeaturePipeline(spec).raw(FeatureInputs(panel.symbols, "1d", panel.ts, panel.prices, external)).panels()
    assert np.isfinite(raw["fund_eps_surprise"][-1]).all() and np.isfinite(raw["sent_score_24h"][-1]).all()
    last = len(panel) - 1
    with_data = lstm.opine(panel.ts[last], FeatureView(features, last))
    assert np.isfinite(with_data.p_up).all() and np.isfinite(with_data.p_down).all()
    bare = External(macro=external.macro, fundamentals=external.fundamentals.iloc[:0], news=external.news)
    _, bare_features, _ = build_members(settings, panel, ["lstm"], bare, registry)
    without = members[0].opine(panel.ts[last], FeatureView(bare_features, last))
    assert not np.array_equal(with_data.p_up, without.p_up)  # the prediction reads the fundamentals
    ppo = members[1]
    assert any(f.startswith("ppo:fund_") for f in ppo.required_features())
    assert ppo.opine(panel.ts[last], FeatureView(features, last)).p_up.shape == (2,)
