"""The duration chart of a command's kept runs: SVG geometry computed here, drawn by a template.

No charting library: one bar per run, oldest on the left, its height its duration, its colour
(and its tooltip, for those who do not see colour) its status; dashed lines at p50 and p95.
"""

from __future__ import annotations

from typing import Any

WIDTH = 720
HEIGHT = 160
TOP = 12  # room for the label of the longest run
BOTTOM = 4


def duration_chart(
    runs: list[dict[str, Any]], p50: float | None, p95: float | None, titles: list[str]
) -> dict[str, Any] | None:
    """Return the chart of ``runs`` (newest first, as stored; ``None``: nothing to draw).

    ``titles`` are the runs' tooltips, in the same order.
    """
    points = [(run, title) for run, title in zip(runs, titles, strict=True) if run.get("duration")]
    points.reverse()
    if not points:
        return None
    longest = max(float(run["duration"]) for run, _ in points)
    scale = (HEIGHT - TOP - BOTTOM) / longest if longest > 0 else 0.0
    slot = WIDTH / len(points)
    width = max(1.0, slot * 0.8)
    bars = []
    for index, (run, title) in enumerate(points):
        height = max(1.0, float(run["duration"]) * scale)
        bars.append(
            {
                "x": f"{index * slot + (slot - width) / 2:.2f}",
                "y": f"{HEIGHT - BOTTOM - height:.2f}",
                "width": f"{width:.2f}",
                "height": f"{height:.2f}",
                "status": "STALE" if run.get("stale") else run["status"],
                "title": title,
            }
        )
    lines = [
        {"name": name, "y": f"{HEIGHT - BOTTOM - value * scale:.2f}", "value": value}
        for name, value in (("p50", p50), ("p95", p95))
        if value is not None
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "lines": lines,
        "longest": longest,
    }
