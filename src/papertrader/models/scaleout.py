"""Run independent units of work (walk-forward folds, hyper-parameter trials) on Ray, or in-process.

Ray is optional at run time: `mapper(None, use_ray=False)` runs everything here, one item after another.
With Ray, the shared inputs go to the object store once and each item becomes one task; `address=None`
starts (or joins) a local Ray on this machine, an address such as "ray://head:10001" or "auto" joins an
existing cluster, so a user with many symbols and years can spread folds over many machines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from papertrader.core.errors import ConfigError

log = logging.getLogger(__name__)
S = TypeVar("S")
P = TypeVar("P")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


def ray_available() -> bool:
    """Whether the ray package can be imported here."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def init_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Start or join Ray once per process (later calls reuse the connection)."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "Ray is not installed: pip install 'papertrader[scale]' (the [scale] extra), or run without --ray"
        ) from exc
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False, "include_dashboard": False}
        if address:
            kwargs["address"] = address
        elif num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
    return ray


def run_local(fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> list[R]:
    """fn(shared, params, item) for every item, here, in order."""
    return [fn(shared, params, item) for item in items]


def run_ray(
    fn: Callable[[S, P, I], R],
    shared: S,
    params: P,
    items: Sequence[I],
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_task: float = 1.0,
) -> list[R]:
    """fn(shared, params, item) for every item as Ray tasks; results in item order."""
    ray = init_ray(address, num_cpus)
    shared_ref = ray.put(shared)
    params_ref = ray.put(params)
    remote = ray.remote(num_cpus=cpus_per_task)(fn)
    futures = [remote.remote(shared_ref, params_ref, item) for item in items]
    results: list[R] = ray.get(futures)
    return results


def mapper(
    address: str | None = None, use_ray: bool = False, num_cpus: int | None = None
) -> Callable[[Callable[[S, P, I], R], S, P, Sequence[I]], list[R]]:
    """A map function for walk_forward and trials: Ray when asked (or an address is given), else local."""
    if not (use_ray or address):
        return run_local

    def on_ray(fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> list[R]:
        return run_ray(fn, shared, params, items, address=address, num_cpus=num_cpus)

    return on_ray


def shutdown() -> None:
    """Disconnect from Ray if this process connected (tests and the CLI call it at exit)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
