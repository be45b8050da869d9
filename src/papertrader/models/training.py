"""Train one family on bars, score it on a held-out window, and register it with a full manifest.

The held-out window is the last fold of `specs.holdout`: the model never sees it (purged and embargoed),
so the metrics stored with the version are out-of-sample, beside the majority baseline of the same rows.
The quality gate (`metrics["gate"]`, see models.gating) is measured on the fold's validation rows and then on
its test rows (models.gate.both_windows): a version votes on the board only if it beats the base rate on both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.core.errors import ConfigError
from papertrader.features.inputs import External
from papertrader.features.spec import PipelineSpec
from papertrader.models import specs
from papertrader.models.data import Market, build_market, featurize, window_fingerprint
from papertrader.models.gate import gate_windows
from papertrader.models.gating import agent_gate, sequence_gate
from papertrader.models.metrics import score_classifier
from papertrader.models.registry import MEMBER_FAMILY, Registration, Registry
from papertrader.models.resample import resample_bars
from papertrader.models.rl.agent import PPOAgent, PPOSpec
from papertrader.models.scaleout import run_local
from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
from papertrader.models.trading import backtest_rule, positions_from_probs
from papertrader.models.trainer import EpochStats, Trainer
from papertrader.models.tuning import Trial, apply_params, best, run_trial, search, with_params
from papertrader.models.validation import make_folds

Kind = Literal["lstm", "gru", "ppo", "lgbm"]
REGISTRY_FAMILY: dict[str, str] = dict(MEMBER_FAMILY)


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how big; `small` is the CI size."""

    kind: Kind
    interval: str = "1d"
    small: bool = False
    epochs: int | None = None
    batches_per_epoch: int | None = None
    timesteps: int | None = None
    horizon: int | None = None
    macro_series: tuple[str, ...] = ()
    fundamentals: bool = False
    sentiment: bool = False  # news sentiment features (the "news" family)
    fundamentals_lag_days: float = 1.0  # settings features.fundamentals_lag_days
    macro_lag_days: int = 0  # settings features.macro_lag_days
    progress: bool = False
    promote: bool | None = None
    trials: int = 0  # hyper-parameter trials (validation rows only) before the final fit
    #: hyper-parameters set on the family's spec (models.tuning.with_params), e.g. hidden, lookback, lr
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TrainOutcome:
    """A registered version and what it scored on its held-out window."""

    family: str
    version: str
    metrics: dict[str, Any]
    seconds: float
    samples_per_second: float
    extra: dict[str, Any] = field(default_factory=dict)


def market_for(
    bars: pd.DataFrame, options: TrainOptions, costs: CostSettings, external: External | None
) -> tuple[Market, str, PipelineSpec]:
    """The data set a family trains on (coarser bars for the GRU), its interval and feature spec."""
    coarse = options.kind == "gru"
    interval = options.interval
    if coarse:
        bars, interval = resample_bars(bars, options.interval)
    features = specs.feature_spec(
        options.macro_series,
        options.fundamentals,
        coarse=coarse,
        sentiment=options.sentiment,
        fundamentals_lag_days=options.fundamentals_lag_days,
        macro_lag_days=options.macro_lag_days,
    )
    if options.kind == "lstm":
        label = specs.lstm_spec(interval, features, horizon=options.horizon or 5).labels
    elif options.kind == "gru":
        label = specs.gru_spec(interval, features, horizon=options.horizon or 4).labels
    else:
        label = specs.lstm_spec(interval, features, horizon=options.horizon or 5).labels
    return build_market(bars, interval, label, costs, external), interval, features


def sequence_spec_for(options: TrainOptions, interval: str, features: PipelineSpec) -> SequenceSpec:
    """The LSTM or GRU spec for these options."""
    if options.kind == "lstm":
        spec = specs.lstm_spec(interval, features, options.small, options.epochs, options.horizon or 5)
    else:
        spec = specs.gru_spec(interval, features, options.small, options.epochs, options.horizon or 4)
    if options.batches_per_epoch is not None:
        spec = replace(spec, train=replace(spec.train, max_batches_per_epoch=options.batches_per_epoch))
    return spec


