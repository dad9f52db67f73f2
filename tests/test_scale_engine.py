"""The local and Ray engines give the same map-reduce result, in shard order."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from toksmith.engine import batched, map_reduce
from toksmith.errors import ToksmithError


def count_words(lines: list[str]) -> Counter:
    return Counter(w for line in lines for w in line.split())


def _add(acc: Counter, c: Counter) -> Counter:
    acc.update(c)
    return acc


def test_batched():
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]


def test_unknown_engine():
    with pytest.raises(ToksmithError, match="unknown engine 'spark'"):
        map_reduce(len, [[1]], lambda a, r: a + r, 0, engine="spark")


def test_local_and_ray_agree(shared_data, local_ray):
    import ray.cloudpickle

    # Ray workers cannot import this test module; ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    lines = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8").splitlines()
    shards = list(batched(lines, 500))
    local = map_reduce(count_words, shards, _add, Counter())
    order: list[int] = []
    on_ray = map_reduce(count_words, shards, _add, Counter(), engine="ray", max_in_flight=2,
                        on_result=lambda c: order.append(sum(c.values())))
    assert on_ray == local and local["the"] > 1000
    assert order == [sum(count_words(s).values()) for s in shards]
