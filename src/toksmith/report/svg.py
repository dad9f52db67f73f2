"""Small inline-SVG chart helpers for the HTML report: no JavaScript, no fonts, no network.

Every function returns one `<svg>` element as a string. Colours of marks are explicit; text, grid and
axes use CSS classes (`ax`, `grid`, `ref`, `lbl`, `val`, `gap`) that the report's stylesheet defines, so
the charts follow its light and dark themes. Hover text uses SVG `<title>` (native tooltips). All text is
escaped here; callers pass plain strings.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "GAP",
    "PALETTE",
    "Line",
    "Series",
    "color_for",
    "dot_plot",
    "esc",
    "fmt_num",
    "fmt_tick",
    "hbar_chart",
    "heat_map",
    "line_chart",
    "nice_ticks",
]

#: Okabe-Ito, colour-blind safe (yellow left out: unreadable on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")

#: A label that stands for "rows left out here" in bar charts and dot plots.
GAP = "\u22ef"

_CHAR_W = 6.8  # average advance of a 12px sans-serif character, for layout estimates
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12"'


def esc(s: object) -> str:
    """Escape text for HTML/SVG content and attribute values."""
    return html.escape(str(s), quote=True)


def color_for(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def fmt_num(x: float | None, digits: int = 3) -> str:
    """A compact number: `digits` significant figures, no exponent for everyday magnitudes.

    >>> fmt_num(3.14159), fmt_num(1234567.0), fmt_num(0.000123), fmt_num(-0.0100), fmt_num(None)
    ('3.14', '1234567', '0.000123', '-0.01', '–')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    mag = math.floor(math.log10(abs(x)))
    if mag >= digits - 1:
        return f"{x:.0f}"
    if mag < -6:
        return f"{x:.{digits - 1}e}"
    out = f"{x:.{digits - 1 - mag}f}"
    # 0.0100 reads as more precise than it is; keep trailing zeros only from 0.1 up (0.210, 4.10)
    return out.rstrip("0").rstrip(".") if mag < -1 else out


def fmt_tick(t: float) -> str:
    """Axis tick text: no trailing zeros (1, 1.5, 0.25)."""
    return f"{t:.6g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About `n` round tick values covering [lo, hi].

    >>> nice_ticks(0, 2.3)
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks: list[float] = []
    t = start
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


@dataclass(frozen=True)
class Series:
    """One named series of values aligned with the chart's labels; `lo`/`hi` are CI bounds."""

    name: str
    values: Sequence[float | None]
    lo: Sequence[float | None] | None = None
    hi: Sequence[float | None] | None = None
    color: str | None = None
    #: text shown instead of a bar where a value is missing (default "n/a")
    missing: Sequence[str | None] | None = None


@dataclass(frozen=True)
class Line:
    """A polyline for `line_chart`: points in data coordinates."""

    name: str
    points: Sequence[tuple[float, float]]
    color: str | None = None
    dashed: bool = False


def _label_width(labels: Sequence[str]) -> float:
    return max([len(s) for s in labels] + [4]) * _CHAR_W + 14


def _legend(series: Sequence[tuple[str, str]], x: float, y: float, max_w: float) -> tuple[str, float]:
    """A one-or-more-line legend of colour swatches; returns (svg, height used)."""
    parts: list[str] = []
    cx, cy = x, y
    for name, color in series:
        w = 18 + len(name) * _CHAR_W + 18
        if cx + w > x + max_w and cx > x:
            cx, cy = x, cy + 18
        parts.append(
            f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="12" height="12" rx="2" fill="{color}"/>'
            f'<text class="lbl" x="{cx + 17:.1f}" y="{cy + 1:.1f}">{esc(name)}</text>'
        )
        cx += w
    return "".join(parts), cy - y + 18


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{esc(title)}" {_FONT}>'
        f"<title>{esc(title)}</title>"
    )


def _finite(vals: Sequence[float | None] | None) -> list[float]:
    return [float(v) for v in (vals or []) if v is not None and math.isfinite(float(v))]


def _x_axis(
    ticks: list[float],
    x: Callable[[float], float],
    fmt: Callable[[float], str],
    top: float,
    rows_h: float,
    mid: float,
    unit: str | None,
) -> list[str]:
    """Vertical grid lines at `ticks`, their labels under the rows, and the unit centred at `mid`."""
    out = []
    for t in ticks:
        out.append(f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top:.1f}" y2="{top + rows_h:.1f}"/>')
        out.append(
            f'<text class="ax" x="{x(t):.1f}" y="{top + rows_h + 14:.1f}" text-anchor="middle">{esc(fmt(t))}</text>'
        )
    if unit:
        y = top + rows_h + 30
        out.append(f'<text class="ax" x="{mid:.1f}" y="{y:.1f}" text-anchor="middle">{esc(unit)}</text>')
    return out


