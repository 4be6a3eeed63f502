"""Server-rendered SVG charts: no script, no CDN, readable offline and at any width (pure).

Each chart is an ``<svg>`` with a ``viewBox`` that scales to its container, one ``<g
class="series">`` per series (``data-series`` names it) and a ``<title>`` per mark, so a
pointer shows the exact value. The legend is HTML next to it (see the template), so it
stays legible on a narrow screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 34
# Colour-blind-safe palette (Okabe–Ito), in series order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | int | None]
    colour: str = ""


@dataclass(frozen=True)
class Chart:
    """What the template needs: the SVG markup and the legend entries."""

    svg: str
    legend: list[tuple[str, str]]
    kind: str


def _scale(highest: float, top: float | None = None) -> tuple[float, int]:
    """The top of the scale and how many gridlines divide it, at round values."""
    if top:
        return top, int(top) if top <= 10 and top == int(top) else 4
    if highest <= 0:
        return 4, 4
    magnitude = 10 ** math.floor(math.log10(highest / 4))
    for step in (1, 2, 2.5, 5, 10):
        size = step * magnitude
        if size >= 1 and size * 4 >= highest:
            return size * 4, 4
    return highest, 4


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _coloured(series: Sequence[Series]) -> list[Series]:
    return [
        Series(s.name, s.values, s.colour or PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]


def _frame(title: str, top: float, ticks: int, unit: str, labels: Sequence[str]) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(ticks + 1):
        value = top * i / ticks
        y = TOP + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="#444">{_fmt(value)}{escape(unit)}</text>'
        )
    count = len(labels)
    every = max(1, -(-count // 6))  # at most about six labels under the axis
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + plot_w * (i + 0.5) / max(count, 1)
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'fill="#444">{escape(_short(label))}</text>'
        )
    return parts


def _short(label: str) -> str:
    """ "week of 2026-03-02" → "03-02"; "2026-03-02" → "03-02"."""
    tail = label.rsplit(" ", 1)[-1]
    if len(tail) == 10 and tail[4] == "-" and tail[7] == "-":
        return tail[5:]
    return label if len(label) <= 14 else label[:13] + "…"


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, unit: str = ""
) -> Chart:
    """Stacked bars: one bar per period, one coloured segment per series."""
    series = _coloured(series)
    totals = [sum((s.values[i] or 0) for s in series) for i in range(len(labels))]
    top, ticks = _scale(max(totals, default=0))
    parts = _frame(title, top, ticks, unit, labels)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    base = [0.0] * len(labels)
    for s in series:
        parts.append(f'<g class="series" data-series="{escape(s.name)}" fill="{s.colour}">')
        for i, value in enumerate(s.values):
            if not value:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - base[i] - h
            x = LEFT + slot * i + (slot - bar) / 2
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(labels[i])}: {escape(s.name)} {_fmt(value)}{escape(unit)}"
                "</title></rect>"
            )
            base[i] += h
        parts.append("</g>")
    parts.append("</svg>")
    return Chart("".join(parts), [(s.name, s.colour) for s in series], "bar")


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    top: float | None = None,
) -> Chart:
    """One line per series; a period without a value leaves a gap."""
    series = _coloured(series)
    highest = max((v for s in series for v in s.values if v is not None), default=0)
    top, ticks = _scale(highest, top)
    parts = _frame(title, top, ticks, unit, labels)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)
    for s in series:
        parts.append(
            f'<g class="series" data-series="{escape(s.name)}" stroke="{s.colour}" '
            f'fill="{s.colour}">'
        )
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x = LEFT + plot_w * (i + 0.5) / count
            y = TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(labels[i])}: '
                f"{escape(s.name)} {_fmt(value)}{escape(unit)}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke-width="2"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return Chart("".join(parts), [(s.name, s.colour) for s in series], "line")
