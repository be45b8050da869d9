"""Strategy selection: build (feature panels, strategy) for whatever `settings.strategy.name` says.

"trend" is the moving-average baseline. "lstm", "gru" and "ppo" run one registered model as a one-member
board, and "ensemble" runs the whole board (`settings.board.members`); both go through the same calibration,
weighting and Kelly inputs, so a member alone and the board are compared like for like. The engine is handed
every panel the members read: the trend SMAs, each model's features through its own fitted pipeline
(namespaced `lstm:`, `ppo:`), the GRU's weekly features aligned to closed weeks (`gru:`), and the raw close.

Calibrators are fitted on the `board.calibration_bars` bars right before the first trading cycle, never
on or before any used model's data (models.holdout: training end + label embargo, or data_end with the
validation and test rows when later), and are stored under `$PAPERTRADER_HOME/board/` keyed by model
versions, window, method and the cost settings the labels were netted with, so a rerun loads the same ones.
A window whose first cycle is inside a used model's data is refused (ConfigError) by `build`.
LLM advisors are never calibrated: that would mean polling them over history (money, and recall).

A model member whose version did not pass the quality gate (`signals.gating`) is built and polled but left
out of the vote; calibration, drift references and the out-of-sample calibration window are computed from the
members that vote, so the board is the same as one built without the left-out members. When no model member
passes, the board trades what did (the trend member) and says so once, in the log, when it is built.

LLM advisors named in `board.members` join the ensemble when `settings.advisors` admits them (key in the
environment, enabled, and a live run or `in_backtests`); they read the raw close and volume panels, and their
horizon on the board is their own `horizon_bars`. Each model member's features get a drift reference fitted on
the model's training span (or, when the panel does not reach back that far, the rows before the first traded
cycle), checked every `monitor.drift_every` cycles.

This is wiring, not a strategy: it reads the engine's Panel and the lake and hands the pure board (signals/)
what it needs, so it lives on the composition side; engine/kernel.py calls `build` for every run mode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from papertrader.config.advisors import ADVISOR_NAMES
from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings
from papertrader.core.arrays import Array
from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError
from papertrader.core.logonce import OncePerMessage
from papertrader.data.store import Lake
from papertrader.engine import plugins
from papertrader.engine.panel import Panel
from papertrader.engine.plugins import UserFeatures
from papertrader.features.alpha158 import alpha158, feature_names
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.pipeline import FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.models.data import round_trip_cost
from papertrader.models.holdout import check_out_of_sample as check_bound
from papertrader.models.holdout import latest_seen, sample_bounds
from papertrader.models.loading import ModelHandle
from papertrader.models.registry import MEMBER_FAMILY, Manifest, Registry
from papertrader.signals.base import Strategy
from papertrader.signals.calibration import BoardCalibration, Curve, MemberCalibration, calibration_key, fit_board
from papertrader.signals.drift import DriftMonitor
from papertrader.signals.ensemble import Ensemble, Monitor
from papertrader.signals.gating import admissions, left_out
from papertrader.signals.members import (
    CLOSE,
    ROW_SUFFIX,
    AgentMember,
    CoarseMember,
    CrossSectionMember,
    SequenceMember,
    ShadowBook,
    TrendMember,
    coarse_panels,
    fitted_pipeline,
    handle_for,
    panel_name,
)
from papertrader.signals.trend import TrendFollowing
from papertrader.signals.votes import Member

log = logging.getLogger(__name__)
# the demo builds the same board for the replay and each comparison row: each verdict is news once
log.addFilter(OncePerMessage("uncalibrated", "quality gate: "))
FAMILY = MEMBER_FAMILY
VOLUME = "volume"
ADVISOR = "advisor"


@dataclass(frozen=True)
class FeatureBuilder:
    """Every panel a strategy reads, from a price panel: built once, called again as a live panel grows.

    Each feature is causal (row k reads bars up to k), so rebuilding on a longer panel leaves the rows
    already seen identical; `Engine.extend` checks that. The side data (macro series, fundamentals, news) is
    what the lake held at build time.
    """

    spec: TechnicalSpec
    pipelines: tuple[tuple[str, FittedPipeline], ...] = ()
    external: External = field(default_factory=External)
    close: bool = True
    volume: bool = False
    #: (member, factor windows) of cross-sectional members: their Alpha158 panels, namespaced `lgbm:`
    cross_sections: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: plug-ins' own features(prices) (engine.plugins.UserFeatures): checked shapes, no built-in name replaced
    extras: tuple[UserFeatures, ...] = ()
    #: the technical columns the run reads (`technical_columns`); None: every column of the spec
    columns: frozenset[str] | None = None

    def __call__(self, panel: Panel) -> dict[str, Array]:
        """The trend SMAs, each model member's pipeline features (`lstm:`, `ppo:`, weekly `gru:`), close, volume."""
        features: dict[str, Array] = {CLOSE: panel.prices.close} if self.close else {}
        features.update(compute_technical(panel.prices, self.spec, self.columns))
        inputs = FeatureInputs(panel.symbols, panel.interval, panel.ts, panel.prices, self.external)
        for name, fitted in self.pipelines:
            if name == "gru":
                bars = panel_bars(panel)
                features.update(coarse_panels(bars, panel.interval, fitted, panel.ts, panel.symbols, self.external))
                continue
            for feat, values in fitted.transform(inputs).panels().items():
                features[panel_name(name, feat)] = values
        for name, windows in self.cross_sections:
            factors = alpha158(panel.prices, windows)
            for f, feat in enumerate(feature_names(windows)):
                features[panel_name(name, feat)] = np.ascontiguousarray(factors[:, :, f], dtype=np.float64)
        if self.volume:
            features[VOLUME] = panel.prices.volume
        for extra in self.extras:  # a built-in name stays taken whether or not this run builds it
            features.update(extra(panel.prices, {*features, *self.spec.names()}))
        return features


