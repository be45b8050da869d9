"""The one out-of-sample bound: the first bar no part of a model's training could have seen.

Every path that judges a model on history (``compare``, ``backtest`` / ``paper --replay`` with a model
strategy, the board's calibration, ``trial``) asks this module where that model's data ends, so they cannot
disagree. A version's data ends at the later of

* ``training_window.end`` plus an **embargo** of the model's label horizon in the run's bars (a label at the
  last training row looks ``horizon`` bars ahead; a GRU's coarse bars count ``COARSE_FACTOR`` run bars each), and
* ``training_window.data_end``: the last bar any part of training saw, the validation rows (early stopping,
  temperature calibration, hyper-parameter trials, the quality gate) and the test rows included.

The earliest allowed start is the first bar of the run's timeline strictly after that instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import pandas as pd

from papertrader.core.errors import ConfigError
from papertrader.models.registry import Manifest

DEFAULT_EMBARGO_BARS: Final = 5  # the PPO's market labels use the LSTM's 5-bar horizon
#: run bars per coarse bar of the GRU (it trains on bars one step coarser than the lake's)
COARSE_FACTOR: Final[dict[str, int]] = {"1m": 5, "5m": 3, "15m": 4, "30m": 2, "1h": 7, "1d": 5}


def utc(stamp: object) -> pd.Timestamp:
    """A manifest or bar time stamp as UTC (a naive one is taken to be UTC already)."""
    ts = pd.Timestamp(stamp)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def embargo_bars(manifest: Manifest, interval: str) -> int:
    """The model's label horizon in run bars: the span after training whose outcomes its labels read."""
    labels = manifest.config.get("labels")
    horizon = int(labels["horizon"]) if isinstance(labels, dict) and "horizon" in labels else DEFAULT_EMBARGO_BARS
    return horizon * (COARSE_FACTOR.get(interval, 1) if manifest.family == "gru" else 1)


@dataclass(frozen=True)
class SampleBound:
    """Where one model version's data ends on a run's bar timeline, and the first bar it may be judged on."""

    member: str
    family: str
    version: str
    training_start: pd.Timestamp
    training_end: pd.Timestamp
    data_end: pd.Timestamp | None
    embargo: int
    last_seen: pd.Timestamp  # the last instant inside the model's data, embargo included
    earliest: pd.Timestamp | None  # first bar of the timeline after last_seen (None: the timeline has none)
    label: str

    def describe(self) -> str:
        """One clause naming the model, where its data ends and the earliest allowed start."""
        seen = f"data_end {self.data_end:%Y-%m-%d}" if self.data_end is not None else "no data_end recorded"
        first = f"{self.earliest:%Y-%m-%d}" if self.earliest is not None else "after the last bar available"
        return (
            f"{self.member} {self.version} ({seen}, training window ends {self.training_end:%Y-%m-%d}, "
            f"{self.embargo}-bar label embargo): earliest allowed start {first}"
        )


def sample_bound(member: str, manifest: Manifest, ts: pd.DatetimeIndex, interval: str) -> SampleBound:
    """Where `manifest`'s data ends on the timeline `ts` (bars of `interval`), embargo and data_end included."""
    window = manifest.training_window
    if not window.get("start") or not window.get("end"):
        raise ConfigError(
            f"{manifest.family} {manifest.version} records no training window, so no span is provably held out"
        )
    ts = pd.DatetimeIndex(ts)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    start, end = utc(window["start"]), utc(window["end"])
    embargo = embargo_bars(manifest, interval)
    last = int(ts.searchsorted(end, side="right")) - 1 + embargo
    last_seen = max(end, ts[min(last, len(ts) - 1)]) if last >= 0 and len(ts) else end
    label = f"{manifest.family} {manifest.version} training window + {embargo}-bar embargo"
    data_end = utc(window["data_end"]) if window.get("data_end") else None
    if data_end is not None and data_end > last_seen:
        last_seen = data_end
        label = f"{manifest.family} {manifest.version} training data (validation and test rows included)"
    after = ts[ts > last_seen]  # empty when the embargo runs past the timeline's last bar
    earliest = after[0] if len(after) else None
    return SampleBound(
        member, manifest.family, manifest.version, start, end, data_end, embargo, last_seen, earliest, label
    )


def sample_bounds(manifests: Mapping[str, Manifest], ts: pd.DatetimeIndex, interval: str) -> tuple[SampleBound, ...]:
    """The bound of every used model (keyed by member name)."""
    return tuple(sample_bound(name, manifest, ts, interval) for name, manifest in manifests.items())


def latest_seen(bounds: Sequence[SampleBound]) -> pd.Timestamp | None:
    """The last instant any of the models saw (None with no model)."""
    return max((b.last_seen for b in bounds), default=None)


def check_out_of_sample(bounds: Sequence[SampleBound], start: pd.Timestamp, what: str = "the window") -> None:
    """Refuse a window whose first bar is not after every used model's data (embargo included).

    The message names each offending model with its data_end and the earliest start every model allows.
    """
    start = utc(start)
    late = [b for b in bounds if start <= b.last_seen]
    if not late:
        return
    firsts = [b.earliest for b in bounds]
    allowed = (
        f"start on or after {max(f for f in firsts if f is not None):%Y-%m-%d}"
        if all(f is not None for f in firsts)
        else "there is no bar after every model's data in this window; train on earlier data (`train --until`)"
    )
    detail = "; ".join(b.describe() for b in late)
    raise ConfigError(
        f"{what} starting {start:%Y-%m-%d} is not out-of-sample: it overlaps model training data ({detail}); {allowed}"
    )


#: Bars kept between a model's last bar and the board's calibration window beyond `board.calibration_bars`: the
#: longest member embargo (the GRU's 4 coarse bars x COARSE_FACTOR run bars = 20 to 28) plus slack.
CALIBRATION_MARGIN_BARS: Final = 30


def calibration_holdback(timeline: pd.DatetimeIndex, calibration_bars: int) -> pd.Timestamp | None:
    """Where models must stop seeing data so the board can calibrate on the last `calibration_bars` bars.

    The returned instant is exclusive (train on bars before it); the bars from it to the end of `timeline`
    are seen by no model, so a board built at the end of `timeline` fits its calibrators there instead of
    trading uncalibrated. None when the timeline is too short to hold back that much and still train.
    """
    ts = timeline.unique().sort_values()
    keep = calibration_bars + CALIBRATION_MARGIN_BARS
    if len(ts) <= 2 * keep:
        return None
    return utc(ts[-keep])
