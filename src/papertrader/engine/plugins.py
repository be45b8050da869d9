"""Plug-ins: a strategy or a board member chosen by name, by import path (MODULE:CLASS) or by entry point.

One lookup for every name `strategy.name`, `--strategy` or `board.members` holds:

1. a built-in (``BUILTIN_STRATEGIES``, ``BUILTIN_MEMBERS``): the factory builds it as it always has;
2. ``MODULE:CLASS``: the module is imported from the current directory or PYTHONPATH;
3. a name registered under the entry-point group ``papertrader.strategies`` (``papertrader.members``) by an
   installed package; built-ins win over an entry point of the same name.

A plug-in class is constructed with the universe's symbols and its configured keyword arguments,
``Class(symbols, **params)``, and runs wrapped (`PluginStrategy`, `PluginMember`): an exception in the user's
code carries the user's file and line (the last traceback frame outside this package), a failing cycle holds
like a raising model does, and a class that does not import or construct is a ConfigError naming file:line.
An optional ``features(prices) -> {name: (T, N) array}`` method adds panels the class reads through the
FeatureView; each row k must read bars at or before k (the live loop checks that rows already seen never change).
An optional ``reads_only_required() -> True`` says ``required_features()`` names every panel the class reads,
so a run builds only those built-in panels instead of all of them (less memory and time, the same numbers).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Final, cast, get_args

import numpy as np

from papertrader.config.board import MemberName
from papertrader.config.settings import Settings
from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError
from papertrader.features.technical import PriceArrays
from papertrader.features.view import FeatureView
from papertrader.signals.base import (
    Closable,
    Decision,
    HealthReporter,
    MemberStatusReporter,
    ReadsOnlyRequired,
    Replayable,
)
from papertrader.signals.votes import Opinion, Timeframe

log = logging.getLogger(__name__)

STRATEGY_GROUP: Final = "papertrader.strategies"
MEMBER_GROUP: Final = "papertrader.members"
#: built by the factory (signals/factory.py): the trend baseline, one model as a one-member board, the board
BUILTIN_STRATEGIES: Final = ("trend", "lstm", "gru", "ppo", "lgbm", "ensemble")
#: the board's own members: the model families, the trend baseline and the LLM advisors
BUILTIN_MEMBERS: Final[tuple[str, ...]] = get_args(MemberName)
TIMEFRAMES: Final = get_args(Timeframe)
_PACKAGE = Path(__file__).resolve().parents[1]
_LIBRARY = tuple(
    Path(p).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key))
)
DOCS = "docs/strategies.md"


class UserCodeError(Exception):
    """A plug-in's own code raised or answered malformed; the message names the user's file and line."""


# ------------------------------------------------------------------ where in the user's code


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    """True when `path` lies under one of `roots`."""
    return any(path.is_relative_to(r) for r in roots)


def _shown(filename: str, line: int | None) -> str:
    """`file:line`, relative to the current directory when the file is under it."""
    path = Path(filename)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    return f"{path}:{line}" if line else str(path)


def user_location(exc: BaseException, fallback: object | None = None) -> str | None:
    """The user's file:line an exception came from: the last frame outside papertrader (and outside the
    standard library and installed libraries when one is), so that the message points at the line to fix."""
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        return _shown(exc.filename, exc.lineno)
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<") and not _inside(Path(f.filename).resolve(), (_PACKAGE,))
    ]
    own = [f for f in frames if not _inside(Path(f.filename).resolve(), _LIBRARY)]
    chosen = (own or frames)[-1:] if (own or frames) else []
    if chosen:
        return _shown(chosen[0].filename, chosen[0].lineno)
    return defined_at(fallback) if fallback is not None else None


def defined_at(obj: object) -> str | None:
    """Where a class or function is defined (file:line), when Python can tell."""
    try:
        target = obj if inspect.isclass(obj) or inspect.isroutine(obj) else type(obj)
        filename = inspect.getsourcefile(target)
        _, line = inspect.getsourcelines(target)
    except (TypeError, OSError):
        return None
    return _shown(filename, line) if filename else None


def describe(exc: BaseException, where: object | None = None) -> str:
    """One line: the exception and the user's file:line it came from."""
    at = user_location(exc, where)
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} (at {at})" if at else text


# ------------------------------------------------------------------ lookup


@dataclass(frozen=True)
class Loaded:
    """A plug-in class and how it was named (the import path or the entry point, and where it came from)."""

    name: str
    cls: type
    origin: str


def is_builtin_strategy(name: str) -> bool:
    """True when the factory builds this strategy itself (no plug-in lookup)."""
    return name in BUILTIN_STRATEGIES


