"""Default configurations of the three families: the production sizes and the small ones CI trains.

Production sizes follow the design: LSTM 2 layers x 128 units over 40 bars, GRU 2 layers x 64 units over
24 coarser bars, PPO with a 64-64 MLP. Small configurations keep the same structure with tiny widths and
few updates, so the whole train -> register -> load -> predict path runs in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from papertrader.config.settings import CostSettings
from papertrader.features.macro import macro_spec_for
from papertrader.features.returns import ReturnSpec
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import TechnicalSpec
from papertrader.models.data import LabelSpec
from papertrader.models.rl.agent import PPOSpec
from papertrader.models.rl.env import EnvConfig
from papertrader.models.sequence import SequenceSpec
from papertrader.models.trainer import TrainConfig
from papertrader.models.validation import WalkForwardConfig


def feature_spec(
    macro_series: Iterable[str] = (),
    fundamentals: bool = False,
    coarse: bool = False,
    *,
    sentiment: bool = False,
    fundamentals_lag_days: float = 1.0,
    macro_lag_days: int = 0,
) -> PipelineSpec:
    """Technical, return and calendar features, plus macro (when series exist), fundamentals and news sentiment.

    Coarse bars (the GRU's) use shorter look-backs, so a weekly model is not mostly warm-up. The lags are the
    point-in-time delays of settings `features.*`; they are part of the spec, so inference uses the same ones.
    """
    from papertrader.features.fundamentals import FundamentalsSpec
    from papertrader.features.sentiment import SentimentSpec

    available = tuple(macro_series)
    macro = macro_spec_for(available, macro_lag_days) if available else None
    if macro is not None and not macro.series:
        macro = None
    base = PipelineSpec()
    technical = base.technical
    returns = base.returns
    if coarse:
        technical = TechnicalSpec(sma=(4, 10, 20, 40), relative=True)
        returns = ReturnSpec(lags=4, momentum=(4, 13, 26, 52), rvol=(13,))
    return replace(
        base,
        technical=technical,
        returns=returns,
        macro=macro,
        fundamentals=FundamentalsSpec(delay_days=fundamentals_lag_days) if fundamentals else None,
        sentiment=SentimentSpec() if sentiment else None,
    )


def families(features: PipelineSpec) -> list[str]:
    """The data families a feature spec reads, as manifests name them (price, macro, fundamentals, news)."""
    out = ["price"]
    if features.macro is not None:
        out.append("macro")
    if features.fundamentals is not None:
        out.append("fundamentals")
    if features.sentiment is not None:
        out.append("news")
    return out


def _train_config(small: bool, epochs: int | None) -> TrainConfig:
    """The CI-sized or default training schedule, with an optional epoch override."""
    train = TrainConfig(epochs=2, batch_size=256, max_batches_per_epoch=4, patience=2) if small else TrainConfig()
    return train if epochs is None else replace(train, epochs=epochs)


def lstm_spec(
    interval: str, features: PipelineSpec, small: bool = False, epochs: int | None = None, horizon: int = 5
) -> SequenceSpec:
    """The LSTM direction model: UP/DOWN/FLAT over `horizon` bars."""
    train = _train_config(small, epochs)
    return SequenceSpec(
        family="lstm",
        interval=interval,
        lookback=10 if small else 40,
        hidden=8 if small else 128,
        layers=2,
        labels=LabelSpec("direction", horizon=horizon),
        features=features,
        train=train,
    )


def gru_spec(
    interval: str, features: PipelineSpec, small: bool = False, epochs: int | None = None, horizon: int = 4
) -> SequenceSpec:
    """The GRU trend model over coarser bars: trend class and reversal over `horizon` coarse bars."""
    train = _train_config(small, epochs)
    return SequenceSpec(
        family="gru",
        interval=interval,
        lookback=8 if small else 24,
        hidden=8 if small else 64,
        layers=2,
        labels=LabelSpec("trend", horizon=horizon),
        features=features,
        train=train,
    )


def ppo_spec(
    interval: str, features: PipelineSpec, costs: CostSettings, small: bool = False, timesteps: int | None = None
) -> PPOSpec:
    """The PPO agent; `timesteps` overrides the training length."""
    env = EnvConfig(costs=costs, episode_length=64 if small else 252)
    if small:
        spec = PPOSpec(
            interval=interval,
            features=features,
            env=env,
            total_timesteps=512,
            n_envs=2,
            n_steps=128,
            batch_size=64,
            n_epochs=1,
            net_arch=(16, 16),
        )
    else:
        spec = PPOSpec(interval=interval, features=features, env=env)
    return replace(spec, total_timesteps=timesteps) if timesteps else spec


def holdout(n_rows: int, horizon: int) -> WalkForwardConfig:
    """One fold at the end of the data: the last 15% test, 10% validation before it, the rest training."""
    test = max(10, int(n_rows * 0.15))
    val = max(10, int(n_rows * 0.10))
    train = max(10, n_rows - test - val - 4 * horizon - horizon - 1)
    return WalkForwardConfig(n_folds=1, test_rows=test, val_rows=val, train_rows=train, horizon=horizon)


def walk_forward_config(n_rows: int, horizon: int, n_folds: int = 4) -> WalkForwardConfig:
    """Expanding folds whose test windows cover the last ~40% of the rows."""
    test = max(10, int(n_rows * 0.4 / n_folds))
    val = max(10, int(n_rows * 0.08))
    train = max(10, int(n_rows * 0.3))
    return WalkForwardConfig(n_folds=n_folds, test_rows=test, val_rows=val, train_rows=train, horizon=horizon)
