"""Inline SVG charts for report.html: a horizontal bar chart and a line over time.

Pure functions from numbers to markup, with no external resources, so the report stays one
self-contained file that prints. Every label is escaped here, whoever passes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 520
_BAR_ROW = 26
_LABEL_W = 150
#: Samples drawn at most; more are thinned evenly.
MAX_POINTS = 600


def nice_step(span: float, *, max_ticks: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts `span` into at most `max_ticks` intervals."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max_ticks
    if raw <= 0:  # a span so small that dividing it underflows to zero
        return 1.0
    magnitude: float = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _svg(height: int, label: str, body: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} '
            f'{height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(label)}</title>{body}</svg>")


def bar_chart(rows: Sequence[tuple[str, int, str]], *, label: str) -> str:
    """Horizontal bars, one per (name, count, colour) row, scaled to the largest count."""
    if not rows:
        return '<p class="muted">Nothing to chart.</p>'
    top = max(count for _, count, _ in rows) or 1
    room = WIDTH - _LABEL_W - 60
    parts = []
    for i, (name, count, colour) in enumerate(rows):
        y = 4 + i * _BAR_ROW
        width = max(2.0, room * count / top) if count else 0.0
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{_LABEL_W}" y="{y}" width="{width:.1f}" height="18" rx="2" '
            f'fill="{escape(colour)}"/>'
            f'<text x="{_LABEL_W + width + 6:.1f}" y="{y + 14}">{count}</text>'
        )
    return _svg(8 + _BAR_ROW * len(rows), label, "".join(parts))


def _unit(t_max: float) -> tuple[float, str]:
    if t_max >= 2 * 3600:
        return 3600.0, "h"
    if t_max >= 120:
        return 60.0, "min"
    return 1.0, "s"


def _axes(x_max: float, y_max: float, unit: str, box: tuple[int, int, int, int]) -> str:
    left, top, right, bottom = box
    parts = []
    y_step = nice_step(y_max)
    y_ticks = [y_step * k for k in range(int(y_max / y_step) + 1)]
    for tick in y_ticks:
        y = bottom - (bottom - top) * tick / y_max
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    x_step = nice_step(x_max, max_ticks=6)
    for k in range(int(x_max / x_step) + 1):
        x = left + (right - left) * k * x_step / x_max
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
                     f"{k * x_step:g}</text>")
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>'
                 f'<text x="{right}" y="{bottom + 32}" text-anchor="end">time ({unit})</text>'
                 f'<text x="4" y="{top - 10}" text-anchor="start">orders finished</text>')
    return "".join(parts)


def _thin(points: list[tuple[float, int]], *, most: int = MAX_POINTS) -> list[tuple[float, int]]:
    """Every k-th sample, keeping the last: a night sampled every 2 s stays a small SVG."""
    if len(points) <= most:
        return points
    thinned = points[:: math.ceil(len(points) / most)]
    return thinned if thinned[-1] == points[-1] else [*thinned, points[-1]]


def line_chart(
    points: Sequence[tuple[float, int]], *, label: str, ceiling_per_s: float | None = None,
    marks: Sequence[float] = (),
) -> str:
    """Orders finished over time, with the Strict budget's ceiling as a dashed line if given.

    The ceiling is the fastest the orders could have finished had every Strict request gone to
    a createCart + submitCart pair: a line hugging it means the Strict tier was kept busy.
    `marks` are times (seconds) drawn as vertical lines: where a resumed run starts.
    """
    points = _thin(sorted((t, n) for t, n in points if math.isfinite(t) and t >= 0))
    if len(points) < 2 or points[-1][0] <= 0:
        return '<p class="muted">Too few samples for a throughput chart.</p>'
    scale, unit = _unit(points[-1][0])
    x_max = points[-1][0] / scale
    y_max = max(1, max(n for _, n in points)) * 1.05
    box = (48, 22, WIDTH - 14, 188)
    left, top, right, bottom = box

    def xy(t: float, n: float) -> str:
        return (f"{left + (right - left) * t / scale / x_max:.1f},"
                f"{bottom - (bottom - top) * min(n, y_max) / y_max:.1f}")

    line = " ".join(xy(t, n) for t, n in points)
    area = f"{xy(points[0][0], 0)} {line} {xy(points[-1][0], 0)}"
    body = [_axes(x_max, y_max, unit, box),
            f'<polygon points="{area}" class="area"/>',
            f'<polyline points="{line}" class="line"/>']
    for mark in marks:
        if 0 < mark < points[-1][0]:
            x = xy(mark, 0).split(",")[0]
            body.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" class="resumed"/>')
    if ceiling_per_s and ceiling_per_s > 0:
        t_end = min(points[-1][0], y_max / ceiling_per_s)
        body.append(f'<polyline points="{xy(0, 0)} {xy(t_end, t_end * ceiling_per_s)}" '
                    'class="ceiling"/>'
                    f'<text x="{left}" y="{bottom + 32}" class="legend">'
                    "dashed: fastest the Strict budget allows</text>")
    return _svg(bottom + 38, label, "".join(body))