def is_builtin_member(name: str) -> bool:
    """True when the factory builds this board member itself (no plug-in lookup)."""
    return name in BUILTIN_MEMBERS


def registered(group: str) -> dict[str, EntryPoint]:
    """The entry points installed packages declare under `group`, by name."""
    return {ep.name: ep for ep in entry_points(group=group)}


def _accepted(kind: str, builtins: Sequence[str], group: str) -> str:
    """The forms a name may take, for error messages."""
    installed = ", ".join(sorted(registered(group))) or "none installed"
    return (
        f"a built-in {kind} ({', '.join(builtins)}), an import path MODULE:CLASS (the module importable from the "
        f"current directory or PYTHONPATH), or an entry point of the group {group} ({installed}); see {DOCS}"
    )


def _import_module(module: str, name: str, kind: str) -> Any:
    """Import the user's module with the current directory first on sys.path; import errors become ConfigErrors."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            raise ConfigError(
                f"{kind} {name!r}: no module named {exc.name!r} in the current directory ({cwd}) or on PYTHONPATH"
            ) from None
        raise ConfigError(f"{kind} {name!r}: importing {module} failed: {describe(exc)}") from exc
    except Exception as exc:
        raise ConfigError(f"{kind} {name!r}: importing {module} failed: {describe(exc)}") from exc
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _load_path(name: str, kind: str) -> Loaded:
    """MODULE:CLASS: the class from the imported module."""
    module, _, attr = name.partition(":")
    if not module or not attr or not all(p.isidentifier() for p in (*module.split("."), *attr.split("."))):
        raise ConfigError(f"{kind} {name!r} is not an import path MODULE:CLASS (e.g. my_strategy:MeanReversion)")
    target: Any = _import_module(module, name, kind)
    for part in attr.split("."):
        if not hasattr(target, part):
            where = _shown(str(getattr(target, "__file__", None) or module), None)
            found = ", ".join(sorted(n for n, v in vars(target).items() if inspect.isclass(v) and n[:1] != "_"))
            raise ConfigError(f"{kind} {name!r}: {where} has no {part!r} (its classes: {found or 'none'})")
        target = getattr(target, part)
    return Loaded(name, target, defined_at(target) or module)


def _load_entry_point(name: str, kind: str, group: str, builtins: Sequence[str]) -> Loaded:
    """A name registered under the entry-point group by an installed package."""
    ep = registered(group).get(name)
    if ep is None:
        raise ConfigError(f"unknown {kind} {name!r}: use {_accepted(kind, builtins, group)}")
    try:
        target = ep.load()
    except Exception as exc:
        raise ConfigError(f"{kind} {name!r} (entry point {ep.value}) failed to load: {describe(exc)}") from exc
    return Loaded(name, target, f"entry point {ep.value}")


def load_class(name: str, kind: str, group: str, builtins: Sequence[str]) -> Loaded:
    """The plug-in class a (non built-in) name stands for, or a ConfigError listing the accepted forms."""
    name = name.strip()
    loaded = _load_path(name, kind) if ":" in name else _load_entry_point(name, kind, group, builtins)
    if not inspect.isclass(loaded.cls):
        raise ConfigError(f"{kind} {name!r} is a {type(loaded.cls).__name__}, not a class (see {DOCS})")
    return loaded


def construct(loaded: Loaded, symbols: Sequence[str], params: Mapping[str, Any], kind: str) -> Any:
    """`Class(symbols, **params)`, or a ConfigError naming the user's file and line."""
    try:
        return loaded.cls(tuple(symbols), **dict(params))
    except Exception as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        call = f"{loaded.cls.__name__}(symbols{', ' + shown if shown else ''})"
        raise ConfigError(f"{kind} {loaded.name!r}: {call} failed: {describe(exc, loaded.cls)}") from exc


def _require(obj: object, loaded: Loaded, kind: str, methods: Sequence[str]) -> None:
    """Refuse a class that lacks the protocol's methods, saying which and where the class is."""
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise ConfigError(
            f"{kind} {loaded.name!r} ({loaded.origin}) lacks {', '.join(m + '()' for m in missing)}: "
            f"a {kind} implements {', '.join(methods)} (see {DOCS})"
        )


def _required_features(obj: Any, loaded: Loaded, kind: str) -> tuple[str, ...]:
    """The feature names the plug-in reads, checked to be strings."""
    try:
        names = tuple(obj.required_features())
    except Exception as exc:
        raise ConfigError(f"{kind} {loaded.name!r}: required_features() failed: {describe(exc, loaded.cls)}") from exc
    if not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{kind} {loaded.name!r}: required_features() must return feature names (strings)")
    return names


