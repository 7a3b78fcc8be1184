"""What a reader sees of the demo's results once nbconvert has turned the executed notebook into
HTML: nbconvert (like JupyterLab) drops an output's `<style>` and right-aligns every table cell,
shows no Vega-Lite (the SVG stands in for it), and must not show Markdown's backticks raw."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from kernel_client import REPO, playbook_run

VEGA_LITE = "application/vnd.vegalite.v5+json"
SVG = "{http://www.w3.org/2000/svg}"
# A figure as the tables write one: 12, 4.81, 0.005, 1.2k, +861%, -Inf, NaN, 721 (2 NaN/Inf), or
# the dash of a series without figures.
FIGURE = re.compile(r"^([+-]?\d[\d.,]*[kMGTPmµnp]?%?|[+-]?Inf|NaN|—)( \(\d+ NaN/Inf\))?$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo notebook executed headless, and its HTML as nbconvert writes it."""
    out = tmp_path_factory.mktemp("demo") / "demo.out.ipynb"
    proc = playbook_run(str(REPO / "notebooks" / "demo.ipynb"), "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # its check fails: that is the incident
    executed = nbformat.read(out, as_version=4)
    html, _ = HTMLExporter().from_notebook_node(executed)
    return executed, BeautifulSoup(html, "html.parser")


def outputs(soup):
    return soup.select(".jp-OutputArea-output")


def alignment(cell) -> str | None:
    match = re.search(r"text-align:\s*(left|right)", cell.get("style", ""))
    return match and match.group(1)


def test_text_cells_are_left_aligned_and_figures_right_aligned(demo):
    _, soup = demo
    headers = [th for out in outputs(soup) for th in out.select("th")]
    assert headers and all(alignment(th) for th in headers), "a header sits over its column"
    cells = [cell for out in outputs(soup) for cell in out.select("td")]
    assert len(cells) > 50, "the demo's tables reached the HTML"
    text = figures = 0
    for cell in cells:
        content = cell.get_text(" ", strip=True)
        if FIGURE.match(content):
            assert alignment(cell) == "right", cell
            figures += 1
        elif re.search(r"[A-Za-z]", content) and not cell.get("colspan"):
            assert alignment(cell) == "left", cell
            text += 1
    assert text >= 20 and figures >= 50, (text, figures)


def test_the_timeline_shows_code_spans_as_code_and_no_raw_backticks(demo):
    _, soup = demo
    for out in outputs(soup):
        assert "`" not in out.get_text(), out.get_text()[:500]
    timeline = next(
        t for out in outputs(soup) for t in out.select("table") if t.find(string=re.compile("finding or check"))
    )
    fired = next(td for td in timeline.select("td") if "fired for 1 series" in td.get_text())
    code = fired.find("code")
    assert code is not None and code.get_text().startswith("sum(rate(http_requests_total{"), fired
    assert code.get_text().endswith("> 1"), fired


def vega_specs(executed):
    """The queries' charts; the log cell's volume chart (bars, not lines) is left out."""
    specs = [
        o["data"][VEGA_LITE]
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if VEGA_LITE in o.get("data", {})
    ]
    volume = [spec for spec in specs if spec["title"]["text"].startswith("log lines per")]
    assert len(volume) == 1 and volume[0]["mark"]["type"] == "bar", [spec["title"] for spec in specs]
    return [spec for spec in specs if spec not in volume]


def test_the_interactive_charts_y_axis_holds_every_value_baselines_too(demo):
    executed, _ = demo
    specs = vega_specs(executed)
    assert len(specs) == 6
    peaks = []
    for spec in specs:
        values = [row["v"] for row in spec["data"]["values"] if row["v"] is not None]
        y = spec["encoding"]["y"]
        lo, hi = y["scale"]["domain"]
        assert lo <= min(values) and max(values) <= hi, (spec["title"]["text"], lo, hi, max(values))
        ticks = y["axis"]["values"]
        assert (ticks[0], ticks[-1]) == (lo, hi), ticks
        peaks.append(max(values))
    assert 5.5 in peaks and 0.12 in peaks, "the peaks the issue saw cut off are drawn"


def test_the_static_charts_draw_every_point_inside_the_plot(demo):
    _, soup = demo
    images = [img["src"] for out in outputs(soup) for img in out.select("img") if "svg+xml" in img["src"]]
    drawings = [ET.fromstring(base64.b64decode(src.split(",", 1)[1])) for src in images]
    # The log cell's volume chart is drawn with bars, not lines.
    volume = [svg for svg in drawings if next(svg.iter(f"{SVG}text")).text.startswith("log lines per")]
    assert len(volume) == 1 and len(list(volume[0].iter(f"{SVG}rect"))) > 1
    drawings = [svg for svg in drawings if svg not in volume]
    assert len(drawings) == 6
    for svg in drawings:
        axis = next(p.get("d") for p in svg.iter(f"{SVG}path") if re.match(r"M[\d.]+ [\d.]+V[\d.]+H", p.get("d")))
        top, bottom = map(float, re.match(r"M[\d.]+ ([\d.]+)V([\d.]+)H", axis).groups())
        ys = [
            float(point.split(",")[1])
            for line in svg.iter(f"{SVG}polyline")
            for point in line.get("points").split()
        ]
        ys += [float(c.get("cy")) for c in svg.iter(f"{SVG}circle")]
        assert ys and all(top <= y <= bottom for y in ys), (top, bottom, min(ys), max(ys))