def _train_sequence(
    market: Market,
    spec: SequenceSpec,
    costs: CostSettings,
    registry: Registry,
    options: TrainOptions,
    on_epoch: Callable[[EpochStats], None] | None,
    mapper: Callable[..., list[Any]],
) -> TrainOutcome:
    fold = make_folds(len(market), specs.holdout(len(market), spec.labels.horizon))[0]
    tried: list[Trial] = []
    if options.trials > 0:
        base = spec

        def evaluate(batch: list[dict[str, Any]]) -> list[Trial]:
            """One batch of configurations trained and scored on the fold's validation rows (here or on Ray)."""
            return mapper(run_trial, market, (base, fold), batch)

        parallel = 1 if mapper is run_local else 4  # Ray runs a batch at once; in-process, TPE learns from each
        tried = search(spec.family, options.trials, spec.train.seed, evaluate, parallel)
        spec = apply_params(spec, best(tried).params)
    data = prepare(market, spec, fold.rows("train"), fold.rows("val"), fold.rows("test"))
    assert data.test is not None
    model = SequenceModel(spec)
    checkpoints = registry.root / ".checkpoints" / spec.family
    fit = model.fit(data, Trainer(spec.train, checkpoint_dir=checkpoints, progress=options.progress, on_epoch=on_epoch))
    out = model.predict(data.test)
    probs, test = out["probs"], data.test
    counts = data.train.class_counts(3)
    majority = int(np.argmax(counts))
    fwd = market.forward[test.rows, test.symbols]
    scores = score_classifier(probs, test.y, majority, probs[:, 2] - probs[:, 0], fwd)
    rows = np.unique(test.rows)
    targets = np.zeros((rows.size, len(market.symbols)))
    targets[np.searchsorted(rows, test.rows), test.symbols] = positions_from_probs(probs, 2, 0, False)
    trading = backtest_rule(targets, rows, market.opens, market.closes, costs, market.periods_per_year(rows))
    metrics = {
        "holdout": scores.as_dict(),
        "trading": trading.scores.as_dict(),
        "fit": {k: v for k, v in fit.to_dict().items() if k != "history"},
        "samples": {"train": len(data.train), "val": len(data.val), "test": len(test)},
        "temperature": model.temperature,
        "trials": [t.as_dict() for t in tried],
        "gate": gate_windows(sequence_gate(model, data, market), sequence_gate(model, data, market, "test")),
    }
    fallback: dict[str, Any] = {"class_prior": (counts / max(counts.sum(), 1)).tolist()}
    if spec.family == "gru":
        fallback["reversal_rate"] = float(np.mean(data.train.aux))
    start, end = market.window(*fold.train)
    assert model.pipeline is not None
    info = Registration(
        config={
            **spec.to_dict(),
            "n_features": len(model.pipeline.names),
            "input_shape": [spec.lookback, len(model.pipeline.names)],
            "symbols": list(market.symbols),
            "source_interval": options.interval,
            "families": specs.families(spec.features),
        },
        schema_hash=model.pipeline.schema_hash,
        training_window={"start": start, "end": end, "data_end": market.inputs.ts[-1].isoformat()},
        data_fingerprint=window_fingerprint(market, fold.train),
        metrics=metrics,
        fallback=fallback,
    )
    version = registry.register(REGISTRY_FAMILY[spec.family], model, info, promote=options.promote)
    return TrainOutcome(spec.family, version, metrics, fit.seconds, fit.samples_per_second)


def _train_ppo(market: Market, spec: PPOSpec, registry: Registry, options: TrainOptions) -> TrainOutcome:
    fold = make_folds(len(market), specs.holdout(len(market), market.label_spec.horizon))[0]
    train_rows, val_rows, test_rows = fold.rows("train"), fold.rows("val"), fold.rows("test")
    fitted, tensor = featurize(market, spec.features, (int(train_rows[0]), int(train_rows[-1]) + 1))
    agent = PPOAgent(spec).fit(tensor, market.opens, market.closes, train_rows, fitted, progress=options.progress)
    run = agent.evaluate(tensor, market.opens, market.closes, test_rows, market.periods_per_year(test_rows))
    metrics = {
        "trading": run.scores.as_dict(),
        "fit": {"seconds": agent.seconds, "timesteps": spec.total_timesteps},
        "gate": gate_windows(
            agent_gate(agent, tensor, market, train_rows, val_rows),
            agent_gate(agent, tensor, market, train_rows, test_rows),
        ),
    }
    start, end = market.window(*fold.train)
    n_obs = tensor.shape[2] + 4
    info = Registration(
        config={
            **spec.to_dict(),
            "n_features": tensor.shape[2],
            "input_shape": [n_obs],
            "symbols": list(market.symbols),
            "families": specs.families(spec.features),
        },
        schema_hash=fitted.schema_hash,
        training_window={"start": start, "end": end, "data_end": market.inputs.ts[-1].isoformat()},
        data_fingerprint=window_fingerprint(market, fold.train),
        metrics=metrics,
    )
    version = registry.register("rl", agent, info, promote=options.promote)
    rate = spec.total_timesteps / agent.seconds if agent.seconds > 0 else 0.0
    return TrainOutcome("rl", version, metrics, agent.seconds, rate)


def _train_lgbm(bars: pd.DataFrame, options: TrainOptions, registry: Registry, costs: CostSettings) -> TrainOutcome:
    """The cross-sectional LightGBM member (models.crosstrain): Alpha158 factors, excess-return label, rank IC."""
    from papertrader.models.crosstrain import cross_section_spec, fit_cross_section, register_cross_section

    spec = with_params(cross_section_spec(options.interval, options.small, options.horizon), options.params)
    outcome = fit_cross_section(bars, spec, costs)
    version = register_cross_section(outcome, registry, options.interval, options.promote)
    return TrainOutcome("lgbm", version, outcome.metrics, outcome.seconds, outcome.samples_per_second)


def train_and_register(
    bars: pd.DataFrame,
    options: TrainOptions,
    registry: Registry,
    costs: CostSettings,
    external: External | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    mapper: Callable[..., list[Any]] = run_local,
) -> TrainOutcome:
    """Train one family on the bars, score it on the held-out window, register (and maybe promote) it.

    With `options.trials`, hyper-parameter trials run first through `mapper` (in-process or Ray) on the
    held-out fold's training and validation rows; the best validation loss picks the final configuration.
    """
    if options.kind not in REGISTRY_FAMILY:
        raise ConfigError(f"unknown model kind {options.kind!r}: use lstm, gru, ppo or lgbm")
    if options.kind == "lgbm":
        return _train_lgbm(bars, options, registry, costs)
    market, interval, features = market_for(bars, options, costs, external)
    if options.kind == "ppo":
        ppo = with_params(specs.ppo_spec(interval, features, costs, options.small, options.timesteps), options.params)
        return _train_ppo(market, ppo, registry, options)
    spec = with_params(sequence_spec_for(options, interval, features), options.params)
    return _train_sequence(market, spec, costs, registry, options, on_epoch, mapper)
