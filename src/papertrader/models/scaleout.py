"""Run independent units of work (walk-forward folds, hyper-parameter trials) on Ray, or in-process.

Ray is optional at run time: `mapper(None, use_ray=False)` runs everything here, one item after another.
With Ray, the shared inputs go to the object store once and each item becomes one task; `address=None`
starts (or joins) a local Ray on this machine, an address such as "ray://head:10001" or "auto" joins an
existing cluster, so a user with many symbols and years can spread folds over many machines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
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


def init_ray(address: str | None = None, num_cpus: int | None = None, temp_dir: str | None = None) -> Any:
    """Start or join Ray once per process (later calls reuse the connection).

    A local Ray runs without its dashboard, on ports the OS picks, without usage reporting; `temp_dir` (absolute,
    short: Ray puts sockets under it) keeps its session files out of /tmp/ray, for tests.
    """
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
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a local Ray phones nobody
            if num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            if temp_dir is not None:
                kwargs["_temp_dir"] = temp_dir
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
    return list(iter_ray(fn, shared, params, items, address=address, num_cpus=num_cpus, cpus_per_task=cpus_per_task))


def iter_local(fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> Iterator[R]:
    """fn(shared, params, item) for every item, here, one at a time as the caller asks."""
    for item in items:
        yield fn(shared, params, item)


def iter_ray(
    fn: Callable[[S, P, I], R],
    shared: S,
    params: P,
    items: Sequence[I],
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_task: float = 1.0,
) -> Iterator[R]:
    """Every item as a Ray task, submitted at once; results handed back in item order as they arrive, so the caller
    can store and report each one while later ones still run. Tasks not yet collected are cancelled when the
    caller stops early (an error, Ctrl-C)."""
    ray = init_ray(address, num_cpus)
    shared_ref = ray.put(shared)
    params_ref = ray.put(params)
    remote = ray.remote(num_cpus=cpus_per_task)(fn)
    futures = [remote.remote(shared_ref, params_ref, item) for item in items]  # submitted now, not when iterated
    return _collect(ray, futures)


def _collect(ray: Any, futures: list[Any]) -> Iterator[Any]:
    done = 0
    try:
        for future in futures:
            result = ray.get(future)
            done += 1
            yield result
    finally:
        for future in futures[done:]:
            ray.cancel(future)


def mapper(
    address: str | None = None, use_ray: bool = False, num_cpus: int | None = None
) -> Callable[[Callable[[S, P, I], R], S, P, Sequence[I]], list[R]]:
    """A map function for walk_forward and trials: Ray when asked (or an address is given), else local."""
    if not (use_ray or address):
        return run_local

    def on_ray(fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> list[R]:
        return run_ray(fn, shared, params, items, address=address, num_cpus=num_cpus)

    return on_ray


def iterator(
    address: str | None = None, workers: int | None = None
) -> Callable[[Callable[[S, P, I], R], S, P, Sequence[I]], Iterator[R]]:
    """An in-order result iterator: Ray tasks on `address`, or on a local Ray of `workers` CPUs, else here."""
    if not address and workers is None:
        return iter_local

    def on_ray(fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> Iterator[R]:
        return iter_ray(fn, shared, params, items, address=address, num_cpus=None if address else workers)

    return on_ray


def shutdown() -> None:
    """Disconnect from Ray if this process connected (tests and the CLI call it at exit)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