@dataclass
class Built:
    """What the engine needs to run a strategy, plus what made it (for reports and the compare command)."""

    features: dict[str, Array]
    strategy: Strategy
    manifests: dict[str, Manifest] = field(default_factory=dict)
    calibration: BoardCalibration | None = None
    calibration_path: Path | None = None
    #: recomputes `features` for a grown panel (the live loop calls it on every new bar)
    builder: FeatureBuilder | None = None
    #: model member -> why it does not vote (its version did not pass the quality gate); polled with weight 0
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def voting_manifests(self) -> dict[str, Manifest]:
        """The manifests of the model members that vote (what calibration and drift are fitted for)."""
        return {m: man for m, man in self.manifests.items() if m not in self.left_out}


def technical_spec(settings: Settings) -> TechnicalSpec:
    """The indicator set: the textbook periods plus whatever the trend strategy reads."""
    fast, slow = settings.strategy.fast, settings.strategy.slow
    return TechnicalSpec(sma=tuple(sorted({fast, slow, 20, 50})))


def technical_columns(spec: TechnicalSpec, readers: Iterable[Strategy | Member]) -> frozenset[str] | None:
    """The spec's columns the readers name, so a run computes only what is read; None (every column) when a
    plug-in may read a panel it did not name (it has no `reads_only_required()` saying otherwise).

    Only strategies and members read feature panels: the risk engine, guard, sizing and protective stops
    compute what they need (ATR, volatility) from the prices themselves.
    """
    named: set[str] = set()
    for reader in readers:
        if isinstance(reader, plugins.PluginStrategy | plugins.PluginMember) and not reader.lean:
            return None
        named.update(reader.required_features())
    return frozenset(named) & frozenset(spec.names())


def external_from(lake: Lake | None, settings: Settings | None = None) -> External:
    """The lake's macro series, fundamentals and news, stamped as training reads them (each model's pipeline
    reads the families it was trained with)."""
    if lake is None:
        return External()
    from papertrader.features.from_lake import external_from_lake

    return external_from_lake(lake, settings.features if settings is not None else None)


def panel_bars(panel: Panel) -> pd.DataFrame:
    """The panel back as long bars (symbol, ts, OHLCV), rows without a close dropped."""
    p = panel.prices
    t, n = p.close.shape
    frame = pd.DataFrame(
        {
            "symbol": np.tile(np.array(panel.symbols, dtype=object), t),
            "ts": np.repeat(panel.ts.to_numpy(), n),
            "open": p.open.ravel(),
            "high": p.high.ravel(),
            "low": p.low.ravel(),
            "close": p.close.ravel(),
            "volume": p.volume.ravel(),
        }
    )
    frame["ts"] = pd.DatetimeIndex(frame["ts"]).tz_localize("UTC") if frame["ts"].dt.tz is None else frame["ts"]
    out: pd.DataFrame = frame[np.isfinite(frame["close"].to_numpy())].reset_index(drop=True)
    return out


