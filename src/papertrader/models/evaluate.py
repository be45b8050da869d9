"""Walk-forward report of one family straight from bars: the entry point of `train --walk-forward`."""

from __future__ import annotations

import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.features.inputs import External
from papertrader.models import specs
from papertrader.models.report import FamilyReport, build_report
from papertrader.models.training import TrainOptions, market_for, sequence_spec_for
from papertrader.models.validation import WalkForwardConfig
from papertrader.models.walkforward import Mapper, Plan, in_process


def walk_forward_report(
    bars: pd.DataFrame,
    options: TrainOptions,
    costs: CostSettings,
    external: External | None = None,
    mapper: Mapper = in_process,
    n_folds: int = 4,
    folds: WalkForwardConfig | None = None,
    long_short: bool = False,
    run_audit: bool = True,
) -> FamilyReport:
    """Every model of the family's table (model and baselines) over the same purged, embargoed folds."""
    market, interval, features = market_for(bars, options, costs, external)
    horizon = market.label_spec.horizon
    config = folds or specs.walk_forward_config(len(market), horizon, n_folds)
    if options.kind == "ppo":
        ppo = specs.ppo_spec(interval, features, costs, options.small, options.timesteps)
        plan = Plan("ppo", config, costs, ppo=ppo, long_short=long_short)
    else:
        plan = Plan(
            options.kind, config, costs, sequence=sequence_spec_for(options, interval, features), long_short=long_short
        )
    return build_report(market, plan, mapper, run_audit=run_audit)
