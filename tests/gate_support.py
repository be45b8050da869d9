"""Test-only: stamp a passing quality gate on registered versions whose test needs voting model members.

The tiny models the tests train in seconds learn nothing, so the real gate leaves them out of the board. A
test about what the board does WITH model votes (drift references, resuming the PPO member's book, the
live loop picking up a retrained member) stamps this record on its fixture's manifests instead; the
production rule is untouched, and the stamped reason says where the record came from.
"""

from __future__ import annotations

import json
from pathlib import Path

from papertrader.models.gate import GateResult
from papertrader.models.registry import FAMILIES, MANIFEST, Registry

STAMPED = GateResult(
    passed=True,
    prediction_std=0.1,
    log_loss=0.6,
    base_log_loss=0.7,
    accuracy=0.6,
    majority_accuracy=0.5,
    p_value=0.01,
    rank_ic=0.05,
    n=1,
    reason="stamped passing by a test fixture (not a measured gate)",
)


def stamp_passing_gate(home: Path, families: tuple[str, ...] = FAMILIES) -> None:
    """Write the stamped passing gate into every registered version's manifest under `home` (files unchanged)."""
    registry = Registry(home)
    for family in families:
        for version in registry.versions(family):
            path = registry.path(family, version) / MANIFEST
            data = json.loads(path.read_text())
            data["metrics"]["gate"] = STAMPED.to_dict()
            path.write_text(json.dumps(data, indent=2))
