"""Lazy, health-checked loading from the registry, with fallback to an earlier version or a baseline.

`ModelHandle.predict` loads on first use. Loading verifies the files against the manifest checksums,
rebuilds the model, checks shapes and the feature schema hash against the pipeline the caller runs now,
and requires a finite, normalised prediction on a probe input. When a version fails to load, or later
fails to predict, the handle moves to the next version in the promotion history and finally to a baseline
(the training class prior for classifiers, HOLD for the agent). `health` says which one is in use and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import FloatArray
from papertrader.core.errors import ConfigError
from papertrader.models.crosssection import CrossSectionModel
from papertrader.models.registry import Manifest, Registry, check_family
from papertrader.models.rl.env import Action

if TYPE_CHECKING:  # torch and stable-baselines3 load with the first model, not with every run that imports this
    from papertrader.models.rl.agent import PPOAgent
    from papertrader.models.sequence import SequenceModel

log = logging.getLogger(__name__)
Status = Literal["ok", "degraded", "down"]
BASELINE = "baseline"


class Predictor(Protocol):
    """What the live path calls: one batched prediction."""

    @property
    def version(self) -> str:
        """The registered version serving (or 'baseline')."""
        ...

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample input shape."""
        ...

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """Outputs for a batch: 'probs' always; 'reversal' (GRU) or 'action' (agent) where they exist."""
        ...


#: registry families whose artifact is not a recurrent classifier
NOT_SEQUENCE: Final = frozenset({"rl", "lgbm"})


