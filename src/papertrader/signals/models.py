"""Trade a registered model through the engine: calibrated class probabilities become target weights.

The model's inputs are the features of its own fitted pipeline (the engine must be given those panels,
e.g. `FittedPipeline.transform(inputs).panels()`), read through the FeatureView, so a decision at cycle k
sees rows up to k only. The edge P(UP) - P(DOWN) above `min_edge` maps linearly onto a long weight of up
to 1/N of equity (and symmetrically short when allowed); everything else is flat. Probabilities are
temperature-calibrated on the model's validation window when it is trained.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import FloatArray
from papertrader.features.spec import PipelineSpec
from papertrader.features.view import FeatureView
from papertrader.models.inference import BatchPredictor
from papertrader.models.loading import ModelHandle
from papertrader.models.registry import Registry
from papertrader.signals.base import Decision

DOWN, FLAT, UP = 0, 1, 2


def edge_to_weights(probs: FloatArray, min_edge: float, allow_short: bool, max_weight: float) -> FloatArray:
    """Target weights from (N, 3) probabilities: linear in the edge beyond min_edge, capped at max_weight."""
    edge = probs[:, UP] - probs[:, DOWN]
    scale = max(1.0 - min_edge, 1e-9)
    long = np.clip((edge - min_edge) / scale, 0.0, 1.0)
    short = np.clip((-edge - min_edge) / scale, 0.0, 1.0) if allow_short else np.zeros_like(long)
    return np.asarray((long - short) * max_weight, dtype=np.float64)


class ModelStrategy:
    """A Strategy (signals.base) backed by a direction classifier with a batched predict."""

    def __init__(
        self,
        predictor: BatchPredictor,
        feature_names: tuple[str, ...],
        lookback: int,
        n_symbols: int,
        name: str = "model_lstm",
        min_edge: float = 0.05,
        allow_short: bool = False,
        max_weight: float | None = None,
    ) -> None:
        if lookback < 1 or n_symbols < 1:
            raise ValueError("lookback and n_symbols must be positive")
        if not 0.0 <= min_edge < 1.0:
            raise ValueError("min_edge must be in [0, 1)")
        self.predictor = predictor
        self.feature_names = feature_names
        self.lookback = lookback
        self.n_symbols = n_symbols
        self.name = name
        self.min_edge = min_edge
        self.allow_short = allow_short
        self.max_weight = max_weight if max_weight is not None else 1.0 / n_symbols

    @classmethod
    def from_registry(
        cls, home: Path, n_symbols: int, family: str = "lstm", min_edge: float = 0.05, allow_short: bool = False
    ) -> ModelStrategy:
        """The live version of a family, loaded lazily on the first decision, with fallback and health."""
        registry = Registry(home)
        manifest = registry.manifest(family)
        spec = PipelineSpec.from_dict(manifest.config["features"])
        handle = ModelHandle(registry, family, expected_schema=spec.schema_hash())
        return cls(
            handle,
            spec.names(),
            int(manifest.config["lookback"]),
            n_symbols,
            name=f"model_{family}_{manifest.version}",
            min_edge=min_edge,
            allow_short=allow_short,
        )

    def required_features(self) -> tuple[str, ...]:
        """Every column of the model's feature pipeline."""
        return self.feature_names

    def inputs(self, view: FeatureView) -> npt.NDArray[np.float32] | None:
        """(N, lookback, F) float32 window ending at the view's cycle, or None while warming up."""
        if view.k + 1 < self.lookback:
            return None
        block = np.stack([view.window(name, self.lookback) for name in self.feature_names], axis=-1)
        x = np.transpose(block, (1, 0, 2))
        return np.ascontiguousarray(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float32)

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Target weights for every symbol from one batched prediction."""
        x = self.inputs(view)
        if x is None:
            zeros = np.zeros(self.n_symbols)
            return Decision(zeros, zeros.copy(), lambda i: f"warming up: the model needs {self.lookback} bars")
        probs = self.predictor.predict(x)["probs"]
        weights = edge_to_weights(probs, self.min_edge, self.allow_short, self.max_weight)
        confidence = np.asarray(np.max(probs, axis=1), dtype=np.float64)

        def explain(i: int) -> str:
            p = probs[i]
            return (
                f"{self.name}: P(up) {p[UP]:.2f} P(flat) {p[FLAT]:.2f} P(down) {p[DOWN]:.2f} "
                f"-> weight {weights[i]:+.3f}"
            )

        return Decision(weights=weights, confidence=confidence, explain=explain)