def member_names(settings: Settings) -> tuple[str, ...]:
    """The members a strategy name polls."""
    name = settings.strategy.name
    if name == "ensemble":
        return tuple(settings.board.members)
    return (name,)


def manifest_for(registry: Registry, member: str, version: str | None = None) -> Manifest:
    """The live (or the pinned `version`'s) manifest of a model member, or a ConfigError that says to train first."""
    try:
        return registry.manifest(FAMILY[member], version)
    except ConfigError as exc:
        raise ConfigError(
            f"strategy needs a registered {member} model ({exc}); run `papertrader train all` first"
        ) from exc


def training_end(manifest: Manifest) -> pd.Timestamp:
    """The last bar of a version's training window."""
    return pd.Timestamp(manifest.training_window["end"])


def check_out_of_sample(
    manifests: Mapping[str, Manifest], start: pd.Timestamp, ts: pd.DatetimeIndex, interval: str
) -> None:
    """Refuse a window that starts inside any used model's data (models.holdout: the one bound every path uses)."""
    check_bound(sample_bounds(manifests, ts, interval), start)


def _monitor(settings: Settings, n: int) -> Monitor | None:
    """The performance monitor, when the package ships it."""
    try:
        from papertrader.signals.monitor import PerformanceMonitor
    except ImportError:  # pragma: no cover - the monitor lands separately
        return None
    monitor_settings = getattr(settings, "monitor", None)
    return PerformanceMonitor(n, monitor_settings)


def build_members(
    settings: Settings,
    panel: Panel,
    names: Sequence[str],
    external: External,
    registry: Registry,
    versions: Mapping[str, str] | None = None,
) -> tuple[list[Member], dict[str, Array], dict[str, Manifest]]:
    """Members for the names, every panel they read, and the manifests of the models they run."""
    members, builder, manifests = board_members(settings, panel, names, external, registry, versions)
    return members, builder(panel), manifests


def board_members(
    settings: Settings,
    panel: Panel,
    names: Sequence[str],
    external: External,
    registry: Registry,
    versions: Mapping[str, str] | None = None,
) -> tuple[list[Member], FeatureBuilder, dict[str, Manifest]]:
    """Members for the names (each model at its `versions` pin, else the live version), their feature builder
    and the manifests of the models they run."""
    n = len(panel.symbols)
    pins = dict(versions or {})
    pipelines: list[tuple[str, FittedPipeline]] = []
    cross_sections: list[tuple[str, tuple[int, ...]]] = []
    members: list[Member] = []
    manifests: dict[str, Manifest] = {}
    extras: list[UserFeatures] = []
    for name in names:
        if not plugins.is_builtin_member(name):  # a plug-in member class (engine.plugins)
            members.append(plugin := plugins.member(settings, panel.symbols, name))
            if plugin.extras is not None:
                extras.append(plugin.extras)
            continue
        if name == "trend":
            members.append(TrendMember(settings.strategy.fast, settings.strategy.slow))
            continue
        if name in ADVISOR_NAMES:
            continue  # built by `advisors` (they need a clock and may be absent)
        family = FAMILY[name]
        manifest = manifest_for(registry, name, pins.get(name))
        manifests[name] = manifest
        source = str(manifest.config.get("source_interval") or manifest.config.get("interval", panel.interval))
        if source != panel.interval:
            raise ConfigError(
                f"the {name} model was trained on {source} bars, the run uses {panel.interval}; "
                f"run `papertrader train all --interval {panel.interval}` first"
            )
        if name == "lgbm":
            members.append(_cross_section_member(registry, manifest, pins.get(name)))
            cross_sections.append((name, _windows(manifest)))
            continue
        if name in pins:
            schema = PipelineSpec.from_dict(manifest.config["features"]).schema_hash()
            handle = ModelHandle(registry, family, expected_schema=schema, version=pins[name])
        else:
            handle, _ = handle_for(registry, family)
        fitted = fitted_pipeline(registry, family, manifest)
        pipelines.append((name, fitted))
        if name == "gru":
            members.append(
                CoarseMember(handle, fitted.names, int(manifest.config["lookback"]), version=manifest.version)
            )
            continue
        if name == "lstm":
            members.append(
                SequenceMember(handle, fitted.names, int(manifest.config["lookback"]), version=manifest.version)
            )
        else:
            max_units = int(manifest.config.get("env", {}).get("max_units", 2))
            members.append(AgentMember(handle, fitted.names, ShadowBook(n, max_units), version=manifest.version))
    builder = FeatureBuilder(
        technical_spec(settings), tuple(pipelines), external, cross_sections=tuple(cross_sections), extras=tuple(extras)
    )
    return members, builder, manifests


