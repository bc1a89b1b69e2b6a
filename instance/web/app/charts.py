"""Balance-over-time charts as inline SVG, drawn on the server.

No script, no font and nothing from another origin: a step line over the balance
after each event, an axis at zero when the balance crosses it, and a text alternative
(the figures themselves are in the table beside the chart). Coordinates are computed
with floats only for drawing; the amounts shown as text stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["Chart", "Point", "step_chart"]

WIDTH = 320
HEIGHT = 90
PAD = 6


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Chart:
    """What a template needs to draw one chart."""

    width: int
    height: int
    path: str
    zero_y: float | None
    points: int


def step_chart(points: Sequence[Point]) -> Chart | None:
    """A step line through ``points`` (oldest first); None with fewer than two."""
    if len(points) < 2:
        return None
    start = points[0].at.timestamp()
    span = (points[-1].at.timestamp() - start) or 1.0
    values = [float(p.balance) for p in points]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    height = (high - low) or 1.0

    def x(at: datetime) -> float:
        return PAD + (at.timestamp() - start) / span * (WIDTH - 2 * PAD)

    def y(value: float) -> float:
        return HEIGHT - PAD - (value - low) / height * (HEIGHT - 2 * PAD)

    parts = [f"M{x(points[0].at):.1f},{y(values[0]):.1f}"]
    for point, value in zip(points[1:], values[1:], strict=True):
        parts.append(f"H{x(point.at):.1f}V{y(value):.1f}")
    parts.append(f"H{WIDTH - PAD:.1f}")
    zero = y(0.0) if low < 0 < high else None
    return Chart(WIDTH, HEIGHT, "".join(parts), zero, len(points))
