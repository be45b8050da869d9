"""Which model members may vote: the quality gate their version recorded on its validation and test windows.

A model member votes only when its version's manifest holds a passed gate (`models.gate`). A version whose
predictions did not move, or did not beat the base-rate predictor, or that was trained before the gate
existed, is left out: the board still polls it and records its vote, with weight 0 and the reason in words
("lstm: left out, validation log loss 0.694 >= base rate 0.692"), so the decisions show who was not heard.
The trend member and the LLM advisors have no registered version and are not gated here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from papertrader.models.gate import NO_GATE_REASON, gate_of
from papertrader.models.registry import Manifest

LEFT_OUT: Final = ": left out, "
"""What every left-out member's note holds after its name (`GateResult.note`), for readers of stored votes."""


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether one model member votes, and the sentence that says why."""

    member: str
    votes: bool
    note: str


def admission(member: str, manifest: Manifest) -> Admission:
    """The member's admission from its version's recorded gate (no record: left out, retrain it)."""
    gate = gate_of(manifest.metrics)
    if gate is None:
        return Admission(member, False, f"{member}{LEFT_OUT}{NO_GATE_REASON}")
    return Admission(member, gate.passed, gate.note(member))


def admissions(manifests: Mapping[str, Manifest]) -> dict[str, Admission]:
    """Every model member's admission, in the board's member order."""
    return {name: admission(name, manifest) for name, manifest in manifests.items()}


def left_out(admitted: Iterable[Admission]) -> dict[str, str]:
    """member -> note of the members that do not vote (what the ensemble zero-weights)."""
    return {a.member: a.note for a in admitted if not a.votes}
