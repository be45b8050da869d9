"""The LSTM direction classifier: a stack of LSTM layers over a window of bars, UP/DOWN/FLAT logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

#: Output classes, in logit order. They match the direction labels' integer codes.
DIRECTION_CLASSES: tuple[str, ...] = ("DOWN", "FLAT", "UP")


@dataclass(frozen=True, slots=True)
class LSTMConfig:
    """Shape of the network. Defaults are the production size; tests pass small ones."""

    n_features: int
    lookback: int = 40
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.1
    n_classes: int = len(DIRECTION_CLASSES)

    def __post_init__(self) -> None:
        if self.n_features < 1 or self.lookback < 2 or self.hidden < 1 or self.layers < 1:
            raise ValueError(f"invalid LSTM shape: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the artifact's config.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LSTMConfig:
        """Rebuild the config an artifact was trained with."""
        return cls(**data)


class LSTMClassifier(nn.Module):
    """(batch, lookback, features) -> (batch, n_classes) logits from the last timestep's hidden state."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(
            input_size=config.n_features,
            hidden_size=config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.norm = nn.LayerNorm(config.hidden)
        self.head = nn.Linear(config.hidden, config.n_classes)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Class logits; softmax them for probabilities. `state`: the LSTM's (h, c) after the steps before x."""
        out, _ = self.lstm(x, state)
        last = out[:, -1, :]
        logits: torch.Tensor = self.head(self.norm(last))
        return logits

    def prefix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (h, c) state after the window's first steps: `forward(last, state)` then equals the full window."""
        _, state = self.lstm(x)
        return (state[0], state[1])