def hbar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    reference: float | None = None,
    reference_label: str = "",
    width: int = 900,
    fmt: Callable[[float | None], str] = fmt_num,
    tick_fmt: Callable[[float], str] = fmt_tick,
    show_values: bool = True,
) -> str:
    """Horizontal grouped bars from zero, one group per label, optional CI whiskers and a reference line.

    A label equal to `GAP` draws a "rows left out" separator instead of bars.
    """
    k = max(len(series), 1)
    bar_h = 13 if k == 1 else 11 if k == 2 else 10
    val_font = 11 if k < 3 else 9.5
    group_h = bar_h * k + 6
    lw = _label_width([s for s in labels if s != GAP])
    val_w = 64 if show_values else 10
    plot_w = max(width - lw - val_w - 10, 120)
    top = 10
    legend_svg, legend_h = ("", 0.0)
    if len(series) > 1:
        legend_svg, legend_h = _legend(
            [(s.name, s.color or color_for(i)) for i, s in enumerate(series)], lw, top + 10, plot_w
        )
    top += legend_h + 4 + (14 if reference is not None and reference_label else 0)
    rows_h = sum(16 if lab == GAP else group_h for lab in labels)
    axis_h = 34
    height = top + rows_h + axis_h
    vals = [v for s in series for v in _finite(s.values) + _finite(s.hi)]
    vmax = max(vals + [reference or 0.0, 1e-12])
    ticks = nice_ticks(0.0, vmax)
    xmax = ticks[-1]

    def x(v: float) -> float:
        return lw + plot_w * (v / xmax if xmax else 0.0)

    axis = _x_axis(ticks, x, tick_fmt, top, rows_h, lw + plot_w / 2, unit)
    out = [_svg_open(width, height, title), legend_svg, *axis]
    y = top
    for li, lab in enumerate(labels):
        if lab == GAP:
            out.append(
                f'<text class="gap" x="{lw + plot_w / 2:.1f}" y="{y + 11:.1f}" text-anchor="middle">'
                f"{GAP}</text>"
            )
            y += 16
            continue
        out.append(
            f'<text class="lbl" x="{lw - 8:.1f}" y="{y + group_h / 2 + 1:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{esc(lab)}</text>'
        )
        for si, s in enumerate(series):
            v = s.values[li] if li < len(s.values) else None
            by = y + 3 + si * bar_h
            color = s.color or color_for(si)
            if v is None or not math.isfinite(float(v)):
                why = (s.missing[li] if s.missing and li < len(s.missing) else None) or "n/a"
                out.append(
                    f'<text class="ax" x="{lw + 4:.1f}" y="{by + bar_h - 2:.1f}">{esc(s.name)}: '
                    f"{esc(why)}</text>"
                )
                continue
            lo = s.lo[li] if s.lo and li < len(s.lo) else None
            hi = s.hi[li] if s.hi and li < len(s.hi) else None
            tip = f"{lab} · {s.name}: {fmt(v)}"
            if lo is not None and hi is not None:
                tip += f" (95% CI {fmt(lo)}–{fmt(hi)})"
            out.append(
                f'<rect x="{lw:.1f}" y="{by:.1f}" width="{max(x(float(v)) - lw, 0.5):.1f}" '
                f'height="{bar_h - 1:.1f}" fill="{color}" opacity="0.85"><title>{esc(tip)}</title></rect>'
            )
            if lo is not None and hi is not None:
                cy = by + (bar_h - 1) / 2
                out.append(
                    f'<path class="whisker" d="M{x(float(lo)):.1f},{cy:.1f}H{x(float(hi)):.1f}'
                    f'M{x(float(lo)):.1f},{cy - 3:.1f}v6M{x(float(hi)):.1f},{cy - 3:.1f}v6"/>'
                )
            if show_values:
                vx = max(x(float(v)), x(float(hi)) if hi is not None else 0.0) + 5
                out.append(
                    f'<text class="val" x="{vx:.1f}" y="{by + bar_h - 2:.1f}" font-size="{val_font}">'
                    f"{esc(fmt(v))}</text>"
                )
        y += group_h
    if reference is not None:
        rx = x(reference)
        out.append(
            f'<line class="ref" x1="{rx:.1f}" x2="{rx:.1f}" y1="{top - 4:.1f}" y2="{top + rows_h:.1f}"/>'
        )
        if reference_label:
            out.append(
                f'<text class="ref-lbl" x="{rx:.1f}" y="{top - 8:.1f}" text-anchor="middle">'
                f"{esc(reference_label)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def dot_plot(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    width: int = 900,
    row_h: int = 18,
    fmt: Callable[[float | None], str] = fmt_num,
    zero: bool = False,
) -> str:
    """A Cleveland dot plot: one row per label, one dot per series, optional CI whiskers.

    Compact for hundreds of rows; the x axis spans the data (from zero when `zero`).
    """
    lw = _label_width([s for s in labels if s != GAP])
    plot_w = max(width - lw - 20, 120)
    top = 8
    legend_svg, legend_h = _legend(
        [(s.name, s.color or color_for(i)) for i, s in enumerate(series)], lw, top + 10, plot_w
    )
    top += legend_h + 4
    rows_h = sum(14 if lab == GAP else row_h for lab in labels)
    height = top + rows_h + 36
    vals = [v for s in series for v in _finite(s.values) + _finite(s.lo) + _finite(s.hi)] or [0.0, 1.0]
    lo_v = 0.0 if zero else min(vals)
    ticks = nice_ticks(lo_v, max(vals))
    x0, x1 = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return lw + plot_w * ((v - x0) / (x1 - x0) if x1 > x0 else 0.5)

    axis = _x_axis(ticks, x, fmt_tick, top, rows_h, lw + plot_w / 2, unit)
    out = [_svg_open(width, height, title), legend_svg, *axis]
    y = top
    for li, lab in enumerate(labels):
        if lab == GAP:
            out.append(
                f'<text class="gap" x="{lw + plot_w / 2:.1f}" y="{y + 10:.1f}" text-anchor="middle">'
                f"{GAP}</text>"
            )
            y += 14
            continue
        cy = y + row_h / 2
        if li % 2 == 0:
            out.append(f'<rect class="band" x="{lw:.1f}" y="{y:.1f}" width="{plot_w:.1f}" height="{row_h}"/>')
        out.append(
            f'<text class="lbl" x="{lw - 8:.1f}" y="{cy + 1:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{esc(lab)}</text>'
        )
        for si, s in enumerate(series):
            v = s.values[li] if li < len(s.values) else None
            if v is None or not math.isfinite(float(v)):
                continue
            color = s.color or color_for(si)
            lo = s.lo[li] if s.lo and li < len(s.lo) else None
            hi = s.hi[li] if s.hi and li < len(s.hi) else None
            tip = f"{lab} · {s.name}: {fmt(v)}"
            if lo is not None and hi is not None:
                tip += f" (95% CI {fmt(lo)}–{fmt(hi)})"
                out.append(
                    f'<line x1="{x(float(lo)):.1f}" x2="{x(float(hi)):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                    f'stroke="{color}" stroke-width="2" opacity="0.5"/>'
                )
            out.append(
                f'<circle cx="{x(float(v)):.1f}" cy="{cy:.1f}" r="4.5" fill="{color}" '
                f'stroke="var(--bg, #fff)" stroke-width="1"><title>{esc(tip)}</title></circle>'
            )
        y += row_h
    out.append("</svg>")
    return "".join(out)


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    diagonal: bool = False,
    diagonal_label: str = "",
    width: int = 460,
    height: int = 420,
    percent: bool = False,
) -> str:
    """A square-ish line chart with an optional y = x diagonal and a legend under the plot."""
    left, right, top = 52, 16, 12
    legend_svg, legend_h = _legend(
        [(ln.name, ln.color or color_for(i)) for i, ln in enumerate(lines)], left, 0, width - left - right
    )
    plot_h = height - top - 46 - legend_h
    plot_w = width - left - right
    (xa, xb), (ya, yb) = x_range, y_range

    def px(v: float) -> float:
        return left + plot_w * (v - xa) / (xb - xa)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - ya) / (yb - ya))

    def tick(v: float) -> str:
        return f"{v * 100:.0f}%" if percent else fmt_tick(v)

    out = [_svg_open(width, height, title)]
    for t in nice_ticks(xa, xb, 5):
        if xa - 1e-9 <= t <= xb + 1e-9:
            out.append(
                f'<line class="grid" x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" y2="{top + plot_h:.1f}"/>'
            )
            out.append(
                f'<text class="ax" x="{px(t):.1f}" y="{top + plot_h + 14:.1f}" text-anchor="middle">'
                f"{esc(tick(t))}</text>"
            )
    for t in nice_ticks(ya, yb, 5):
        if ya - 1e-9 <= t <= yb + 1e-9:
            out.append(
                f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
            )
            out.append(
                f'<text class="ax" x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{esc(tick(t))}</text>'
            )
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h:.1f}"/>')
    if diagonal:
        out.append(
            f'<line class="ref" x1="{px(xa):.1f}" y1="{py(ya):.1f}" x2="{px(xb):.1f}" y2="{py(yb):.1f}"/>'
        )
        if diagonal_label:
            mx, my = px(xa + (xb - xa) * 0.55), py(ya + (yb - ya) * 0.55)
            out.append(
                f'<text class="ref-lbl" x="{mx - 6:.1f}" y="{my - 6:.1f}" text-anchor="end" '
                f'transform="rotate(-{math.degrees(math.atan2(plot_h, plot_w)):.1f} {mx:.1f} {my:.1f})">'
                f"{esc(diagonal_label)}</text>"
            )
    for i, ln in enumerate(lines):
        pts = [
            (float(a), float(b)) for a, b in ln.points if math.isfinite(float(a)) and math.isfinite(float(b))
        ]
        if not pts:
            continue
        color = ln.color or color_for(i)
        d = "M" + "L".join(f"{px(a):.1f},{py(b):.1f}" for a, b in pts)
        dash = ' stroke-dasharray="5 3"' if ln.dashed else ""
        out.append(
            f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2.2"{dash} '
            f'stroke-linejoin="round"><title>{esc(ln.name)}</title></path>'
        )
    if x_label:
        out.append(
            f'<text class="ax" x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32:.1f}" '
            f'text-anchor="middle">{esc(x_label)}</text>'
        )
    if y_label:
        out.append(
            f'<text class="ax" x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{esc(y_label)}</text>'
        )
    out.append(f'<g transform="translate(0 {top + plot_h + 50:.1f})">{legend_svg}</g>')
    out.append("</svg>")
    return "".join(out)


