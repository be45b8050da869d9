"""The LightGBM member on the board: its live factors equal the training factors bar for bar, never look ahead,
and it votes (calibrated like the others) in an engine run on bundled real bars."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gate_support import stamp_passing_gate
from papertrader.config.board import BoardSettings
from papertrader.config.settings import CostSettings, Settings, StrategySettings
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, run
from papertrader.engine.strategies import board_members
from papertrader.features.alpha158 import feature_names
from papertrader.features.inputs import External
from papertrader.features.view import FeatureView
from papertrader.models.crosssection import CrossSectionSpec
from papertrader.models.crosstrain import cross_section_market, features_of
from papertrader.models.lake import bars_before, load_training_data
from papertrader.models.registry import Registry
from papertrader.models.training import TrainOptions, train_and_register
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository
from papertrader.signals.members import CrossSectionMember

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


@pytest.fixture(scope="module")
def lgbm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled lake and a tiny lgbm version trained on bars before 2011-06-01.

    Its data ends before the engine run's calibration window (models.holdout), and its manifest carries a
    stamped passing gate (`gate_support`): the engine test is about the board hearing and calibrating it.
    """
    home = tmp_path_factory.mktemp("lgbm-home")
    import_bundled(Lake(home / "lake"))
    bars, _ = load_training_data(Settings(home=home), "1d", SYMBOLS)
    registry = Registry(home, revision=lambda: None)
    train_and_register(bars_before(bars, "2011-06-01"), TrainOptions("lgbm", small=True), registry, CostSettings())
    stamp_passing_gate(home, ("lgbm",))
    return home


def _bars(home: Path) -> pd.DataFrame:
    bars, _ = load_training_data(Settings(home=home), "1d", SYMBOLS)
    return bars


def test_live_member_factors_equal_the_training_factors_and_ignore_later_bars(lgbm_home: Path) -> None:
    settings = Settings(home=lgbm_home)
    bars = _bars(lgbm_home)
    registry = Registry(lgbm_home)
    panel = Panel.from_long(bars, "1d")
    members, builder, manifests = board_members(settings, panel, ("lgbm",), External(), registry)
    (member,) = members
    assert isinstance(member, CrossSectionMember) and member.version == manifests["lgbm"].version
    live = builder(panel)
    spec = CrossSectionSpec.from_dict(manifests["lgbm"].config)
    market = cross_section_market(bars, spec, CostSettings())
    training = features_of(market, spec)
    assert market.symbols == panel.symbols and len(market) == len(panel)
    names = feature_names(spec.windows)
    for t in (70, 900, 2500, len(panel) - 1):
        got = member.features_now(FeatureView(live, t))
        np.testing.assert_array_equal(got.astype(np.float32), training[t], err_msg=f"row {t}")
    for t in (1200, 2500):  # rows where every symbol has started trading (GOOG lists in 2004)
        cut = Panel.from_long(bars[bars["ts"] <= panel.ts[t]], "1d")
        assert cut.symbols == panel.symbols
        short = builder(cut)
        for name in names[::7]:
            np.testing.assert_array_equal(short[f"lgbm:{name}"][t], live[f"lgbm:{name}"][t], err_msg=name)
    opinion = member.opine(panel.ts[2500].to_pydatetime(), FeatureView(live, 2500))
    assert np.isfinite(opinion.p_up).sum() >= 3
    np.testing.assert_allclose(opinion.p_up + opinion.p_down, 1.0)
    warming = member.opine(panel.ts[10].to_pydatetime(), FeatureView(live, 10))
    assert np.isnan(warming.p_up).all()


@pytest.mark.slow
def test_the_lgbm_member_votes_on_the_board_in_an_engine_run(lgbm_home: Path) -> None:
    settings = Settings(
        home=lgbm_home,
        strategy=StrategySettings(name="ensemble"),
        board=BoardSettings(members=("lgbm", "trend"), calibration_bars=120),
    )
    request = RunRequest(
        symbols=SYMBOLS,
        start=datetime(2012, 3, 1, tzinfo=UTC),
        end=datetime(2013, 3, 1, tzinfo=UTC),
    )
    result = run(settings, request)
    repo = RunRepository(make_engine(settings.db_url))
    signals = repo.load_events(result.run_id, ["signal"])
    assert signals, "the board never changed a target"
    members = {v["member"] for e in signals for v in e.payload["votes"]}
    assert members == {"lgbm", "trend"}
    lgbm_votes = [v for e in signals for v in e.payload["votes"] if v["member"] == "lgbm"]
    assert any(v["p_up"] is not None for v in lgbm_votes), "the lgbm member never gave a view"
    assert all(v["p_up"] is None or 0.0 <= v["p_up"] <= 1.0 for v in lgbm_votes)
    calibrations = list((lgbm_home / "board").glob("calibration-*.json"))
    assert calibrations and "lgbm" in calibrations[0].read_text(), "the board did not calibrate the lgbm member"
