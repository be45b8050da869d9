"""Plug-in strategies and board members: loaded by MODULE:CLASS or entry point, errors located in the user's file.

User modules are written into a temporary folder per test (each with its own module name, so the import cache
never hands one test another's class) and run on real SPY/ETF bars from the shared data.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError
from papertrader.core.events import EventBus
from papertrader.domain.events import DomainEvent
from papertrader.engine import plugins
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.engine.plugins import PluginMember, PluginStrategy, UserCodeError
from papertrader.engine.strategies import build
from papertrader.features.technical import PriceArrays
from papertrader.features.view import FeatureView
from papertrader.signals.base import Closable, HealthReporter, MemberStatusReporter, Replayable
from papertrader.signals.ensemble import Ensemble
from papertrader.signals.trend import TrendFollowing
from papertrader.signals.votes import Opinion, Timeframe

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
_ids = itertools.count()

USER = """\
import numpy as np
from papertrader import Decision, PriceArrays
from papertrader.signals.votes import Opinion


class Flat:
    def __init__(self, symbols, scale=1.0):
        self.n = len(symbols)
        self.scale = scale
        self.name = "flat"
        self.seen = []

    def features(self, prices: PriceArrays):
        return {"mine": prices.close * self.scale}

    def required_features(self):
        return ("mine", "sma_20")

    def decide(self, ts, view):
        self.seen.append((view.k, view.now("mine")))
        return Decision(np.zeros(self.n), np.zeros(self.n), lambda i: "flat")


class Raises(Flat):
    def decide(self, ts, view):
        if view.k % 2:
            raise ZeroDivisionError("odd bar")  # line 27
        return super().decide(ts, view)


class Short(Flat):
    def decide(self, ts, view):
        return Decision(np.zeros(1), np.zeros(1), lambda i: "one symbol")


class Member:
    timeframe = "short"

    def __init__(self, symbols, p=0.6):
        self.n, self.p = len(symbols), p

    def required_features(self):
        return ("close",)

    def opine(self, ts, view):
        up = np.full(self.n, self.p)
        return Opinion("whatever", "short", up, 1 - up, np.zeros(self.n, dtype=bool), lambda i: "leans")


class BadMember(Member):
    def opine(self, ts, view):
        raise KeyError("no such panel")  # line 52


class Clashes(Flat):
    def features(self, prices):
        return {"close": prices.close}


class NeedsMore(Member):
    def required_features(self):
        return ("nothing_builds_this",)
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A user's strategy module in a temporary current directory (synthetic strategies on real bars)."""
    name = f"user_strategies_{next(_ids)}"
    (tmp_path / f"{name}.py").write_text(USER)
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def panel(etf_daily: pd.DataFrame) -> Panel:
    """SPY, QQQ, IWM, EEM over 2010 (real)."""
    bars = etf_daily[(etf_daily["ts"] >= "2010-01-01") & (etf_daily["ts"] < "2011-01-01")]
    return Panel.from_long(bars, "1d")


def _settings(tmp_path: Path, name: str, **strategy: object) -> Settings:
    return Settings(home=tmp_path / "home", strategy={"name": name, **strategy})


def _engine(panel: Panel, settings: Settings) -> tuple[Engine, list[DomainEvent]]:
    built = build(settings, panel, 0)
    bus = EventBus()
    events: list[DomainEvent] = []
    bus.subscribe(events.append)
    engine = Engine(
        run_id="plugin",
        panel=panel,
        features=built.features,
        strategy=built.strategy,
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=bus,
    )
    return engine, events