def _reads_only_required(obj: Any, loaded: Loaded, kind: str) -> bool:
    """Whether the plug-in says `required_features()` is all it reads (its optional `reads_only_required()`)."""
    if not isinstance(obj, ReadsOnlyRequired):
        return False
    try:
        return bool(obj.reads_only_required())
    except Exception as exc:
        raise ConfigError(f"{kind} {loaded.name!r}: reads_only_required() failed: {describe(exc, loaded.cls)}") from exc


# ------------------------------------------------------------------ features


class UserFeatures:
    """A plug-in's `features(prices)` as the feature builder calls it: names, shapes and errors checked."""

    def __init__(self, owner: object, name: str, kind: str) -> None:
        self._compute: Callable[[PriceArrays], Mapping[str, Any]] = owner.features  # type: ignore[attr-defined]
        self.name = name
        self.kind = kind

    def __call__(self, prices: PriceArrays, taken: Collection[str] = ()) -> dict[str, Array]:
        """The plug-in's panels, each (T, N) float64; a name may not replace a panel already built."""
        try:
            out = self._compute(prices)
        except Exception as exc:
            raise ConfigError(f"{self.kind} {self.name!r}: features() failed: {describe(exc, self._compute)}") from exc
        if not isinstance(out, Mapping):
            raise ConfigError(f"{self.kind} {self.name!r}: features() must return a dict of name -> (T, N) array")
        shape = prices.close.shape
        panels: dict[str, Array] = {}
        for key, values in out.items():
            if not isinstance(key, str) or key in taken:
                raise ConfigError(
                    f"{self.kind} {self.name!r}: feature {key!r} is already a built-in panel or another plug-in's; "
                    "name yours differently"
                )
            panel = np.ascontiguousarray(values, dtype=np.float64)
            if panel.shape != shape:
                raise ConfigError(
                    f"{self.kind} {self.name!r}: feature {key!r} has shape {panel.shape}, the price panel {shape} "
                    "(one row per bar, one column per symbol)"
                )
            panels[key] = panel
        return panels


def user_features(obj: object, name: str, kind: str) -> UserFeatures | None:
    """The plug-in's own feature function, when it declares one."""
    return UserFeatures(obj, name, kind) if callable(getattr(obj, "features", None)) else None


def check_features(readers: Iterable[Any], features: Collection[str]) -> None:
    """Refuse (ConfigError) a plug-in that reads a panel nobody builds, listing what exists."""
    for reader in readers:
        if not isinstance(reader, PluginStrategy | PluginMember):
            continue
        missing = sorted(set(reader.required_features()) - set(features))
        if missing:
            raise ConfigError(
                f"{reader.kind} {reader.spec!r} reads features {missing} that no one builds; available: "
                f"{', '.join(sorted(features))} (declare your own with features(prices); see {DOCS})"
            )


# ------------------------------------------------------------------ strategies


class PluginStrategy:
    """A user's strategy as the engine runs it: errors carry the user's file:line, decisions are checked.

    A raising `decide` raises UserCodeError, which the engine turns into a held cycle and a `signals` health
    event; `replay`, `close`, `health` and `member_status` forward to the user's class when it has them.
    """

    kind = "strategy"

    def __init__(self, inner: Any, spec: str, n_symbols: int, loaded: Loaded) -> None:
        self.inner = inner
        self.spec = spec
        self.n_symbols = n_symbols
        self.loaded = loaded
        self.name = str(getattr(inner, "name", "") or spec)
        self._features = _required_features(inner, loaded, self.kind)
        #: the user's class names every panel it reads: the run builds only those (else every built-in one)
        self.lean = _reads_only_required(inner, loaded, self.kind)
        self.extras = user_features(inner, spec, self.kind)

    def required_features(self) -> tuple[str, ...]:
        """The panels the user's strategy reads."""
        return self._features

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """The user's decision, checked to cover every symbol; a failure names the user's file and line."""
        try:
            decision = self.inner.decide(ts, view)
        except Exception as exc:
            raise UserCodeError(f"{self.spec} decide(): {describe(exc, self.inner.decide)}") from exc
        return self._checked(decision)

    def _checked(self, decision: object) -> Decision:
        """The decision with its weights' length checked and its lazy explanation guarded."""
        at = defined_at(self.inner.decide)
        if not isinstance(decision, Decision):
            raise UserCodeError(f"{self.spec} decide() returned {type(decision).__name__}, not a Decision (at {at})")
        if decision.weights.shape != (self.n_symbols,):
            raise UserCodeError(
                f"{self.spec} decide() gave {decision.weights.shape} weights for {self.n_symbols} symbols (at {at})"
            )
        return replace(decision, explain=_guarded_reason(decision.explain, self.spec))

    def replay(self, cycles: Iterable[tuple[datetime, FeatureView]]) -> Decision | None:
        """On resume: the user's replay when it has one, else the last committed cycle decided again."""
        if isinstance(self.inner, Replayable):
            try:
                decision = self.inner.replay(cycles)
            except Exception as exc:
                raise UserCodeError(f"{self.spec} replay(): {describe(exc, self.inner.replay)}") from exc
            return None if decision is None else self._checked(decision)
        last: tuple[datetime, FeatureView] | None = None
        for last in cycles:  # noqa: B007 - a stateless strategy needs only the last committed cycle
            pass
        return None if last is None else self.decide(*last)

    def close(self) -> None:
        """Let the user's strategy release what it holds, when it has a close()."""
        if isinstance(self.inner, Closable):
            self.inner.close()

    def health(self) -> dict[str, Any]:
        """The user's per-member health, when it reports one."""
        return dict(self.inner.health()) if isinstance(self.inner, HealthReporter) else {}

    def member_status(self) -> dict[str, tuple[str, str]]:
        """The user's members' own status, when it reports one."""
        return dict(self.inner.member_status()) if isinstance(self.inner, MemberStatusReporter) else {}


