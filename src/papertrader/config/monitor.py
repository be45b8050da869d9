"""Settings of the performance monitor: how members are scored, when one counts as degraded, how weights move.

Mounted as ``Settings.monitor``; every field reads ``PAPERTRADER_MONITOR__<FIELD>`` from the environment (for
example ``PAPERTRADER_MONITOR__AUTO_APPLY=true``). The defaults are conservative: the monitor observes and
proposes, but the ensemble applies proposals only when ``auto_apply`` is set.

Degradation is a pair of one-sided CUSUMs per member, documented in ``papertrader.signals.monitor``: the
first ``baseline_obs`` scored (opinion, symbol) pairs fix the member's own reference hit rate p0 and Brier
score; afterwards a Bernoulli log-likelihood-ratio CUSUM tests "hit rate fell to p0 - cusum_delta" and a
Gaussian one tests "Brier score rose by brier_delta". Either crossing ``cusum_threshold`` flags the member.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MonitorSettings(BaseModel):
    """Rolling scoring, degradation tests, weight bounds and feature-drift thresholds of the monitor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(250, ge=5, description="scored cycles per member kept in the rolling record")
    min_obs: int = Field(100, ge=1, description="scored (opinion, symbol) pairs before a member's weight may move")
    default_horizon: int = Field(1, ge=1, description="bars ahead an opinion is scored when no horizon is given")
    ece_bins: int = Field(10, ge=2, le=100, description="reliability bins of P(up) for the calibration error")
    cost_bps: float = Field(10.0, ge=0, description="cost of one round turn of a vote's position, basis points")

    min_multiplier: float = Field(0.25, ge=0, le=1, description="floor of a member's weight multiplier")
    max_multiplier: float = Field(2.0, ge=1, description="ceiling of a member's weight multiplier")
    full_skill_hit_rate: float = Field(
        0.60, gt=0.5, lt=1, description="rolling hit rate that earns the ceiling (0.5 earns 1.0, 1 - it the floor)"
    )
    prior_obs: int = Field(
        200, ge=0, description="pairs of shrinkage toward 'no skill': skill is scaled by n / (n + prior_obs)"
    )
    max_step: float = Field(0.05, gt=0, le=1, description="largest change of one member's weight per proposal")
    auto_apply: bool = Field(False, description="the ensemble applies proposals itself; off = propose and log only")
    propose_every: int = Field(20, ge=1, description="cycles between monitor.proposal / monitor.records events")

    baseline_obs: int = Field(500, ge=20, description="scored pairs that fix a member's own reference record")
    cusum_delta: float = Field(0.10, gt=0, lt=0.5, description="hit-rate drop from the reference the CUSUM looks for")
    brier_delta: float = Field(0.05, gt=0, description="rise of the mean Brier score the Brier CUSUM looks for")
    cusum_threshold: float = Field(
        12.0, gt=0, description="alarm level of both log-likelihood-ratio CUSUMs, nats (e^12: in-control run length)"
    )

    drift_bins: int = Field(10, ge=2, le=100, description="quantile bins of each feature's training distribution")
    drift_window: int = Field(
        250, ge=5, description="recent rows (cycles) scored against the training reference (60 rows flag calm regimes)"
    )
    drift_threshold: float = Field(0.25, gt=0, description="PSI past which a feature counts as drifted (0.25: major)")
    drift_every: int = Field(20, ge=1, description="cycles between the board's feature-drift checks (first cycle too)")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> MonitorSettings:
        if self.min_multiplier > self.max_multiplier:
            raise ValueError("monitor.min_multiplier must not exceed monitor.max_multiplier")
        return self
