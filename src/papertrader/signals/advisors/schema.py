"""The only answer an advisor may give: one strict JSON object, validated; anything else is rejected.

``{"direction": "up" | "down" | "flat", "confidence": 0..1, "reason": "<= 120 chars"}`` and nothing more:
no extra keys, no code fences, no prose around it, no strings for numbers. A rejected answer is logged and
counted, never repaired or guessed at, because a "fixed" answer would be our opinion, not the model's.

Mapping to the board's probabilities (three outcomes up / flat / down, uniform 1/3 when confidence is 0):
the named direction gets ``(1 + 2c) / 3`` and each other outcome ``(1 - c) / 3``. So ``up, c`` gives
``p_up = (1 + 2c) / 3`` and ``p_down = (1 - c) / 3``; ``flat, c`` gives ``p_up = p_down = (1 - c) / 3``.
Confidence 0 carries no information and confidence 1 is certainty; P(up) + P(down) never exceeds 1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from papertrader.core.errors import DataError

Direction = Literal["up", "down", "flat"]
REASON_MAX = 120


class AdvisorAnswer(BaseModel):
    """One validated advisor answer about one symbol."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    direction: Direction
    confidence: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    reason: str = Field(max_length=REASON_MAX)

    def probabilities(self) -> tuple[float, float]:
        """(P(up), P(down)) per the mapping in the module docstring."""
        c = self.confidence
        named, other = (1.0 + 2.0 * c) / 3.0, (1.0 - c) / 3.0
        if self.direction == "up":
            return named, other
        if self.direction == "down":
            return other, named
        return other, other


class RejectedAnswerError(DataError):
    """The advisor's text is not exactly the required JSON object; it is dropped, not repaired."""


def parse_answer(text: str) -> AdvisorAnswer:
    """Validate the answer text strictly; a RejectedAnswerError says briefly why (never echoes the text)."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise RejectedAnswerError("not a bare JSON object (prose, code fence or empty)")
    try:
        return AdvisorAnswer.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['type']}" for err in exc.errors()[:3]
        )
        raise RejectedAnswerError(f"invalid answer ({problems})") from None
