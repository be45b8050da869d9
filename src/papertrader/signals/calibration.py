"""Per-member probability calibration, fitted on a calibration window that ends before any traded bar.

Members speak different dialects (a softmax, a PPO action distribution, a moving-average spread); calibration
maps each member's P(up) and P(down) onto observed frequencies so the ensemble can weigh them on one scale
and Kelly sizing gets honest probabilities. The fit reads only rows before `end`: features are cut at `end`
before any member opines, and labels come from closes cut at `end` (a row's label exists only when its whole
horizon closed before `end`). The result is stored as JSON beside the board config, so a run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.core.errors import DataError
from papertrader.core.logonce import OncePerMessage
from papertrader.features.labels import forward_returns
from papertrader.features.view import FeatureView
from papertrader.signals.votes import Member, Opinion

log = logging.getLogger(__name__)
log.addFilter(OncePerMessage("uncalibrated"))  # the demo calibrates the same board for each run: warn once
Method = Literal["isotonic", "platt", "none"]
_EPS = 1e-6


@dataclass(frozen=True)
class Curve:
    """A monotone map from a raw probability to a calibrated one (identity when unfitted)."""

    method: Literal["isotonic", "platt", "identity"] = "identity"
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    def apply(self, p: Array) -> Array:
        """Calibrated probabilities; NaN stays NaN."""
        p = np.asarray(p, dtype=np.float64)
        if self.method == "isotonic" and self.x:
            out = np.interp(p, np.asarray(self.x), np.asarray(self.y))
        elif self.method == "platt":
            z = np.log(np.clip(p, _EPS, 1 - _EPS) / np.clip(1 - p, _EPS, 1.0))
            out = 1.0 / (1.0 + np.exp(-(self.a * z + self.b)))
        else:
            out = p.copy()
        return np.asarray(np.where(np.isfinite(p), out, np.nan), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"method": self.method, "x": list(self.x), "y": list(self.y), "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Curve:
        """Rebuild from `to_dict`."""
        return cls(data["method"], tuple(data["x"]), tuple(data["y"]), float(data["a"]), float(data["b"]))


def fit_curve(raw: Array, outcome: Array, method: Method) -> Curve:
    """Fit a calibration curve of raw probabilities against 0/1 outcomes (finite pairs only)."""
    ok = np.isfinite(raw) & np.isfinite(outcome)
    p, y = raw[ok], outcome[ok]
    if method == "none" or p.size == 0 or np.unique(y).size < 2:
        return Curve()
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Curve("isotonic", tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))
    from sklearn.linear_model import LogisticRegression

    z = np.log(np.clip(p, _EPS, 1 - _EPS) / np.clip(1 - p, _EPS, 1.0))[:, None]
    lr = LogisticRegression(C=1e4).fit(z, y.astype(int))
    return Curve("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))


@dataclass(frozen=True)
class MemberCalibration:
    """One member's P(up) and P(down) curves and how many labelled samples fitted them."""

    member: str
    up: Curve
    down: Curve
    samples: int

    def apply(self, opinion: Opinion) -> Opinion:
        """The opinion with calibrated probabilities (renormalised so P(up) + P(down) <= 1)."""
        up, down = self.up.apply(opinion.p_up), self.down.apply(opinion.p_down)
        total = up + down
        scale = np.where(np.isfinite(total) & (total > 1.0), 1.0 / np.where(total > 0, total, 1.0), 1.0)
        return Opinion(opinion.member, opinion.timeframe, up * scale, down * scale, opinion.exit, opinion.reason)


@dataclass(frozen=True)
class BoardCalibration:
    """Every member's calibration, the per-symbol payoff ratio, and the window they came from."""

    method: Method
    start: str
    end: str
    members: dict[str, MemberCalibration] = field(default_factory=dict)
    payoff: tuple[float, ...] = ()

    def apply(self, opinion: Opinion) -> Opinion:
        """Calibrate an opinion; members without a calibration pass unchanged."""
        cal = self.members.get(opinion.member)
        return cal.apply(opinion) if cal is not None else opinion

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON file beside the board config."""
        return {
            "method": self.method,
            "start": self.start,
            "end": self.end,
            "payoff": list(self.payoff),
            "members": {
                name: {"up": c.up.to_dict(), "down": c.down.to_dict(), "samples": c.samples}
                for name, c in self.members.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BoardCalibration:
        """Rebuild from `to_dict`."""
        members = {
            name: MemberCalibration(name, Curve.from_dict(m["up"]), Curve.from_dict(m["down"]), int(m["samples"]))
            for name, m in data["members"].items()
        }
        return cls(data["method"], data["start"], data["end"], members, tuple(float(v) for v in data["payoff"]))

    def save(self, path: Path) -> None:
        """Write atomically as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> BoardCalibration:
        """Read a file written by `save`."""
        return cls.from_dict(json.loads(path.read_text()))


