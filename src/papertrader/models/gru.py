"""The GRU trend model: GRU layers over coarser bars, a trend-class head and a reversal-probability head."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

#: Trend classes, in logit order. They match the trend labels' integer codes.
TREND_CLASSES: tuple[str, ...] = ("DOWN", "SIDEWAYS", "UP")


@dataclass(frozen=True, slots=True)
class GRUConfig:
    """Shape of the network. Defaults are the production size; tests pass small ones."""

    n_features: int
    lookback: int = 24
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.1
    n_classes: int = len(TREND_CLASSES)

    def __post_init__(self) -> None:
        if self.n_features < 1 or self.lookback < 2 or self.hidden < 1 or self.layers < 1:
            raise ValueError(f"invalid GRU shape: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the artifact's config.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRUConfig:
        """Rebuild the config an artifact was trained with."""
        return cls(**data)


class GRUTrend(nn.Module):
    """(batch, lookback, features) -> ((batch, n_classes) trend logits, (batch,) reversal logit)."""

    def __init__(self, config: GRUConfig) -> None:
        super().__init__()
        self.config = config
        self.gru = nn.GRU(
            input_size=config.n_features,
            hidden_size=config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.norm = nn.LayerNorm(config.hidden)
        self.trend_head = nn.Linear(config.hidden, config.n_classes)
        self.reversal_head = nn.Linear(config.hidden, 1)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Trend logits and the reversal logit; sigmoid the latter for a probability. `state`: h after earlier steps."""
        out, _ = self.gru(x, state)
        last = self.norm(out[:, -1, :])
        trend: torch.Tensor = self.trend_head(last)
        reversal: torch.Tensor = self.reversal_head(last).squeeze(-1)
        return trend, reversal

    def prefix(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden state after the window's first steps: `forward(last, state)` then equals the full window."""
        state: torch.Tensor = self.gru(x)[1]
        return state
