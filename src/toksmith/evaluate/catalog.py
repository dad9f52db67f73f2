"""The catalog: every metric and probe of the suite, imported from their modules in one place.

Importing this module imports every metric module, so `METRICS` is complete in a fresh interpreter
whatever was imported before. Metrics are listed by module (the order below), then in the order
each module defines them; that is the order of results and tables.

>>> from toksmith.evaluate.catalog import METRICS, FAMILIES
>>> len(METRICS) >= 29, FAMILIES["compression"][0]
(True, 'bytes_per_token')
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from toksmith.errors import OptionError
from toksmith.evaluate import (
    compression,
    consistency,
    entropy,
    fertility,
    morphology,
    numbers,
    parallel,
    speed,
    vocabulary,
)
from toksmith.evaluate.metric import Metric, Probe

__all__ = ["FAMILIES", "METRICS", "PROBES", "PROBES_OF", "select_metrics"]

#: the metric modules, in the order their metrics are listed
MODULES: tuple[ModuleType, ...] = (
    compression,
    consistency,
    entropy,
    fertility,
    morphology,
    numbers,
    parallel,
    speed,
    vocabulary,
)


def _collect() -> tuple[dict[str, Metric], dict[str, Probe]]:
    metrics: dict[str, Metric] = {}
    probes: dict[str, Probe] = {}
    for mod in MODULES:
        for obj in vars(mod).values():
            if isinstance(obj, Metric) and obj.module == mod.__name__.rsplit(".", 1)[-1]:
                if obj.name in metrics:
                    raise RuntimeError(f"two metrics are named '{obj.name}'")
                metrics[obj.name] = obj
            elif isinstance(obj, Probe):
                probes[obj.key] = obj
    return metrics, probes


#: metric name -> Metric, in listing order
METRICS, PROBES = _collect()
#: family -> its metric names
FAMILIES: dict[str, list[str]] = {}
for _m in METRICS.values():
    FAMILIES.setdefault(_m.family, []).append(_m.name)
#: metric name -> the probes it reads
PROBES_OF: dict[str, tuple[Probe, ...]] = {}
for _p in PROBES.values():
    for _name in _p.metrics:
        PROBES_OF[_name] = (*PROBES_OF.get(_name, ()), _p)
del _m, _p, _name


def select_metrics(names: Iterable[str] | None) -> list[Metric]:
    """Metrics named directly or through their family (`compression`, `numbers`, ...); None = all."""
    if names is None:
        return list(METRICS.values())
    out: set[str] = set()
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n in FAMILIES:  # a family wins over its namesake metric ("fertility")
            out.update(FAMILIES[n])
        elif n in METRICS:
            out.add(n)
        else:
            known = ", ".join(sorted(FAMILIES)) + "; " + ", ".join(sorted(METRICS))
            raise OptionError(f"unknown metric '{n}'; known families and metrics: {known}")
    return [m for m in METRICS.values() if m.name in out]