def outcome_labels(close: Array, end: int, horizon: int, band: float) -> tuple[Array, Array]:
    """0/1 'went up' and 'went down' beyond the band over `horizon` bars, from closes before row `end` only."""
    past = np.array(close[:end], dtype=np.float64)
    fwd = forward_returns(past, horizon, log=False)
    known = np.isfinite(fwd)
    up = np.where(known, (fwd > band).astype(np.float64), np.nan)
    down = np.where(known, (fwd < -band).astype(np.float64), np.nan)
    return up, down


def raw_matrix(
    member: Member, features: Mapping[str, Array], rows: Sequence[int], ts: pd.DatetimeIndex
) -> tuple[Array, Array]:
    """(R, N) raw P(up) and P(down) of a member at each row (NaN rows where it raised)."""
    n = len(next(iter(features.values()))[0]) if features else 0
    ups = np.full((len(rows), n), np.nan)
    downs = np.full((len(rows), n), np.nan)
    for j, k in enumerate(rows):
        try:
            op = member.opine(ts[k].to_pydatetime(), FeatureView(features, k))
        except Exception as exc:  # a member that cannot opine on a row gives no sample there
            log.warning("calibration: %s failed at row %d: %s", member.name, k, exc)
            continue
        ups[j], downs[j] = op.p_up, op.p_down
    return ups, downs


def payoff_ratio(close: Array, end: int, horizon: int, floor: float) -> tuple[float, ...]:
    """Per symbol: mean gain of rising horizons / mean loss of falling ones, from closes before `end` only."""
    fwd = forward_returns(np.array(close[:end], dtype=np.float64), horizon, log=False)
    out = []
    for j in range(fwd.shape[1]):
        col = fwd[:, j][np.isfinite(fwd[:, j])]
        wins, losses = col[col > 0], -col[col < 0]
        ratio = float(wins.mean() / losses.mean()) if wins.size and losses.size else 1.0
        out.append(max(floor, ratio))
    return tuple(out)


def fit_board(
    members: Sequence[Member],
    features: Mapping[str, Array],
    close: Array,
    ts: pd.DatetimeIndex,
    start: int,
    end: int,
    horizons: Mapping[str, int],
    band: float,
    method: Method,
    min_samples: int = 60,
    payoff_floor: float = 0.5,
) -> BoardCalibration:
    """Fit every member's calibration on rows [start, end); nothing at or after `end` is ever read."""
    if not 0 <= start < end <= len(ts):
        raise DataError(f"calibration rows [{start}, {end}) are outside the data (0..{len(ts)})")
    cut = {name: panel[:end] for name, panel in features.items()}  # the future is not even reachable
    past_close = close[:end]
    rows = list(range(start, end))
    fitted: dict[str, MemberCalibration] = {}
    for member in members:
        horizon = int(horizons.get(member.name, 5))
        up_y, down_y = outcome_labels(past_close, end, horizon, band)
        up_raw, down_raw = raw_matrix(member, cut, rows, ts)
        up_y, down_y = up_y[start:end], down_y[start:end]
        n = int((np.isfinite(up_raw) & np.isfinite(up_y)).sum())
        if n < min_samples:
            log.warning(
                "calibration: %s has %d labelled samples (< %d); left uncalibrated", member.name, n, min_samples
            )
            fitted[member.name] = MemberCalibration(member.name, Curve(), Curve(), n)
            continue
        fitted[member.name] = MemberCalibration(
            member.name,
            fit_curve(up_raw.ravel(), up_y.ravel(), method),
            fit_curve(down_raw.ravel(), down_y.ravel(), method),
            n,
        )
    horizon = min((int(horizons.get(m.name, 5)) for m in members), default=5)
    return BoardCalibration(
        method=method,
        start=ts[start].isoformat(),
        end=ts[end - 1].isoformat(),
        members=fitted,
        payoff=payoff_ratio(past_close, end, horizon, payoff_floor),
    )


def calibration_key(parts: Mapping[str, Any]) -> str:
    """A short stable hash of what a calibration depends on (member versions, window, method, symbols)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