def _guarded_reason(reason: Callable[[int], str], spec: str) -> Callable[[int], str]:
    """A lazy explanation that says where it failed instead of stopping the cycle that asked for it."""

    def explain(i: int) -> str:
        try:
            return str(reason(i))
        except Exception as exc:
            return f"{spec}: explanation failed: {describe(exc, reason)}"

    return explain


def strategy(settings: Settings, symbols: Sequence[str]) -> PluginStrategy:
    """The plug-in strategy `settings.strategy.name` names, built as `Class(symbols, **strategy.params)`."""
    name = settings.strategy.name.strip()
    loaded = load_class(name, "strategy", STRATEGY_GROUP, BUILTIN_STRATEGIES)
    inner = construct(loaded, symbols, settings.strategy.params, "strategy")
    _require(inner, loaded, "strategy", ("required_features", "decide"))
    return PluginStrategy(inner, name, len(symbols), loaded)


# ------------------------------------------------------------------ board members


class PluginMember:
    """A user's board member as the ensemble polls it: named as configured, errors located, opinions checked."""

    kind = "board member"

    def __init__(self, inner: Any, spec: str, n_symbols: int, loaded: Loaded) -> None:
        timeframe = getattr(inner, "timeframe", "short")
        if timeframe not in TIMEFRAMES:
            raise ConfigError(
                f"board member {spec!r}: timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)} "
                f"({loaded.origin})"
            )
        self.inner = inner
        self.spec = spec
        #: the board knows a member by the name its config gives (base_weights, horizons, the monitor)
        self.name = spec
        self.timeframe: Timeframe = cast(Timeframe, timeframe)
        self.n_symbols = n_symbols
        self._features = _required_features(inner, loaded, self.kind)
        #: the user's class names every panel it reads: the run builds only those (else every built-in one)
        self.lean = _reads_only_required(inner, loaded, self.kind)
        self.extras = user_features(inner, spec, self.kind)
        horizon = getattr(inner, "horizon_bars", None)
        if horizon is not None:
            self.horizon_bars = int(horizon)

    def required_features(self) -> tuple[str, ...]:
        """The panels the user's member reads."""
        return self._features

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """The user's opinion under the board's name for the member; a failure names the user's file and line."""
        try:
            op = self.inner.opine(ts, view)
        except Exception as exc:
            raise UserCodeError(f"{self.spec} opine(): {describe(exc, self.inner.opine)}") from exc
        if not isinstance(op, Opinion):
            at = defined_at(self.inner.opine)
            raise UserCodeError(f"{self.spec} opine() returned {type(op).__name__}, not an Opinion (at {at})")
        return replace(op, member=self.name, timeframe=self.timeframe, reason=_guarded_reason(op.reason, self.spec))

    def close(self) -> None:
        """Let the user's member release what it holds, when it has a close()."""
        if isinstance(self.inner, Closable):
            self.inner.close()


def member(settings: Settings, symbols: Sequence[str], name: str) -> PluginMember:
    """The plug-in member `name` (from board.members), built as `Class(symbols, **board.params[name])`."""
    loaded = load_class(name, "board member", MEMBER_GROUP, BUILTIN_MEMBERS)
    inner = construct(loaded, symbols, settings.board.params.get(name, {}), "board member")
    _require(inner, loaded, "board member", ("required_features", "opine"))
    return PluginMember(inner, name.strip(), len(symbols), loaded)


def with_strategy(settings: Settings, spec: str | None) -> Settings:
    """The settings with `strategy.name` set to the --strategy value (unchanged without one)."""
    if spec is None:
        return settings
    return settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": spec.strip()})})
