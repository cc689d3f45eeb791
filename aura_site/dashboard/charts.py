"""Chart geometry for the dashboard's server-rendered SVG: no JavaScript, no chart library.

The functions turn counts into rectangles and labels; the templates under
`admin/dashboard/` draw them, with a title and a description for screen readers.
"""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    tip: str
    value: int = 0
    label: str = ""
    url: str = ""
    label_x: float = 0  # where a horizontal bar's label ends and its value starts
    value_x: float = 0
    text_y: float = 0


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    title: str
    description: str
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    plot_left: float = 0
    plot_right: float = 0
    baseline: float = 0


@dataclass(frozen=True)
class Series:
    """One kind of bar in a grouped chart: its key in each bucket, its legend and its colour."""

    key: str
    label: str
    css: str


def nice_max(value: int) -> int:
    """Return the axis top for `value`: the next of 1, 2, 5, 10, 20, 50, … at or above it."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def hourly_chart(
    hours: list[datetime],
    counts: dict[str, list[int]],
    series: list[Series],
    *,
    title: str,
) -> Chart:
    """Return a grouped bar chart: per hour, one bar per series."""
    width, height = 760, 240
    left, right, top, bottom = 44, 10, 12, 36
    chart = Chart(width, height, title, "", plot_left=left, plot_right=width - right)
    chart.baseline = height - bottom
    plot_height = chart.baseline - top
    highest = nice_max(max((max(values, default=0) for values in counts.values()), default=0))
    group = (width - left - right) / max(len(hours), 1)
    bar_width = (group - 4) / len(series)
    for index, hour in enumerate(hours):
        x0 = left + index * group + 2
        for position, kind in enumerate(series):
            value = counts[kind.key][index]
            bar_height = plot_height * value / highest
            chart.bars.append(
                Bar(
                    x=round(x0 + position * bar_width, 1),
                    y=round(chart.baseline - bar_height, 1),
                    width=round(bar_width - 0.5, 1),
                    height=round(bar_height, 1),
                    css=kind.css,
                    tip=f"{hour:%H}:00–{hour:%H}:59 UTC: {value} {kind.label.lower()}",
                    value=value,
                )
            )
        if index % 3 == 0:
            chart.x_ticks.append(
                Tick(round(x0 + group / 2 - 2, 1), height - bottom + 16, f"{hour:%H}:00")
            )
    for fraction in (0, 0.5, 1):
        if not float(highest * fraction).is_integer():
            continue  # counts are whole: no "0.5" on the axis
        chart.y_ticks.append(
            Tick(
                left - 6,
                round(chart.baseline - plot_height * fraction + 4, 1),
                f"{highest * fraction:g}",
            )
        )
    totals = ", ".join(f"{sum(counts[s.key])} {s.label.lower()}" for s in series)
    chart.description = f"Per hour over the last {len(hours)} hours (UTC): {totals}."
    return chart


def phase_chart(rows: list[tuple[str, int, str]], *, title: str) -> Chart:
    """Return a horizontal bar chart of (label, count, url) rows."""
    row_height, left, right = 20, 130, 50
    width = 420
    height = row_height * len(rows) + 8
    chart = Chart(width, height, title, "", plot_left=left, plot_right=width - right)
    highest = max((count for _, count, _ in rows), default=0) or 1
    span = width - left - right
    for index, (label, count, url) in enumerate(rows):
        y = 4 + index * row_height
        chart.bars.append(
            Bar(
                x=left,
                y=y + 3,
                width=round(span * count / highest, 1),
                height=row_height - 6,
                css="bar-phase" if label != "Complete" else "bar-done",
                tip=f"{label}: {count}",
                value=count,
                label=label,
                url=url,
                label_x=left - 6,
                value_x=round(left + span * count / highest + 4, 1),
                text_y=y + row_height / 2 + 4,
            )
        )
    chart.description = "; ".join(f"{label}: {count}" for label, count, _ in rows) + "."
    return chart