def test_a_module_colon_class_loads_from_the_current_directory_with_its_params(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    built = build(_settings(tmp_path, f"{user_module}:Flat", params={"scale": 2.0}), panel, 0)
    assert isinstance(built.strategy, PluginStrategy)
    assert built.strategy.inner.scale == 2.0 and built.strategy.name == "flat"
    assert np.array_equal(built.features["mine"], panel.prices.close * 2.0, equal_nan=True)
    assert "sma_20" in built.features and built.builder is not None
    assert str(tmp_path) not in sys.path  # the current directory is on the path only while importing


def test_an_entry_point_of_the_strategies_group_loads_its_class(
    user_module: str, tmp_path: Path, panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake(group: str) -> list[EntryPoint]:
        return (
            [EntryPoint(name="flat", value=f"{user_module}:Flat", group=group)]
            if group == plugins.STRATEGY_GROUP
            else []
        )

    monkeypatch.setattr(plugins, "entry_points", fake)
    monkeypatch.syspath_prepend(str(tmp_path))
    built = build(_settings(tmp_path, "flat"), panel, 0)
    assert isinstance(built.strategy, PluginStrategy) and built.strategy.spec == "flat"


def test_a_built_in_name_is_never_looked_up_as_a_plugin(tmp_path: Path, panel: Panel) -> None:
    built = build(_settings(tmp_path, "trend"), panel, 0)
    assert isinstance(built.strategy, TrendFollowing)


def test_an_unknown_name_is_a_config_error_listing_the_builtins_and_the_accepted_forms(
    tmp_path: Path, panel: Panel
) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown strategy 'bogus'.*trend, lstm.*MODULE:CLASS.*papertrader\.strategies"
    ):
        build(_settings(tmp_path, "bogus"), panel, 0)
    with pytest.raises(ConfigError, match="no module named 'nowhere_to_be_found'"):
        build(_settings(tmp_path, "nowhere_to_be_found:X"), panel, 0)
    with pytest.raises(ConfigError, match="not an import path"):
        build(_settings(tmp_path, "a-b:C"), panel, 0)


def test_a_module_that_fails_to_import_is_a_config_error_naming_its_file_and_line(
    tmp_path: Path, panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_import_mod.py").write_text("import numpy\n\nx = 1 / 0\n")
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(ConfigError, match=r"ZeroDivisionError.*broken_import_mod\.py:3"):
            build(_settings(tmp_path, "broken_import_mod:X"), panel, 0)
    finally:
        sys.modules.pop("broken_import_mod", None)
    (tmp_path / "syntax_mod.py").write_text("def f(:\n")
    with pytest.raises(ConfigError, match=r"SyntaxError.*syntax_mod\.py:1"):
        build(_settings(tmp_path, "syntax_mod:X"), panel, 0)


def test_a_class_that_fails_to_construct_or_is_missing_is_a_config_error_naming_where(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    with pytest.raises(ConfigError, match=r"Flat\(symbols, nope=1\) failed: TypeError.*user_strategies_\d+\.py:6"):
        build(_settings(tmp_path, f"{user_module}:Flat", params={"nope": 1}), panel, 0)
    with pytest.raises(ConfigError, match=r"has no 'Nope' \(its classes: .*Flat"):
        build(_settings(tmp_path, f"{user_module}:Nope"), panel, 0)
    with pytest.raises(ConfigError, match=r"lacks decide\(\)"):
        build(_settings(tmp_path, f"{user_module}:Member"), panel, 0)


def test_a_raising_decide_holds_that_cycle_with_a_health_event_naming_file_and_line(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    engine, events = _engine(panel, _settings(tmp_path, f"{user_module}:Raises"))
    for k in range(6):
        engine.step(k)  # the run goes on: odd cycles hold, even ones decide
    health = [e.payload for e in events if e.kind == "health" and e.payload["component"] == "signals"]
    down = [h for h in health if h["status"] == "down"]
    assert down and all(f"{user_module}.py:27" in h["message"] and "ZeroDivisionError" in h["message"] for h in down)
    assert any(h["status"] == "ok" for h in health)
    assert isinstance(engine.strategy, PluginStrategy) and [k for k, _ in engine.strategy.inner.seen] == [0, 2, 4]


def test_a_decision_for_the_wrong_number_of_symbols_is_refused_with_where_decide_is(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    built = build(_settings(tmp_path, f"{user_module}:Short"), panel, 0)
    n = len(panel.symbols)
    with pytest.raises(UserCodeError, match=rf"\(1,\) weights for {n} symbols \(at {user_module}\.py:\d+\)"):
        built.strategy.decide(panel.close_times[0], FeatureView(built.features, 0))


def test_the_engine_hands_the_user_features_to_decide_through_the_view(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    engine, _ = _engine(panel, _settings(tmp_path, f"{user_module}:Flat", params={"scale": 3.0}))
    for k in range(5):
        engine.step(k)
    assert isinstance(engine.strategy, PluginStrategy)
    seen = engine.strategy.inner.seen
    assert [k for k, _ in seen] == list(range(5))
    for k, values in seen:
        assert np.array_equal(values, panel.prices.close[k] * 3.0, equal_nan=True)


def test_a_plugin_feature_may_not_replace_a_built_in_panel_and_a_missing_one_is_named(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    with pytest.raises(ConfigError, match="feature 'close' is already a built-in panel"):
        build(_settings(tmp_path, f"{user_module}:Clashes"), panel, 0)
    members = {"members": [f"{user_module}:NeedsMore"]}
    with pytest.raises(ConfigError, match=r"reads features \['nothing_builds_this'\] that no one builds"):
        build(
            Settings(home=tmp_path / "home", strategy={"name": "ensemble"}, board=members),
            panel,
            0,
        )


def _prefix(prices: PriceArrays, t: int) -> PriceArrays:
    return PriceArrays(prices.open[:t], prices.high[:t], prices.low[:t], prices.close[:t], prices.volume[:t])


@pytest.mark.parametrize(("module", "cls"), [("momentum", "Momentum"), ("template", "Template")])
def test_example_and_template_features_are_point_in_time(
    module: str, cls: str, panel: Panel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appending future bars leaves every row already computed unchanged (no look-ahead)."""
    from papertrader.cli.plugins import render_template

    if module == "template":
        module = "template_pit_check"
        (tmp_path / f"{module}.py").write_text(render_template(module))
        cls = "TemplatePitCheck"
        monkeypatch.syspath_prepend(str(tmp_path))
    else:
        monkeypatch.syspath_prepend(str(EXAMPLES))
    try:
        instance = getattr(__import__(module), cls)(panel.symbols)
        full = instance.features(panel.prices)
        for t in (80, 150, len(panel) - 1):
            early = instance.features(_prefix(panel.prices, t))
            for name, values in early.items():
                assert np.array_equal(values, full[name][:t], equal_nan=True), (name, t)
    finally:
        sys.modules.pop(module, None)


def test_a_plugin_member_votes_under_its_configured_name_and_a_raising_one_is_left_out_with_its_line(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    good, bad = f"{user_module}:Member", f"{user_module}:BadMember"
    settings = Settings(
        home=tmp_path / "home",
        strategy={"name": "ensemble"},
        board={"members": ["trend", good, bad], "params": {good: {"p": 0.7}}, "calibration": "none"},
    )
    built = build(settings, panel, 60)
    board = built.strategy
    assert isinstance(board, Ensemble)
    assert [m.name for m in board.members] == ["trend", good, bad]
    member = board.members[1]
    assert isinstance(member, PluginMember) and member.inner.p == 0.7
    opinions, failed = board.poll(panel.close_times[70], FeatureView(built.features, 70))
    assert [op.member for op in opinions] == ["trend", good]
    assert f"{user_module}.py:52" in failed[bad] and "KeyError" in failed[bad]


def test_an_unknown_member_is_a_config_error_listing_the_builtin_members(tmp_path: Path, panel: Panel) -> None:
    settings = Settings(home=tmp_path / "home", strategy={"name": "ensemble"}, board={"members": ["trend", "oracle"]})
    with pytest.raises(ConfigError, match=r"unknown board member 'oracle'.*lstm, gru.*papertrader\.members"):
        build(settings, panel, 60)


def test_optional_hooks_are_typed_protocols_the_board_has_and_the_trend_baseline_lacks(
    user_module: str, tmp_path: Path, panel: Panel
) -> None:
    board = Ensemble([QuietMember()], 4)
    assert all(isinstance(board, p) for p in (Replayable, Closable, MemberStatusReporter, HealthReporter))
    trend = TrendFollowing(4)
    assert not any(isinstance(trend, p) for p in (Replayable, Closable, MemberStatusReporter, HealthReporter))
    plugin = build(_settings(tmp_path, f"{user_module}:Flat"), panel, 0).strategy
    assert isinstance(plugin, PluginStrategy)
    assert plugin.health() == {} and plugin.member_status() == {}
    views = ((panel.close_times[k], FeatureView(plugin_features(plugin, panel), k)) for k in range(3))
    decision = plugin.replay(views)  # a stateless user strategy decides the last committed cycle only
    assert decision is not None and [k for k, _ in plugin.inner.seen] == [2]


def plugin_features(strategy: PluginStrategy, panel: Panel) -> dict[str, np.ndarray]:
    assert strategy.extras is not None
    return {"sma_20": np.zeros_like(panel.prices.close), **strategy.extras(panel.prices)}


class QuietMember:
    """The smallest member: no view on anything (synthetic)."""

    name = "quiet"
    timeframe: Timeframe = "trend"

    def required_features(self) -> tuple[str, ...]:
        return ()

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        return Opinion.silent(self.name, "trend", 4, "quiet")


def test_every_name_the_factory_builds_itself_is_a_built_in_never_looked_up_as_a_plugin() -> None:
    from papertrader.config.advisors import ADVISOR_NAMES
    from papertrader.models.registry import MEMBER_FAMILY

    assert {*MEMBER_FAMILY, *ADVISOR_NAMES, "trend"} == set(plugins.BUILTIN_MEMBERS)
    assert {*MEMBER_FAMILY, "trend", "ensemble"} == set(plugins.BUILTIN_STRATEGIES)
