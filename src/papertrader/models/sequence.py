"""The LSTM and GRU families behind one interface: fit, predict, save, load.

A SequenceModel owns its network, the feature pipeline fitted on its training rows (the scaler), the
label definition and the training record, so an artifact written by `save` is enough to predict again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from papertrader.core.arrays import FloatArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.pipeline import FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.models.calibration import apply_temperature, fit_temperature
from papertrader.models.data import LabelSpec, Market, featurize
from papertrader.models.dataset import Windows, make_windows
from papertrader.models.gru import GRUConfig, GRUTrend
from papertrader.models.lstm import LSTMClassifier, LSTMConfig
from papertrader.models.tasks import DirectionTask, Task, TrendTask
from papertrader.models.trainer import FitResult, TrainConfig, Trainer, predict

Family = Literal["lstm", "gru"]
WEIGHTS_FILE = "weights.pt"
CONFIG_FILE = "config.json"
PIPELINE_FILE = "pipeline.json"


@dataclass(frozen=True)
class SequenceSpec:
    """Everything that defines a sequence model before training (no data, no weights)."""

    family: Family
    interval: str
    lookback: int
    hidden: int
    layers: int
    labels: LabelSpec
    features: PipelineSpec = field(default_factory=PipelineSpec)
    dropout: float = 0.1
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for config.json."""
        return {
            "family": self.family,
            "interval": self.interval,
            "lookback": self.lookback,
            "hidden": self.hidden,
            "layers": self.layers,
            "dropout": self.dropout,
            "labels": self.labels.to_dict(),
            "features": self.features.to_dict(),
            "train": self.train.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceSpec:
        """Rebuild from `to_dict`."""
        return cls(
            family=data["family"],
            interval=data["interval"],
            lookback=int(data["lookback"]),
            hidden=int(data["hidden"]),
            layers=int(data["layers"]),
            dropout=float(data["dropout"]),
            labels=LabelSpec(**data["labels"]),
            features=PipelineSpec.from_dict(data["features"]),
            train=TrainConfig(**data["train"]),
        )


def build_network(spec: SequenceSpec, n_features: int) -> nn.Module:
    """The untrained network for a spec and feature count."""
    if spec.family == "lstm":
        return LSTMClassifier(LSTMConfig(n_features, spec.lookback, spec.hidden, spec.layers, spec.dropout))
    if spec.family == "gru":
        return GRUTrend(GRUConfig(n_features, spec.lookback, spec.hidden, spec.layers, spec.dropout))
    raise ConfigError(f"unknown sequence family {spec.family!r}")


def task_for(spec: SequenceSpec) -> Task:
    """The loss and output transform of the family."""
    return DirectionTask() if spec.family == "lstm" else TrendTask()


@dataclass
class FoldData:
    """One fold's fitted pipeline, feature tensor and windows: shared by the model and its baselines."""

    pipeline: FittedPipeline
    tensor: npt.NDArray[np.float32]
    train: Windows
    val: Windows
    test: Windows | None


def prepare(
    market: Market,
    spec: SequenceSpec,
    train_rows: npt.NDArray[np.int64],
    val_rows: npt.NDArray[np.int64],
    test_rows: npt.NDArray[np.int64] | None = None,
) -> FoldData:
    """Fit the pipeline on the training rows only, transform everything, cut the windows of each set."""
    if train_rows.size == 0:
        raise DataError("no training rows")
    fitted, tensor = featurize(market, spec.features, (int(train_rows[0]), int(train_rows[-1]) + 1))

    def cut(rows: npt.NDArray[np.int64]) -> Windows:
        """The complete, labelled windows decided at these rows."""
        return make_windows(
            tensor, market.labels, market.decision_ns, spec.lookback, rows, market.aux, present=market.present
        )

    return FoldData(fitted, tensor, cut(train_rows), cut(val_rows), None if test_rows is None else cut(test_rows))


class SequenceModel:
    """A trained (or trainable) LSTM/GRU with its fitted feature pipeline."""

    def __init__(self, spec: SequenceSpec) -> None:
        self.spec = spec
        self.task = task_for(spec)
        self.network: nn.Module | None = None
        self.pipeline: FittedPipeline | None = None
        self.fit_result: FitResult | None = None
        self.temperature = 1.0

    @property
    def family(self) -> Family:
        """lstm or gru."""
        return self.spec.family

    def fit(self, data: FoldData, trainer: Trainer | None = None) -> FitResult:
        """Train on the fold's training windows, early-stopping on its validation windows."""
        self.pipeline = data.pipeline
        trainer = trainer or Trainer(self.spec.train)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.spec.train.seed)
            self.network = build_network(self.spec, data.train.n_features)
        self.fit_result = trainer.fit(self.network, self.task, data.train, data.val)
        self.temperature = 1.0
        raw = predict(self.network, self.task, data.val, device="cpu")["probs"]
        self.temperature = fit_temperature(raw, data.val.y)
        return self.fit_result

    def _require(self) -> tuple[nn.Module, FittedPipeline]:
        if self.network is None or self.pipeline is None:
            raise ConfigError(f"the {self.family} model is not trained; fit or load it first")
        return self.network, self.pipeline

    def predict(self, windows: Windows) -> dict[str, FloatArray]:
        """Calibrated class probabilities ('probs') and, for the GRU, 'reversal' for every window."""
        network, _ = self._require()
        out = predict(network, self.task, windows, device="cpu")
        out["probs"] = apply_temperature(out["probs"], self.temperature)
        return out

    def predict_array(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """The same for a raw (B, lookback, F) input: the live path."""
        network, _ = self._require()
        network.eval()
        with torch.inference_mode():
            out = self.task.outputs(network, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        result = {k: v.numpy().astype(np.float64) for k, v in out.items()}
        result["probs"] = apply_temperature(result["probs"], self.temperature)
        return result

    def prefix_state(self, x: npt.NDArray[np.float32]) -> object:
        """The recurrent state after a (B, lookback - 1, F) prefix: known before the bar closes (the live path)."""
        network, _ = self._require()
        network.eval()
        if not isinstance(network, LSTMClassifier | GRUTrend):
            raise ConfigError(f"the {self.family} network has no recurrent prefix")
        with torch.inference_mode():
            return network.prefix(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))

    def predict_last(self, state: object, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """`predict_array` of the full window, from the prefix's state and the (B, 1, F) last step only."""
        network, _ = self._require()
        network.eval()
        with torch.inference_mode():
            resumed = _Resumed(network, state)
            out = self.task.outputs(resumed, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        result = {k: v.numpy().astype(np.float64) for k, v in out.items()}
        result["probs"] = apply_temperature(result["probs"], self.temperature)
        return result

    def save(self, directory: Path) -> None:
        """Write weights, config and the fitted pipeline (scaler and schema hash) to a directory."""
        network, pipeline = self._require()
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(network.state_dict(), directory / WEIGHTS_FILE)
        config = {"spec": self.spec.to_dict(), "n_features": len(pipeline.names), "temperature": self.temperature}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        (directory / PIPELINE_FILE).write_text(json.dumps(pipeline.to_dict()))

    @classmethod
    def load(cls, directory: Path) -> SequenceModel:
        """Read a model written by `save`; raises if any file is missing or does not fit the network."""
        config = json.loads((directory / CONFIG_FILE).read_text())
        model = cls(SequenceSpec.from_dict(config["spec"]))
        model.temperature = float(config.get("temperature", 1.0))
        model.pipeline = FittedPipeline.from_dict(json.loads((directory / PIPELINE_FILE).read_text()))
        network = build_network(model.spec, int(config["n_features"]))
        state = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        network.eval()
        model.network = network
        return model


class _Resumed(nn.Module):
    """The network continued from a prefix's recurrent state: what the task's `outputs` calls on the last step."""

    def __init__(self, network: nn.Module, state: object) -> None:
        super().__init__()
        self.network = network
        self.state = state

    def forward(self, x: torch.Tensor) -> object:
        """The network's outputs for x after the prefix."""
        return self.network(x, self.state)