def _windows(manifest: Manifest) -> tuple[int, ...]:
    """The Alpha158 factor windows a LightGBM version was trained on."""
    return tuple(int(w) for w in manifest.config["windows"])


def _cross_section_member(registry: Registry, manifest: Manifest, pin: str | None) -> CrossSectionMember:
    """The LightGBM member at its pinned (else live) version; features are its Alpha158 panels."""
    windows = _windows(manifest)
    handle = ModelHandle(registry, "lgbm", expected_schema=manifest.schema_hash, version=pin)
    names = feature_names(windows)
    return CrossSectionMember(handle, names, max(windows) + 1, version=manifest.version)


def advisors(settings: Settings, n: int, names: Sequence[str], clock: Clock | None, historical: bool) -> list[Member]:
    """The advisors named in `names` that settings.advisors admits (key, enabled, live or in_backtests)."""
    wanted = [a for a in ADVISOR_NAMES if a in names]
    if not wanted:
        return []
    from papertrader.signals.advisors import advisor_members

    s = settings.advisors
    off: dict[str, object] = {
        a: s.of(a).model_copy(update={"enabled": False}) for a in ADVISOR_NAMES if a not in wanted
    }
    if clock is None:
        from papertrader.core.clock import WallClock

        clock = WallClock()  # budgets meter real spend, whatever the run's market clock says
    built = advisor_members(
        s.model_copy(update=off), n, clock, historical=historical, cache_dir=settings.home / "advisors"
    )
    return list(built)


def with_advisor_horizons(board: BoardSettings, members: Sequence[Member]) -> BoardSettings:
    """The board settings with each advisor's horizon set to the horizon its question names."""
    own = {m.name: int(h) for m in members if (h := getattr(m, "horizon_bars", None)) is not None}
    if not own:
        return board
    return board.model_copy(update={"horizons": {**board.horizons, **own}})


def drift_monitors(
    settings: Settings,
    panel: Panel,
    first: int,
    members: Sequence[Member],
    features: dict[str, Array],
    manifests: dict[str, Manifest],
) -> list[DriftMonitor]:
    """One drift reference per model member, fitted on its training span (rows before `first` only)."""
    out: list[DriftMonitor] = []
    window = settings.monitor.drift_window
    for m in members:
        manifest = manifests.get(m.name)
        if manifest is None:
            continue
        prefix = panel_name(m.name, "")
        panels = {f: features[f] for f in m.required_features() if f.startswith(prefix) and not f.endswith(ROW_SUFFIX)}
        start = int(panel.ts.searchsorted(pd.Timestamp(manifest.training_window["start"]), side="left"))
        end = min(int(panel.ts.searchsorted(training_end(manifest), side="right")), first)
        if end - start < window:  # the panel does not reach back over the training span
            start, end = max(0, first - settings.board.calibration_bars), first
        if end - start < window or not panels:
            log.warning("no drift reference for %s: fewer than %d rows before the first cycle", m.name, window)
            continue
        monitor = DriftMonitor(settings.monitor)
        monitor.fit(panels, start, end)
        out.append(monitor)
    return out


def calibration_window(panel: Panel, first: int, manifests: dict[str, Manifest], bars: int) -> tuple[int, int] | None:
    """Rows [start, first) right before trading and after every used model's data (None if empty).

    The bound is models.holdout's (training end + label embargo, or data_end when later): validation and test
    rows are in-sample for the model, so its calibration may not read them either.
    """
    start = max(0, first - bars)
    seen = latest_seen(sample_bounds(manifests, panel.ts, panel.interval))
    if seen is not None:
        start = max(start, int(panel.ts.searchsorted(seen, side="right")))
    return (start, first) if first - start >= 20 else None


