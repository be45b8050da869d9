"""Robust scaling and clipping, learned on a training window only and applied anywhere.

Per feature, pooled over the symbols and rows of the training window (after the missing-data fill):
center = median, scale = interquartile range (or the clip range, or 1, when that is 0), and clip bounds
= the `clip_quantiles` of the training values, in scaled units. Nothing outside the window is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError, DataError


@dataclass(frozen=True, slots=True)
class ScalingSpec:
    """Scaler kind, clip quantiles (None: no clipping) and the value that replaces what is still missing."""

    method: Literal["robust", "none"] = "robust"
    clip_quantiles: tuple[float, float] | None = (0.005, 0.995)
    fill_value: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in ("robust", "none"):
            raise ConfigError(f"scaling.method must be robust or none (got {self.method!r})")
        if self.clip_quantiles is not None:
            lo, hi = self.clip_quantiles
            if not 0.0 <= lo < 0.25 or not 0.75 < hi <= 1.0:
                raise ConfigError("scaling.clip_quantiles must be (lo < 0.25, hi > 0.75) within [0, 1]")


@dataclass(frozen=True)
class FittedScaler:
    """Per-feature center, scale and clip bounds (scaled units); the same arrays scale batch and stream."""

    center: Array
    scale: Array
    lower: Array
    upper: Array
    fill_value: float

    def apply(self, values: Array) -> Array:
        """Scale, clip and fill a (F, ...) block in place (features on the first axis); returns it."""
        shape = (-1,) + (1,) * (values.ndim - 1)
        values -= self.center.reshape(shape)
        values /= self.scale.reshape(shape)
        np.clip(values, self.lower.reshape(shape), self.upper.reshape(shape), out=values)
        values[np.isnan(values)] = self.fill_value
        return values

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for a model artifact (infinite bounds as None)."""

        def enc(a: Array) -> list[float | None]:
            return [float(v) if np.isfinite(v) else None for v in a]

        return {
            "center": enc(self.center),
            "scale": enc(self.scale),
            "lower": enc(self.lower),
            "upper": enc(self.upper),
            "fill_value": self.fill_value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedScaler:
        """Rebuild from `to_dict` output."""

        def dec(key: str, missing: float) -> Array:
            return np.asarray([missing if v is None else float(v) for v in data[key]], dtype=np.float64)

        lower, upper = dec("lower", -np.inf), dec("upper", np.inf)
        return cls(dec("center", 0.0), dec("scale", 1.0), lower, upper, float(data["fill_value"]))


def identity_scaler(n_features: int, spec: ScalingSpec) -> FittedScaler:
    """A scaler that only fills missing values (method none, or before any fit)."""
    inf = np.full(n_features, np.inf)
    return FittedScaler(np.zeros(n_features), np.ones(n_features), -inf, inf.copy(), spec.fill_value)


def fit_scaler(train: Array, spec: ScalingSpec) -> FittedScaler:
    """Learn per-feature robust parameters from a (F, T_train, N) block of training values."""
    f = train.shape[0]
    if spec.method == "none":
        return identity_scaler(f, spec)
    if train.size == 0:
        raise DataError("the training window holds no rows; widen it")
    lo_q, hi_q = spec.clip_quantiles or (0.0, 1.0)
    center, scale = np.zeros(f), np.ones(f)
    lower, upper = np.full(f, -np.inf), np.full(f, np.inf)
    for i in range(f):
        x = train[i][np.isfinite(train[i])]
        if x.size == 0:
            continue
        q_lo, q25, q50, q75, q_hi = np.quantile(x, [lo_q, 0.25, 0.5, 0.75, hi_q])
        spread = q75 - q25
        if not spread > 0:
            spread = q_hi - q_lo if q_hi > q_lo else 1.0
        center[i], scale[i] = q50, spread
        if spec.clip_quantiles is not None:
            lower[i], upper[i] = (q_lo - q50) / spread, (q_hi - q50) / spread
    return FittedScaler(center, scale, lower, upper, spec.fill_value)
