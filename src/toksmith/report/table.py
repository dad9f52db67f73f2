"""The terminal table of eval results: one row per metric, one column per tokenizer, value and 95% CI.

Each metric's unit is printed under its name, in the same cell, so the table needs no unit column and
fits an 80-column terminal for up to three tokenizers without cutting a unit short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from toksmith.evaluate.results import EvalResults

__all__ = ["eval_table", "fmt_value"]


def fmt_value(x: float | int) -> str:
    """A value for the table: integers whole, others to 4 significant digits (whole from 1000 up).

    >>> fmt_value(3.14159), fmt_value(12345.6), fmt_value(7)
    ('3.142', '12346', '7')
    """
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if not np.isfinite(x):
        return "nan"
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


def eval_table(res: EvalResults) -> Table:
    """A rich Table of `res`: metric (and its unit, dimmed, below), then value [95% CI] per tokenizer."""
    names = res.names
    t = Table(title="toksmith eval", show_lines=False)
    t.add_column("metric / unit", overflow="fold")
    for n in names:
        t.add_column(n, justify="right", min_width=9)
    for m in res.metrics:
        cells = []
        any_value = False
        for n in names:
            r = res.results[n].get(m.name)
            if r is None or r.value is None:
                cells.append(Text("-"))
                continue
            any_value = True
            cell = Text(fmt_value(r.value))
            if r.ci and r.ci[0] != r.ci[1]:
                cell.append(f"\n[{fmt_value(r.ci[0])}, {fmt_value(r.ci[1])}]", style="dim")
            cells.append(cell)
        if any_value:
            head = Text(m.name)
            head.append("\n" + m.unit, style="dim")
            t.add_row(head, *cells)
    return t
