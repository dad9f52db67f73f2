"""Where corpus-sized work runs: in this process (`local`, the default) or on a Ray cluster (`ray`).

Work is a map over shards (batches of documents) followed by a reduce in shard order, so both engines
give the same result bit for bit. With `ray`, toksmith joins the cluster named by `RAY_ADDRESS` or
starts a local one; the map function must be a module-level function (Ray ships it by reference).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

from toksmith.errors import MissingDependencyError, ToksmithError

__all__ = ["ENGINES", "batched", "map_reduce", "ray_init"]

ENGINES = ("local", "ray")
T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def ray_init(num_cpus: int | None = None) -> object:
    """Import Ray and connect (RAY_ADDRESS) or start a local instance; returns the `ray` module."""
    try:
        import ray
    except ImportError as e:
        raise MissingDependencyError("ray", "--engine ray", extra="ray") from e
    if not ray.is_initialized():
        kwargs: dict = {"ignore_reinit_error": True, "log_to_driver": False, "include_dashboard": False}
        if os.environ.get("RAY_ADDRESS"):
            kwargs["address"] = os.environ["RAY_ADDRESS"]
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
    return ray


def map_reduce(
    map_fn: Callable[[T], R],
    shards: Iterable[T],
    reduce_fn: Callable[[A, R], A],
    initial: A,
    *,
    engine: str = "local",
    max_in_flight: int = 8,
    on_result: Callable[[R], None] | None = None,
    num_gpus: float = 0,
) -> A:
    """Fold `reduce_fn` over `map_fn(shard)` for every shard, in shard order.

    With `engine="ray"` the maps run as Ray tasks, at most `max_in_flight` at once (memory stays
    bounded by the shards in flight, not by the corpus), and results are reduced in submission order.
    `num_gpus` is what each Ray task reserves (1 puts every task on its own GPU).
    """
    if engine not in ENGINES:
        raise ToksmithError(f"unknown engine '{engine}' (choose from: {', '.join(ENGINES)})")
    acc = initial
    if engine == "local":
        for shard in shards:
            r = map_fn(shard)
            if on_result is not None:
                on_result(r)
            acc = reduce_fn(acc, r)
        return acc
    ray = ray_init()
    remote = ray.remote(num_gpus=num_gpus)(map_fn) if num_gpus else ray.remote(map_fn)
    pending: list = []
    for shard in shards:
        pending.append(remote.remote(shard))
        if len(pending) >= max_in_flight:
            r = ray.get(pending.pop(0))
            if on_result is not None:
                on_result(r)
            acc = reduce_fn(acc, r)
    for ref in pending:
        r = ray.get(ref)
        if on_result is not None:
            on_result(r)
        acc = reduce_fn(acc, r)
    return acc