def with_enough_evidence(
    calibration: BoardCalibration, horizons: Mapping[str, int], min_samples: int
) -> BoardCalibration:
    """Members whose labelled rows hold fewer than `min_samples` independent outcomes are left uncalibrated.

    A label spans `horizon` bars, so neighbouring rows share most of their outcome: 232 labelled rows of a
    20-bar member are about 12 independent outcomes per symbol, not 232. Counted as independent, one bear year
    (2008) was enough evidence to fit the trend member's curves to that regime's base rate (calibrated P(up)
    below P(down) at every raw level), and a long-only board of it never traded in the 2009-2013 rally.
    """
    kept: dict[str, MemberCalibration] = {}
    for name, member in calibration.members.items():
        independent = member.samples // max(1, int(horizons.get(name, 1)))
        if independent < min_samples and (member.up.method != "identity" or member.down.method != "identity"):
            log.warning(
                "calibration: %s has %d labelled rows but only %d independent %d-bar outcomes (< %d); "
                "left uncalibrated",
                name,
                member.samples,
                independent,
                horizons.get(name, 1),
                min_samples,
            )
            member = MemberCalibration(name, Curve(), Curve(), member.samples)
        kept[name] = member
    return replace(calibration, members=kept)


def calibrate(
    settings: Settings,
    panel: Panel,
    first: int,
    members: Sequence[Member],
    features: dict[str, Array],
    manifests: dict[str, Manifest],
    home: Path | None = None,
) -> tuple[BoardCalibration | None, Path | None]:
    """Load or fit the board's calibration for this window; stored beside the board config (under `home`, else
    the settings' home)."""
    board = settings.board
    members = [m for m in members if m.timeframe != ADVISOR]  # polling an LLM over history costs money
    if board.calibration == "none" or not members:
        return None, None
    window = calibration_window(panel, first, manifests, board.calibration_bars)
    if window is None:
        log.warning("no calibration window between model training and the first cycle: members uncalibrated")
        return None, None
    start, end = window
    key = calibration_key(
        {
            "members": [m.name for m in members],
            "versions": {m: man.version for m, man in manifests.items()},
            "symbols": list(panel.symbols),
            "interval": panel.interval,
            "start": panel.ts[start].isoformat(),
            "end": panel.ts[end - 1].isoformat(),
            "method": board.calibration,
            "horizons": {m.name: board.horizon(m.name) for m in members},
            "fast_slow": [settings.strategy.fast, settings.strategy.slow],
            "evidence": "independent horizons",  # files fitted before this rule counted overlapping labels
            "costs": settings.costs.model_dump(mode="json"),  # labels are net of these: new costs, new fit
            "payoff_floor": board.payoff_floor,
            "min_samples": board.min_calibration_samples,
        }
    )
    path = (home or settings.home) / "board" / f"calibration-{key}.json"
    horizons = {m.name: board.horizon(m.name) for m in members}
    fitted = fit_board(
        members,
        features,
        panel.prices.close,
        panel.ts,
        start,
        end,
        horizons,
        round_trip_cost(settings.costs),
        board.calibration,
        board.min_calibration_samples,
        board.payoff_floor,
    )
    fitted = with_enough_evidence(fitted, horizons, board.min_calibration_samples)
    if path.exists():
        # members were still polled over the window (stateful members warm up the same way); the stored
        # curves win so that a rerun is reproducible even if the model code changed underneath
        return BoardCalibration.load(path), path
    fitted.save(path)
    return fitted, path