def _heat_color(t: float) -> str:
    """White to deep blue (sequential, light at 0)."""
    t = min(max(t, 0.0), 1.0)
    a = (247, 251, 255)
    b = (8, 69, 148)
    r, g, bl = (round(a[i] + (b[i] - a[i]) * t**0.8) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heat_map(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    row_title: str = "",
    col_title: str = "",
    fmt: Callable[[float | None], str] = lambda v: f"{v * 100:.0f}%" if v is not None else "",
    cell: int = 34,
    max_value: float | None = None,
    tips: Sequence[Sequence[str]] | None = None,
) -> str:
    """A grid of shaded cells (rows x columns) with the value printed in each non-empty cell.

    Column labels are written at an angle so long split patterns fit.
    """
    lw = _label_width(row_labels) + (14 if row_title else 0)
    col_len = max([len(c) for c in col_labels] + [3])
    head = min(col_len * _CHAR_W * 0.75 + 22, 170)
    top = head + (16 if col_title else 0)
    width = lw + cell * len(col_labels) + 30 + col_len * _CHAR_W * 0.75
    height = top + cell * len(row_labels) + 8
    vmax = (
        max_value
        if max_value is not None
        else max([float(v) for row in values for v in row if v is not None] + [1e-12])
    )
    out = [_svg_open(width, height, title)]
    if col_title:
        out.append(f'<text class="ax" x="{lw:.1f}" y="12">{esc(col_title)}</text>')
    if row_title:
        out.append(
            f'<text class="ax" x="12" y="{top + cell * len(row_labels) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {top + cell * len(row_labels) / 2:.1f})">{esc(row_title)}</text>'
        )
    for ci, c in enumerate(col_labels):
        cx = lw + ci * cell + cell / 2
        out.append(
            f'<text class="lbl mono" x="{cx:.1f}" y="{top - 6:.1f}" '
            f'transform="rotate(-45 {cx:.1f} {top - 6:.1f})">{esc(c)}</text>'
        )
    for ri, r in enumerate(row_labels):
        cy = top + ri * cell
        out.append(
            f'<text class="lbl" x="{lw - 8:.1f}" y="{cy + cell / 2 + 4:.1f}" text-anchor="end">'
            f"{esc(r)}</text>"
        )
        row = values[ri] if ri < len(values) else []
        for ci in range(len(col_labels)):
            v = row[ci] if ci < len(row) else None
            cx = lw + ci * cell
            if v is None:
                out.append(
                    f'<rect class="empty" x="{cx + 1:.1f}" y="{cy + 1:.1f}" width="{cell - 2}" '
                    f'height="{cell - 2}" rx="3"/>'
                )
                continue
            t = float(v) / vmax if vmax else 0.0
            tip = tips[ri][ci] if tips else f"{r} · {col_labels[ci]}: {fmt(v)}"
            out.append(
                f'<rect x="{cx + 1:.1f}" y="{cy + 1:.1f}" width="{cell - 2}" height="{cell - 2}" rx="3" '
                f'fill="{_heat_color(t)}"><title>{esc(tip)}</title></rect>'
            )
            label = fmt(v)
            if label and float(v) > 0:
                fill = "#fff" if t > 0.5 else "#1b1b1b"
                out.append(
                    f'<text x="{cx + cell / 2:.1f}" y="{cy + cell / 2 + 4:.1f}" text-anchor="middle" '
                    f'font-size="10.5" fill="{fill}" pointer-events="none">{esc(label)}</text>'
                )
    out.append("</svg>")
    return "".join(out)
