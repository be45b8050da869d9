"""What each network learns: its loss on a batch and how its raw outputs become probabilities."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn
from torch.nn import functional

from papertrader.models.gru import GRUTrend
from papertrader.models.lstm import LSTMClassifier


class Task(Protocol):
    """The loss and output transform of one model family, so the trainer can stay generic."""

    n_classes: int

    def loss(
        self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, aux: torch.Tensor, weight: torch.Tensor | None
    ) -> torch.Tensor:
        """Mean loss of a batch (class weights applied when given)."""
        ...

    def outputs(self, module: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Probabilities: 'probs' (B, classes) and any extra heads."""
        ...


class DirectionTask:
    """LSTM: cross-entropy over UP/DOWN/FLAT."""

    n_classes = 3

    def loss(
        self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, aux: torch.Tensor, weight: torch.Tensor | None
    ) -> torch.Tensor:
        """Weighted cross-entropy of the class logits."""
        assert isinstance(module, LSTMClassifier)
        return functional.cross_entropy(module(x), y, weight=weight)

    def outputs(self, module: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Softmax class probabilities."""
        return {"probs": torch.softmax(module(x), dim=-1)}


class TrendTask:
    """GRU: cross-entropy over the trend class plus binary cross-entropy of the reversal head."""

    n_classes = 3

    def __init__(self, reversal_weight: float = 0.5) -> None:
        self.reversal_weight = reversal_weight

    def loss(
        self, module: nn.Module, x: torch.Tensor, y: torch.Tensor, aux: torch.Tensor, weight: torch.Tensor | None
    ) -> torch.Tensor:
        """Trend cross-entropy plus a weighted reversal log loss."""
        assert isinstance(module, GRUTrend)
        trend, reversal = module(x)
        loss = functional.cross_entropy(trend, y, weight=weight)
        return loss + self.reversal_weight * functional.binary_cross_entropy_with_logits(reversal, aux)

    def outputs(self, module: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Trend class probabilities and the probability of a reversal."""
        trend, reversal = module(x)
        return {"probs": torch.softmax(trend, dim=-1), "reversal": torch.sigmoid(reversal)}