def build(
    settings: Settings,
    panel: Panel,
    first: int,
    lake: Lake | None = None,
    names: Sequence[str] | None = None,
    with_monitor: bool = True,
    *,
    clock: Clock | None = None,
    historical: bool = True,
    versions: Mapping[str, str] | None = None,
    models_home: Path | None = None,
) -> Built:
    """Feature panels and the strategy the settings name (or a board of `names`), ready for the engine.

    `historical` is False only for live paper trading (advisors join history only with in_backtests);
    `clock` meters the advisors' daily budgets (the wall clock when None); `versions` pins model members to
    registered versions (a live session trading a retrained model), else each runs its family's live version.
    `first` is the first traded cycle: calibration and drift references use only rows before it. `models_home`
    is the home whose registry the model members load from and where calibrations are kept (None: settings.home).
    Call `strategy.close()` when done.
    """
    n = len(panel.symbols)
    if names is None and not plugins.is_builtin_strategy(settings.strategy.name):  # a plug-in (engine.plugins)
        user = plugins.strategy(settings, panel.symbols)
        extras = (user.extras,) if user.extras is not None else ()
        spec = technical_spec(settings)
        plugin_builder = FeatureBuilder(spec, volume=True, extras=extras, columns=technical_columns(spec, [user]))
        plugin_features = plugin_builder(panel)
        plugins.check_features([user], plugin_features)
        return Built(plugin_features, user, builder=plugin_builder)
    if names is None and settings.strategy.name == "trend":
        follow = TrendFollowing(n, settings.strategy.fast, settings.strategy.slow)
        spec = technical_spec(settings)
        trend = FeatureBuilder(spec, close=False, columns=technical_columns(spec, [follow]))
        return Built(trend(panel), follow, builder=trend)
    chosen = tuple(names) if names is not None else member_names(settings)
    registry = Registry(models_home or settings.home)
    external = external_from(lake, settings) if any(m in FAMILY for m in chosen) else External()
    members, builder, manifests = board_members(settings, panel, chosen, external, registry, versions)
    board_advisors = advisors(settings, n, chosen, clock, historical)
    columns = technical_columns(builder.spec, [*members, *board_advisors])
    # advisors read volume; every other panel (cross sections included) stays as the members need it
    builder = replace(builder, columns=columns, volume=builder.volume or bool(board_advisors))
    features = builder(panel)
    plugins.check_features(members, features)
    members = [*members, *board_advisors]
    if not members:
        raise ConfigError(
            f"no board member can run: {', '.join(chosen)} named, and the advisors among them are not admitted "
            "(see `papertrader config` and the advisors' keys)"
        )
    if first < len(panel):  # judged (or traded) only on bars no used model saw, embargo included
        check_out_of_sample(manifests, panel.ts[first], panel.ts, panel.interval)
    gated = left_out(admissions(manifests).values())
    heard = [m.name for m in members if m.name not in gated]
    if gated and heard:  # with nobody left to vote, the board itself says so (once, when it is built)
        log.warning("quality gate: %s; the board votes with %s", "; ".join(gated.values()), ", ".join(heard))
    for m in members:
        load = getattr(getattr(m, "predictor", None), "get", None)
        if m.name in gated and callable(load):
            load()  # not polled for calibration, so load it now: its health (fallbacks) is known before cycle one
    voting = [m for m in members if m.name not in gated]
    voting_manifests = {m: man for m, man in manifests.items() if m not in gated}
    calibration, path = calibrate(settings, panel, first, voting, features, voting_manifests, models_home)
    label = "ensemble" if len(chosen) > 1 else f"board_{chosen[0]}"
    strategy = Ensemble(
        members,
        n,
        with_advisor_horizons(settings.board, members),
        calibration=calibration,
        monitor=_monitor(settings, n) if with_monitor else None,
        allow_short=settings.risk.allow_short,
        name=label,
        drift=drift_monitors(settings, panel, first, voting, features, voting_manifests) if with_monitor else (),
        drift_every=settings.monitor.drift_every,
        left_out=gated,
    )
    return Built(features, strategy, manifests, calibration, path, builder, gated)


#: member attributes that say how many rows before a cycle its feature windows read (or must have seen)
_REACH_ATTRS = ("span", "lookback", "warmup")


def strategy_reach(strategy: Strategy, settings: Settings) -> int:
    """Rows before a cycle that a strategy's feature windows read (the longest of it and its board's members):
    what a bounded live panel must keep. A window past it is refused by FeatureView, never read short."""
    readers: list[object] = [strategy, *getattr(strategy, "members", ())]
    rows = [int(v) for r in readers for a in _REACH_ATTRS if isinstance(v := getattr(r, a, None), int)]
    if getattr(strategy, "members", None) is not None:
        rows.append(settings.monitor.drift_window)
    return max([1, *rows])