@dataclass
class LoadedModel:
    """A registered version that passed its health check."""

    family: str
    version: str
    manifest: Manifest
    model: SequenceModel | PPOAgent | CrossSectionModel

    @property
    def sequence(self) -> SequenceModel | None:
        """The recurrent classifier (LSTM, GRU), or None for the agent and the cross-sectional model."""
        return None if self.family in NOT_SEQUENCE else cast("SequenceModel", self.model)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample input shape: (lookback, features) or (observation size,)."""
        if isinstance(self.model, CrossSectionModel):
            return (self.model.n_features,)
        if (seq := self.sequence) is not None:
            assert seq.pipeline is not None
            return (seq.spec.lookback, len(seq.pipeline.names))
        agent = cast("PPOAgent", self.model)
        return (int(agent.model.observation_space.shape[0]),)

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """Batched outputs."""
        if isinstance(self.model, CrossSectionModel):
            return self.model.predict_array(x)
        if (seq := self.sequence) is not None:
            return seq.predict_array(x)
        action, probs = cast("PPOAgent", self.model).predict(x)
        return {"probs": probs, "action": action.astype(np.float64)}

    def prefix_state(self, x: npt.NDArray[np.float32]) -> object | None:
        """A recurrent model's state after the (B, lookback - 1, F) first steps of its window; None for others."""
        seq = self.sequence
        return seq.prefix_state(x) if seq is not None else None

    def predict_last(self, state: object, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """`predict` of the full window from `prefix_state`'s state and the (B, 1, F) last step."""
        seq = self.sequence
        if seq is None:
            raise ConfigError(f"{self.family} {self.version} has no recurrent prefix")
        return seq.predict_last(state, x)


@dataclass
class BaselinePredictor:
    """The last resort: the training class prior (classifiers) or HOLD (agent), whatever the input."""

    family: str
    input_shape: tuple[int, ...]
    prior: FloatArray
    reversal_rate: float | None = None
    version: str = BASELINE

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """The same answer for every row."""
        b = x.shape[0]
        out = {"probs": np.repeat(self.prior[None, :], b, axis=0)}
        if self.family == "rl":
            out["action"] = np.full(b, float(Action.HOLD))
        if self.reversal_rate is not None:
            out["reversal"] = np.full(b, self.reversal_rate)
        return out


def baseline_for(family: str, manifest: Manifest | None, input_shape: tuple[int, ...]) -> BaselinePredictor:
    """The baseline a family falls back to, using the class prior stored with the newest manifest."""
    if family == "rl":
        prior = np.zeros(len(Action))
        prior[Action.HOLD] = 1.0
        return BaselinePredictor(family, input_shape, prior)
    stored = (manifest.fallback if manifest else {}).get("class_prior")
    classes = 2 if family == "lgbm" else 3  # lgbm: P(under), P(outperform)
    prior = np.asarray(stored, dtype=np.float64) if stored else np.full(classes, 1.0 / classes)
    rate = (manifest.fallback if manifest else {}).get("reversal_rate")
    if family == "gru" and rate is None:
        rate = 0.5
    return BaselinePredictor(family, input_shape, prior, None if rate is None else float(rate))


def probe_check(predictor: Predictor) -> list[str]:
    """Problems with the outputs on an all-zero probe input (the scaled median of every feature)."""
    probe = np.zeros((2, *predictor.input_shape), dtype=np.float32)
    try:
        out = predictor.predict(probe)
    except Exception as exc:
        return [f"probe prediction failed: {type(exc).__name__}: {exc}"]
    problems = []
    probs = out.get("probs")
    if probs is None or probs.shape[0] != 2:
        problems.append("probe prediction has no (batch, classes) probabilities")
    elif not np.isfinite(probs).all():
        problems.append("probe prediction is not finite")
    elif not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        problems.append("probe probabilities do not sum to 1")
    return problems


def load_version(registry: Registry, family: str, version: str, expected_schema: str | None) -> LoadedModel:
    """Load one version and run its health check; raises ConfigError naming every problem found."""
    manifest = registry.manifest(family, version)
    problems = registry.verify(family, version)
    if problems:
        raise ConfigError(f"{family} {version}: " + "; ".join(problems))
    directory = registry.path(family, version)
    model: SequenceModel | PPOAgent | CrossSectionModel
    if family == "lgbm":
        model = CrossSectionModel.load(directory)
    elif family == "rl":
        from papertrader.models.rl.agent import PPOAgent

        model = PPOAgent.load(directory)
    else:
        from papertrader.models.sequence import SequenceModel

        model = SequenceModel.load(directory)
    pipeline = model.pipeline
    if pipeline is not None and pipeline.schema_hash != manifest.schema_hash:
        problems.append("artifact pipeline schema hash differs from its manifest")
    if isinstance(model, CrossSectionModel) and model.schema_hash != manifest.schema_hash:
        problems.append("artifact feature schema hash differs from its manifest")
    if expected_schema is not None and manifest.schema_hash != expected_schema:
        problems.append(
            f"feature schema {manifest.schema_hash[:12]} does not match the running pipeline "
            f"{expected_schema[:12]}; retrain on the current features"
        )
    loaded = LoadedModel(family, version, manifest, model)
    if (seq := loaded.sequence) is not None and pipeline is not None:
        shape = loaded.input_shape
        if seq.spec.lookback != shape[0] or shape[1] != int(manifest.config.get("n_features", shape[1])):
            problems.append(f"input shape {shape} does not match the manifest")
    problems += probe_check(loaded)
    if problems:
        raise ConfigError(f"{family} {version}: " + "; ".join(problems))
    return loaded


@dataclass
class Health:
    """Which version a family runs on, and what went wrong on the way there."""

    family: str
    status: Status
    requested: str | None
    active: str | None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and the health board."""
        return {
            "family": self.family,
            "status": self.status,
            "requested": self.requested,
            "active": self.active,
            "problems": list(self.problems),
        }


class ModelHandle:
    """A family's live model, loaded on first use, falling back when a version cannot serve."""

    def __init__(
        self,
        registry: Registry,
        family: str,
        expected_schema: str | None = None,
        version: str | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.registry = registry
        self.family = check_family(family)
        self.expected_schema = expected_schema
        self.pinned = version
        self._input_shape = input_shape
        self._active: Predictor | None = None
        self._candidates: list[str] | None = None
        self.health = Health(self.family, "down", version or registry.current(family), None)

    def _next(self) -> Predictor:
        if self._candidates is None:
            order = self.registry.fallback_order(self.family)
            self._candidates = [self.pinned] if self.pinned else order
        newest: Manifest | None = None
        while self._candidates:
            version = self._candidates.pop(0)
            try:
                loaded = load_version(self.registry, self.family, version, self.expected_schema)
            except Exception as exc:
                message = str(exc) if isinstance(exc, ConfigError) else f"{version}: {type(exc).__name__}: {exc}"
                self.health.problems.append(message)
                log.warning("model %s failed to load: %s", self.family, message)
                continue
            self.health.active = version
            self.health.status = "ok" if version == self.health.requested and not self.health.problems else "degraded"
            return loaded
        for version in reversed(self.registry.versions(self.family)):
            try:
                newest = self.registry.manifest(self.family, version)
                break
            except Exception:
                continue
        shape = self._input_shape or _shape_from(newest)
        self.health.active = BASELINE
        self.health.status = "degraded" if shape else "down"
        if not self.health.problems:
            self.health.problems.append(f"no {self.family} version is registered")
        return baseline_for(self.family, newest, shape or (1,))

    def get(self) -> Predictor:
        """The predictor in use, loading it on first call."""
        if self._active is None:
            self._active = self._next()
        return self._active

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """Predict with the active version; on an error or a non-finite output, fall back and retry."""
        while True:
            active = self.get()
            try:
                out = active.predict(x)
                if all(np.isfinite(v).all() for v in out.values()):
                    return out
                problem = f"{active.version}: non-finite prediction"
            except Exception as exc:
                problem = f"{active.version}: prediction failed: {type(exc).__name__}: {exc}"
            if isinstance(active, BaselinePredictor):
                raise ConfigError(f"{self.family} baseline cannot predict: {problem}")
            self.health.problems.append(problem)
            log.warning("model %s: %s; falling back", self.family, problem)
            self._active = None

    def prefix_state(self, x: npt.NDArray[np.float32]) -> PrefixState | None:
        """The serving version's recurrent state after the first steps of a window (None: it has none, or failed).

        Computed between bars; `predict_last` then needs only the last step. Any failure here leaves the
        full-window `predict` (with its fallbacks) to answer at the bar.
        """
        active = self.get()
        start = getattr(active, "prefix_state", None)
        if start is None:
            return None
        try:
            state = start(x)
        except Exception as exc:
            log.warning("model %s: prefix state failed (%s); the full window will be used", self.family, exc)
            return None
        return None if state is None else PrefixState(active, state)

    def predict_last(self, prefix: PrefixState, x: npt.NDArray[np.float32]) -> dict[str, FloatArray] | None:
        """Outputs for windows whose first steps `prefix` holds, from the last step only (None: use `predict`)."""
        active = self._active
        if active is None or prefix.owner is not active or not isinstance(active, LoadedModel):
            return None
        try:
            out = active.predict_last(prefix.state, x)
        except Exception:
            return None
        return out if all(np.isfinite(v).all() for v in out.values()) else None


@dataclass(frozen=True)
class PrefixState:
    """A recurrent prefix state and the predictor that computed it (valid only while that one serves)."""

    owner: object
    state: object


def _shape_from(manifest: Manifest | None) -> tuple[int, ...] | None:
    if manifest is None:
        return None
    shape = manifest.config.get("input_shape")
    return tuple(int(s) for s in shape) if shape else None
