"""The declarative feature spec: which families, which parameters, and the schema hash models store."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Final

from papertrader.core.errors import ConfigError
from papertrader.features.calendar import CalendarSpec
from papertrader.features.fundamentals import FundamentalsSpec
from papertrader.features.macro import MacroSpec
from papertrader.features.missing import MissingPolicy
from papertrader.features.returns import ReturnSpec
from papertrader.features.scaling import ScalingSpec
from papertrader.features.sentiment import SentimentSpec
from papertrader.features.technical import TechnicalSpec

#: bump when any feature's definition changes without its name or parameters changing
FEATURE_VERSION: Final = 1

FAMILIES: Final = ("technical", "returns", "calendar", "macro", "fundamentals", "sentiment")


@dataclass(frozen=True)
class PipelineSpec:
    """Feature families (None: left out) with their parameters, the missing-data policy and the scaler."""

    technical: TechnicalSpec | None = field(default_factory=lambda: TechnicalSpec(relative=True))
    returns: ReturnSpec | None = field(default_factory=ReturnSpec)
    calendar: CalendarSpec | None = field(default_factory=CalendarSpec)
    macro: MacroSpec | None = None
    fundamentals: FundamentalsSpec | None = None
    sentiment: SentimentSpec | None = None
    missing: MissingPolicy = field(default_factory=MissingPolicy)
    scaling: ScalingSpec = field(default_factory=ScalingSpec)
    version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        names = self.raw_names()
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"feature names collide across families: {dup}")
        if not names:
            raise ConfigError("the feature spec has no family switched on")

    @classmethod
    def all_families(cls, macro: MacroSpec | None = None) -> PipelineSpec:
        """Every family with default parameters (macro: the bundled series unless given)."""
        return cls(
            calendar=CalendarSpec(earnings=True),
            macro=macro or MacroSpec(),
            fundamentals=FundamentalsSpec(),
            sentiment=SentimentSpec(),
        )

    def family_names(self) -> dict[str, tuple[str, ...]]:
        """Feature names per switched-on family, in pipeline order."""
        out: dict[str, tuple[str, ...]] = {}
        for fam in FAMILIES:
            sub = getattr(self, fam)
            if sub is not None:
                out[fam] = sub.names()
        return out

    def raw_names(self) -> tuple[str, ...]:
        """Feature columns before the mask columns, in a stable order."""
        return tuple(n for names in self.family_names().values() for n in names)

    def names(self) -> tuple[str, ...]:
        """Every output column: the features, then their `_missing` masks."""
        raw = self.raw_names()
        return (*raw, *self.missing.mask_names(raw))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) describing the spec completely."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineSpec:
        """Rebuild a spec from `to_dict` output."""
        built = _build(cls, data)
        assert isinstance(built, PipelineSpec)
        return built

    def schema_hash(self) -> str:
        """sha256 over version, column names and order, and every parameter: store it with each model."""
        payload = {"version": self.version, "names": list(self.names()), "spec": self.to_dict()}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _build(tp: Any, value: Any) -> Any:
    """Convert plain data back into the annotated type (dataclasses, tuples, optionals, literals)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value}
        return tp(**kwargs)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value, strict=True))
    if origin is typing.Literal:
        return value
    if tp in (str, int, float, bool):
        return tp(value)
    raise ConfigError(f"cannot rebuild spec field of type {tp!r}")
