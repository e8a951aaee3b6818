"""Server-rendered SVG charts: bars in proportion, every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from feeds.pages.charts import Bucket, stacked_bars, time_buckets

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_stack_in_proportion_to_the_peak() -> None:
    buckets = [Bucket("a", {"delivered": 4, "dead": 4}), Bucket("b", {"delivered": 2})]
    markup = str(stacked_bars("Deliveries", buckets, ("delivered", "retried", "dead")))
    svg = ET.fromstring(re.search(r"<svg.*</svg>", markup).group(0))  # noqa: S314 - our own output
    heights = [float(rect.get("height")) for rect in svg.iter(f"{SVG}rect")]
    assert heights[0] == heights[1] == 2 * heights[2]  # 4, 4 and 2 of a peak of 8
    assert "8 delivered" not in markup and "6 delivered" in markup and "4 dead" in markup


def test_text_is_escaped_everywhere() -> None:
    hostile = "<script>alert(1)</script>"
    markup = str(stacked_bars(hostile, [Bucket(hostile, {hostile: 1})], (hostile,)))
    assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_time_buckets_fill_the_gaps_oldest_first() -> None:
    buckets = time_buckets({10: {"x": 3}}, now=11 * 3600 + 5, width=3600, number=3, form="%H")
    assert [b.label for b in buckets] == ["09", "10", "11"]
    assert [dict(b.counts) for b in buckets] == [{}, {"x": 3}, {}]
