"""Charts as inline SVG, rendered on the server: no script, no library.

Pure: counts in, markup out. Every piece of text (titles, labels, series names) is
escaped; numbers are formatted by this module. Colours come from the stylesheet by
class (``series-0``, ``series-1``, ...), so the strict Content-Security-Policy needs
no inline style.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup

WIDTH, HEIGHT = 1100, 150
_LEFT, _BOTTOM, _TOP = 40, 22, 8


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar: its label (shown on hover and at the ends of the axis) and its counts."""

    label: str
    counts: Mapping[str, int]


def time_buckets(
    counts: Mapping[int, Mapping[str, int]], *, now: float, width: float, number: int, form: str
) -> list[Bucket]:
    """The last ``number`` buckets of ``width`` seconds up to ``now``, oldest first, with
    empty ones filled in; labels are UTC times in ``form`` (strftime)."""
    last = int(now // width)
    return [
        Bucket(datetime.fromtimestamp(index * width, UTC).strftime(form), counts.get(index, {}))
        for index in range(last - number + 1, last + 1)
    ]


def stacked_bars(title: str, buckets: Sequence[Bucket], series: Sequence[str]) -> Markup:
    """A stacked bar chart of ``series`` over ``buckets`` with a legend."""
    totals = [sum(bucket.counts.get(name, 0) for name in series) for bucket in buckets]
    peak = max([*totals, 1])
    plot_width, plot_height = WIDTH - _LEFT, HEIGHT - _BOTTOM - _TOP
    step = plot_width / max(len(buckets), 1)
    bars = []
    for index, bucket in enumerate(buckets):
        x, base = _LEFT + index * step, float(HEIGHT - _BOTTOM)
        tip = ", ".join(f"{bucket.counts.get(name, 0)} {name}" for name in series)
        parts = [Markup("<title>{}: {}</title>").format(bucket.label, tip)]
        for number, name in enumerate(series):
            value = bucket.counts.get(name, 0)
            if not value:
                continue
            height = value / peak * plot_height
            base -= height
            parts.append(
                Markup('<rect class="series-{}" x="{}" y="{}" width="{}" height="{}"/>').format(
                    number, _n(x), _n(base), _n(max(step - 1, 0.5)), _n(height)
                )
            )
        bars.append(Markup('<g class="bar">{}</g>').format(Markup("").join(parts)))
    return Markup(
        '<figure class="chart"><figcaption>{title}</figcaption>'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{title}">{axes}{bars}</svg>{legend}</figure>'
    ).format(
        title=title, w=WIDTH, h=HEIGHT, axes=_axes(buckets, peak),
        bars=Markup("").join(bars), legend=_legend(series, totals, buckets),
    )  # fmt: skip


def _axes(buckets: Sequence[Bucket], peak: int) -> Markup:
    baseline = HEIGHT - _BOTTOM
    first = buckets[0].label if buckets else ""
    last = buckets[-1].label if buckets else ""
    return Markup(
        '<line class="axis" x1="{l}" y1="{b}" x2="{w}" y2="{b}"/>'
        '<line class="axis" x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>'
        '<text class="tick" x="{lt}" y="{ty}" text-anchor="end">{peak}</text>'
        '<text class="tick" x="{lt}" y="{b}" text-anchor="end">0</text>'
        '<text class="tick" x="{l}" y="{h}">{first}</text>'
        '<text class="tick" x="{w}" y="{h}" text-anchor="end">{last}</text>'
    ).format(
        l=_LEFT, b=baseline, w=WIDTH, t=_TOP, lt=_LEFT - 4, ty=_TOP + 8, h=HEIGHT - 4,
        peak=peak, first=first, last=last,
    )  # fmt: skip


def _legend(series: Sequence[str], totals: Sequence[int], buckets: Sequence[Bucket]) -> Markup:
    items = [
        Markup('<li><span class="swatch series-{}"></span>{} {}</li>').format(
            number, sum(bucket.counts.get(name, 0) for bucket in buckets), name
        )
        for number, name in enumerate(series)
    ]
    return Markup('<ul class="legend">{}<li>total {}</li></ul>').format(
        Markup("").join(items), sum(totals)
    )


def _n(value: float) -> str:
    return f"{value:.1f}"
