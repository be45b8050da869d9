"""Settings of the AI board: which members vote, how much each counts, and how votes become a position."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MemberName = Literal["lstm", "gru", "ppo", "lgbm", "trend", "grok", "kimi", "claude"]
#: the LLM advisors (signals.advisors): they sit on the board only when their key is set, they are enabled and
#: the run is live (or they opted into history with ``in_backtests``); see ``settings.advisors``
ADVISOR_MEMBERS: tuple[MemberName, ...] = ("grok", "kimi", "claude")
MODEL_MEMBERS: tuple[MemberName, ...] = ("lstm", "gru", "ppo", "trend")
ALL_MEMBERS: tuple[MemberName, ...] = (*MODEL_MEMBERS, *ADVISOR_MEMBERS)


class BoardSettings(BaseModel):
    """The ensemble's knobs; every default is documented and none is fitted to any data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    members: tuple[str, ...] = Field(
        ALL_MEMBERS,
        description="members polled every cycle (an advisor only when settings.advisors admits it): built-ins "
        "(lstm, gru, ppo, lgbm, trend, grok, kimi, claude), a plug-in member class MODULE:CLASS, or a name "
        "registered under the entry-point group papertrader.members; checked when the board is built",
    )
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="plug-in member -> keyword arguments for its class: Class(symbols, **params[member])",
    )
    base_weights: dict[str, float] = Field(
        default_factory=lambda: {"lstm": 1.0, "gru": 1.0, "ppo": 0.5, "trend": 1.0},
        description="member -> base weight before confidence and the monitor's record; missing = 1.0",
    )
    horizons: dict[str, int] = Field(
        default_factory=lambda: {"lstm": 5, "gru": 20, "ppo": 5, "lgbm": 5, "trend": 20},
        description="member -> bars its P(up)/P(down) refer to (scoring, calibration labels); an advisor's is "
        "always its own advisors.<name>.horizon_bars",
    )
    min_edge: float = Field(0.05, ge=0, lt=1, description="combined P(up) - P(down) needed before any position")
    alignment_boost: float = Field(
        0.25, ge=0, le=1, description="conviction gain when short-term direction agrees with the trend member"
    )
    conflict_penalty: float = Field(
        0.5, ge=0, le=1, description="conviction cut when short-term direction contradicts the trend member"
    )
    conflict_policy: Literal["reduce", "hold"] = Field(
        "reduce", description="on a short-term vs trend conflict: cut the size, or keep the previous target"
    )
    calibration: Literal["isotonic", "platt", "none"] = Field(
        "isotonic", description="per-member probability calibration fitted on the calibration window only"
    )
    calibration_bars: int = Field(
        252, ge=20, description="bars right before the first trading cycle used to fit calibrators"
    )
    min_calibration_samples: int = Field(60, ge=10, description="fewer labelled samples: member left uncalibrated")
    follow_record: bool = Field(
        True,
        description="multiply each vote's weight by the monitor's multiplier for the member's recent "
        "out-of-sample record (base weights move only with monitor.auto_apply)",
    )
    probability_clip: float = Field(
        0.02,
        gt=0,
        lt=0.5,
        description="member probabilities and the board's p_win are kept within [clip, 1 - clip]: an isotonic "
        "curve can say 0 or 1, and Kelly sizing must never be handed a certainty",
    )
    payoff_floor: float = Field(0.5, gt=0, description="smallest win/loss ratio handed to Kelly sizing")

    @model_validator(mode="after")
    def _weights_non_negative(self) -> BoardSettings:
        if any(w < 0 for w in self.base_weights.values()):
            raise ValueError("board.base_weights must be non-negative")
        if any(h < 1 for h in self.horizons.values()):
            raise ValueError("board.horizons must be at least one bar")
        if not self.members:
            raise ValueError("board.members must name at least one member")
        return self

    def base_weight(self, member: str) -> float:
        """A member's base weight (1.0 when not listed)."""
        return float(self.base_weights.get(member, 1.0))

    def horizon(self, member: str) -> int:
        """Bars a member's probabilities refer to (5 when not listed)."""
        return int(self.horizons.get(member, 5))
