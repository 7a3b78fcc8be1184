"""Metrics against a real Prometheus: `source`, `window`, `query`, `check`, completion and
inspect, the MIME bundles a query shows, and notebooks/incident-5xx.ipynb end to end.

The Prometheus (fixture `prometheus`, conftest.py) serves tests/fixtures/incident.om: a checkout
5xx incident on 2026-11-20 from 10:30 to 11:15, and the same hours a week earlier as the normal
week. The expected figures come from the fixture's design (tests/fixtures/README.md), or from
asking the same Prometheus directly over its HTTP API.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import nbformat
import pytest

from http_stub import StubServer
from kernel_client import (
    REPO,
    assert_cells_ran,
    bundles,
    caret_under,
    complete,
    get_reply,
    notebook,
    plain,
    playbook_run,
    run_error,
    run_ok,
    started_kernel,
)
from prometheus import api_success, incident_notebook

VEGALITE = "application/vnd.vegalite.v5+json"
SCHEMA = REPO / "tests" / "schemas" / "vega-lite-v5.6.1.schema.json"

INCIDENT = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"
CHECKOUT_5XX = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
CART_5XX = 'sum(rate(http_requests_total{service="cart",code=~"5.."}[5m]))'


# --- helpers ----------------------------------------------------------------------------------


def connect(kc, prometheus, window: str = INCIDENT) -> None:
    run_ok(kc, f"source prom prometheus {prometheus.url}\n{window}")


def query_outputs(kc, code: str) -> tuple[dict, dict]:
    """Run a query cell; return (the chart bundle, the bundle holding the table)."""
    outputs = run_ok(kc, code)
    shown = bundles(outputs)
    charts = [b for b in shown if VEGALITE in b]
    assert len(charts) == 1, f"expected one Vega-Lite chart, got {[sorted(b) for b in shown]}"
    tables = [b for b in shown if "text/html" in b and "<table" in b["text/html"]]
    assert len(tables) == 1, f"expected one text/html table, got {[sorted(b) for b in shown]}"
    assert len(shown) <= 2, f"a query shows a chart and a table, got {[sorted(b) for b in shown]}"
    return charts[0], tables[0]


class Tables(HTMLParser):
    """Every <table> of an HTML fragment as a list of rows of cell texts (th and td alike)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.depth = 0
        self.cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            if not self.tables[-1]:
                self.tables[-1].append([])
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


NUMBER = re.compile(r"^([+\-−]?)\s*((?:\d[\d,\u2009\u202f ]*)?\.?\d+(?:[eE][+\-]?\d+)?)\s*([kMGTmµun]?)")
SI = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3, "µ": 1e-6, "u": 1e-6, "n": 1e-9}


def parse_number(text: str) -> tuple[float, float] | None:
    """(value, tolerance) of a number as a table shows it: the tolerance is half a unit in the
    last digit shown. Accepts a sign, thousands separators, an exponent and an SI suffix."""
    m = NUMBER.match(text.strip())
    if not m:
        return None
    sign, digits, suffix = m.groups()
    digits = re.sub(r"[,\u2009\u202f ]", "", digits)
    mantissa = digits.split("e")[0].split("E")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split("[eE]", digits)[1]) if re.search("[eE]", digits) else 0
    scale = SI[suffix]
    value = float(digits) * scale * (-1 if sign in "-−" and sign else 1)
    tolerance = 0.5 * 10 ** (exponent - decimals) * scale * 1.001 + 1e-12
    return value, tolerance


class SummaryTable:
    """The summary table of a query: per series its label text, and min, avg, max, last and
    (with a baseline) the change, as shown."""

    STATS = ("min", "avg", "max", "last")

    def __init__(self, html: str):
        tables = [t for t in Tables(html).tables if t]
        assert tables, f"no table in {html[:500]}"
        self.html = html
        for rows in tables:
            header = [c.lower() for c in rows[0]]
            columns = {}
            for stat in self.STATS:
                found = [i for i, h in enumerate(header) if re.search(rf"\b{stat}\b", h)]
                if found:
                    columns[stat] = found[0]
            if len(columns) == len(self.STATS):
                break
        else:
            raise AssertionError(f"no table with min, avg, max, last columns in:\n{html[:2000]}")
        self.header = header
        self.columns = columns
        self.rows = [r for r in rows[1:] if len(r) == len(header)]
        assert self.rows, f"the summary table has no rows:\n{html[:2000]}"

    def label_tokens(self, row: list[str]) -> set[str]:
        text = " ".join(
            c for i, c in enumerate(row)
            if i not in self.columns.values() and not re.fullmatch(r"[+\-−]?[\d.,\s]*%?", c)
        )
        return {t for t in re.split(r"[\s{}\"',=~;()]+", text) if t}

    def row_for(self, labels: dict[str, str]) -> list[str]:
        """The one row whose label text holds every value of `labels`."""
        values = {v for k, v in labels.items() if k != "__name__"}
        matching = [r for r in self.rows if values <= self.label_tokens(r)]
        if len(matching) > 1:
            # With a baseline the table may list the baseline series too: prefer the current one.
            current = [r for r in matching if self.change(r) is not None]
            matching = current or matching
        assert len(matching) == 1, (
            f"{len(matching)} rows for the series {labels} in the table:\n"
            + "\n".join(" | ".join(r) for r in [self.header, *self.rows])
        )
        return matching[0]

    def stat(self, row: list[str], stat: str) -> tuple[float, float]:
        cell = row[self.columns[stat]]
        parsed = parse_number(cell)
        assert parsed, f"{stat} `{cell}` is not a number in the row {row}"
        return parsed

    @staticmethod
    def change(row: list[str]) -> tuple[float, float] | None:
        """The row's signed percentage, if it has one."""
        for cell in row:
            m = re.search(r"([+\-−]?)\s*(\d[\d.,\u2009\u202f]*)\s*%", cell)
            if m:
                value, tolerance = parse_number(m.group(1) + m.group(2))
                assert m.group(1) or value == 0, f"the change `{cell}` has no sign"
                return value, tolerance
        return None


def assert_close(shown: tuple[float, float], expected: float, what: str) -> None:
    value, tolerance = shown
    assert abs(value - expected) <= tolerance + 1e-9 * abs(expected), (
        f"{what}: the table shows {value} (±{tolerance:g}), the data says {expected}"
    )


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "avg": sum(values) / len(values), "max": max(values), "last": values[-1]}


def vegalite_validator():
    import jsonschema

    # Not check_schema(): Vega-Lite's own $refs (e.g. `#/definitions/Vector7<string>`) fail the
    # meta-schema's uri-reference format, yet resolve, as they do for altair.
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def inline_values(spec) -> list:
    """Every inline `data.values` (and `datasets`) array anywhere in a Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            found.append(data["values"])
        for value in (spec.get("datasets") or {}).values():
            if isinstance(value, list):
                found.append(value)
        for key, value in spec.items():
            if key not in ("data", "datasets"):
                found.extend(inline_values(value))
    elif isinstance(spec, list):
        for item in spec:
            found.extend(inline_values(item))
    return found


def urls_in_data(spec) -> list:
    if isinstance(spec, dict):
        here = [spec["data"]["url"]] if isinstance(spec.get("data"), dict) and "url" in spec["data"] else []
        return here + [u for v in spec.values() for u in urls_in_data(v)]
    if isinstance(spec, list):
        return [u for v in spec for u in urls_in_data(v)]
    return []


# --- the fixture ------------------------------------------------------------------------------


def test_fixture_is_the_generators_output(tmp_path):
    """tests/fixtures/incident.om and metadata.prom are exactly what generate.py writes."""
    fixtures = REPO / "tests" / "fixtures"
    subprocess.run([sys.executable, str(fixtures / "generate.py"), str(tmp_path)], check=True, timeout=60)
    for name in ("incident.om", "metadata.prom"):
        assert (tmp_path / name).read_bytes() == (fixtures / name).read_bytes(), (
            f"tests/fixtures/{name} differs from generate.py's output: run it and commit both"
        )
    text = (fixtures / "incident.om").read_text()
    assert text.endswith("# EOF\n") and len(text) < 3_000_000


def test_fixture_figures_by_hand(prometheus):
    """The figures tests/fixtures/README.md promises, straight from Prometheus."""
    at = lambda expr, t: {  # noqa: E731
        tuple(sorted(s["metric"].items())): round(s["value"], 9) for s in prometheus.query(expr, t)
    }
    assert at(CHECKOUT_5XX, "2026-11-20T11:00:00Z") == {(): 12.0}
    for t in ("2026-11-20T10:15:00Z", "2026-11-20T11:30:00Z", "2026-11-13T11:00:00Z"):
        assert at(CHECKOUT_5XX, t) == {(): 0.5}, t
    by_code = 'sum by (code) (rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
    assert at(by_code, "2026-11-20T11:00:00Z") == {(("code", "500"),): 10.0, (("code", "503"),): 2.0}
    assert at(CART_5XX, "2026-11-20T11:00:00Z") == {(): 0.2}
    cpu = "sum by (service) (rate(process_cpu_seconds_total[5m]))"
    assert at(cpu, "2026-11-20T11:00:00Z") == {(("service", "cart"),): 0.4, (("service", "checkout"),): 1.7}
    generation = 'kube_deployment_status_observed_generation{deployment="checkout"}'
    steps = [(t, next(iter(at(generation, t).values()))) for t in
             ("2026-11-20T10:27:45Z", "2026-11-20T10:28:00Z", "2026-11-20T11:12:45Z", "2026-11-20T11:13:00Z")]
    assert [v for _, v in steps] == [41, 42, 42, 43], steps


# --- source and window ------------------------------------------------------------------------


def test_source_and_window_confirm_in_one_line(kernel, prometheus):
    km, kc = kernel
    outputs = run_ok(kc, f"source prom prometheus {prometheus.url}")
    [shown] = bundles(outputs)
    text = shown["text/plain"].strip()
    assert "\n" not in text and "prom" in text and prometheus.url in text, text

    outputs = run_ok(kc, INCIDENT)
    [shown] = bundles(outputs)
    text = shown["text/plain"].strip()
    assert "\n" not in text, text
    assert "2026-11-20" in text and "10:00" in text and "12:00" in text, text


def test_declaring_a_source_does_not_contact_it(kernel):
    km, kc = kernel
    stub = StubServer(api_success)
    try:
        run_ok(kc, f"source quiet prometheus {stub.url}")
        time.sleep(0.3)
        assert stub.requests == [], f"declaring the source sent {stub.requests}"
    finally:
        stub.stop()


def test_query_without_a_source(kernel):
    km, kc = kernel
    err = run_error(kc, "query up")
    assert err["ename"] == "NoSource", err


# --- range queries ----------------------------------------------------------------------------


def test_plateau_values_by_hand(kernel, prometheus):
    """During the incident's plateau checkout answers 10 req/s of 500 and 2 req/s of 503."""
    km, kc = kernel
    connect(kc, prometheus, "window 2026-11-20T10:40:00Z .. 2026-11-20T11:10:00Z step 30s")
    chart, table = query_outputs(
        kc, 'errors = query sum by (code) (rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
    )
    t = SummaryTable(table["text/html"])
    assert len(t.rows) == 2, t.rows
    for code, rate in (("500", 10.0), ("503", 2.0)):
        row = t.row_for({"code": code})
        for stat in SummaryTable.STATS:
            assert_close(t.stat(row, stat), rate, f"{stat} of code {code}")
    assert "500" in table["text/plain"] and "503" in table["text/plain"], table["text/plain"]


@pytest.mark.parametrize("step", ["30s", "1s"])
def test_table_equals_prometheus(kernel, prometheus, step):
    """min, avg, max and last of every series equal what the API answers for the same query,
    window and step; at a 1 s step (7,201 points a series) the chart is downsampled, the table
    keeps exact figures, and the output stays small."""
    km, kc = kernel
    expr = 'sum by (service, code) (rate(http_requests_total{code=~"5.."}[5m]))'
    connect(kc, prometheus, f"{INCIDENT} step {step}")
    chart, table = query_outputs(kc, f"query {expr}")

    raw = prometheus.query_range(
        expr, "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z", int(step.rstrip("s"))
    )
    # (checkout, 500), (checkout, 503), (cart, 500)
    assert len(raw) == 3 and all(len(s["values"]) > 200 for s in raw)
    t = SummaryTable(table["text/html"])
    assert len(t.rows) == len(raw), f"{len(t.rows)} rows for {len(raw)} series"
    for series in raw:
        row = t.row_for(series["metric"])
        expected = summary([v for _, v in series["values"]])
        for stat, value in expected.items():
            assert_close(t.stat(row, stat), value, f"{stat} of {series['metric']}")

    size = len(json.dumps(chart)) + len(json.dumps(table))
    assert size < 1_000_000, f"the query's outputs take {size:,} bytes"


def test_bundle_is_valid(kernel, prometheus):
    """The chart validates against Vega-Lite 5 (the version JupyterLab draws), holds its data
    inline, and has a static SVG beside it for GitHub and nbviewer; every bundle has text/plain."""
    km, kc = kernel
    connect(kc, prometheus)
    chart, table = query_outputs(
        kc, "query sum by (service) (rate(process_cpu_seconds_total[5m])) baseline 7d"
    )
    spec = chart[VEGALITE]
    assert isinstance(spec, dict), type(spec)
    if "$schema" in spec:
        assert re.search(r"vega-lite/v5(\.\d+)*\.json$", spec["$schema"]), spec["$schema"]
    problems = sorted(vegalite_validator().iter_errors(spec), key=lambda e: e.path)
    assert not problems, "the spec is not valid Vega-Lite 5.6:\n" + "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in problems[:5]
    )
    values = inline_values(spec)
    assert values and sum(len(v) for v in values) > 100, "the chart holds no inline data"
    assert not urls_in_data(spec), f"the chart loads data from {urls_in_data(spec)}"

    assert "image/svg+xml" in chart, f"no static SVG beside the chart: {sorted(chart)}"
    svg = ET.fromstring(chart["image/svg+xml"])
    assert svg.tag in ("svg", "{http://www.w3.org/2000/svg}svg"), svg.tag
    drawn = [e for e in svg.iter() if e.tag.rsplit("}", 1)[-1] in ("path", "polyline", "line")]
    assert drawn, "the SVG draws no line"

    for bundle in (chart, table):
        assert bundle.get("text/plain", "").strip(), f"no text/plain in {sorted(bundle)}"


def test_baseline_shows_the_change_against_last_week(kernel, prometheus):
    """checkout's 5xx averaged 4.8/s over the window against 0.5/s a week earlier; cart's did
    not change. The change column shows avg against the baseline's avg, signed, in percent."""
    km, kc = kernel
    expr = 'sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))'
    connect(kc, prometheus, f"{INCIDENT} step 30s")
    chart, table = query_outputs(kc, f"query {expr} baseline 7d")

    now = prometheus.query_range(expr, "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z", 30)
    before = prometheus.query_range(expr, "2026-11-13T10:00:00Z", "2026-11-13T12:00:00Z", 30)
    before = {s["metric"]["service"]: summary([v for _, v in s["values"]])["avg"] for s in before}
    t = SummaryTable(table["text/html"])
    changes = {}
    for series in now:
        service = series["metric"]["service"]
        row = t.row_for(series["metric"])
        change = t.change(row)
        assert change, f"no signed percentage in the row of {service}: {row}"
        avg = summary([v for _, v in series["values"]])["avg"]
        assert_close(change, 100 * (avg / before[service] - 1), f"change of {service}")
        changes[service] = change[0]
    assert changes["checkout"] > 500, changes
    assert abs(changes["cart"]) < 1, changes

    spec = json.dumps(chart[VEGALITE])
    assert "strokeDash" in spec, "the baseline is not drawn dashed in the chart"
    assert "stroke-dasharray" in chart["image/svg+xml"], "the baseline is not dashed in the SVG"


def test_instant_query(kernel, prometheus):
    """An instant query answers at the window's end: 11:00, in the middle of the incident."""
    km, kc = kernel
    connect(kc, prometheus, "window 2026-11-20T10:00:00Z .. 2026-11-20T11:00:00Z")
    outputs = run_ok(
        kc, 'query instant sum by (code) (rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
    )
    [table] = [b for b in bundles(outputs) if "text/html" in b]
    [rows] = [t for t in Tables(table["text/html"]).tables if t]
    header = [c.lower() for c in rows[0]]
    value_column = [i for i, h in enumerate(header) if "value" in h]
    by_code = {}
    for row in rows[1:]:
        code = [c for c in ("500", "503") if any(re.search(rf"\b{c}\b", cell) for cell in row)]
        if value_column:
            numbers = [parse_number(row[value_column[0]])]
        else:  # the last cell that holds a number and is not the label
            numbers = [parse_number(c) for c in row if c not in ("500", "503")]
        numbers = [n for n in numbers if n]
        if code and numbers:
            by_code[code[0]] = numbers[-1]
    assert set(by_code) == {"500", "503"}, rows
    assert_close(by_code["500"], 10.0, "instant 500 rate")
    assert_close(by_code["503"], 2.0, "instant 503 rate")
    text = plain(outputs)
    assert "500" in text and "503" in text and "10" in text, text

    outputs = run_ok(kc, f"query instant scalar({CHECKOUT_5XX})")
    text = plain(outputs)
    assert re.search(r"(?<![\d.])12(\.0+)?(?![\d.])", text), text


def test_empty_result_says_no_data_with_a_hint(kernel, prometheus):
    km, kc = kernel
    connect(kc, prometheus)
    known = plain(run_ok(kc, 'query http_requests_total{service="payments"}'))
    unknown = plain(run_ok(kc, "query checkout_requests_totl"))
    for text in (known, unknown):
        assert "no data" in text.lower(), text
        assert "2026-11-20" in text and "10:00" in text and "12:00" in text, (
            f"the hint does not name the window: {text}"
        )
    assert "checkout_requests_totl" in unknown, unknown
    # The hint tells a known metric (wrong labels?) from an unknown one (a typo?).
    scrub = lambda t, name: t.replace(name, "NAME")  # noqa: E731
    assert scrub(known, "http_requests_total") != scrub(unknown, "checkout_requests_totl"), (
        f"the same hint for a known and an unknown metric:\n{known}\n{unknown}"
    )


def test_no_data_hint_tells_a_wrong_label_from_a_wrong_window(kernel, prometheus):
    """Two different mistakes, two different hints: `service="payments"` matches no series at
    any time (a wrong label value), while checkout's series exist but have no samples on the
    21st (a wrong window). Telling the first to widen the window would send the user astray."""
    km, kc = kernel
    connect(kc, prometheus)
    wrong_label = plain(run_ok(kc, 'query http_requests_total{service="payments"}'))
    run_ok(kc, "window 2026-11-21T10:00:00Z .. 2026-11-21T12:00:00Z")
    wrong_window = plain(run_ok(kc, 'query http_requests_total{service="checkout"}'))
    for text in (wrong_label, wrong_window):
        assert "no data" in text.lower(), text
    hint = lambda text: re.sub(r"http_requests_total\{[^}]*\}|\S*2026-11-2\d\S*", "", text)  # noqa: E731
    assert hint(wrong_label) != hint(wrong_window), (
        "the same hint for a label value no series has and for a window without samples:\n"
        f"{wrong_label}\n---\n{wrong_window}"
    )


def test_too_many_points_are_not_asked_for(kernel, prometheus):
    """Eight days at a 1 s step would be 691,201 points a series; Prometheus refuses more than
    11,000, so the kernel widens the step (to 63 s) instead of failing."""
    km, kc = kernel
    connect(kc, prometheus, "window 2026-11-13T00:00:00Z .. 2026-11-21T00:00:00Z step 1s")
    chart, table = query_outputs(kc, f"query {CART_5XX}")
    t = SummaryTable(table["text/html"])
    assert_close(t.stat(t.rows[0], "max"), 0.2, "cart 5xx max")


def test_default_and_widened_steps(kernel):
    """What the kernel asks a source for: the default step gives 500 to 1,000 points over the
    window, a requested step is kept, and no request asks for more than 11,000 points."""
    km, kc = kernel
    stub = StubServer(api_success)
    try:
        run_ok(kc, f"source stub prometheus {stub.url}")
        cases = [
            ("window last 1h", None),
            ("window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z", None),
            ("window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z step 30s", 30),
            ("window 2026-11-13T00:00:00Z .. 2026-11-21T00:00:00Z step 1s", 63),
        ]
        for window, step in cases:
            before = len(stub.api_requests("query_range"))
            run_ok(kc, f"{window}\nquery up")
            [request] = stub.api_requests("query_range")[before:]
            start, end = float(request.param("start")), float(request.param("end"))
            asked = float(request.param("step"))
            points = math.floor((end - start) / asked) + 1
            if step is None:
                assert 500 <= points <= 1001, f"{window}: step {asked} s gives {points} points"
            else:
                assert asked == step, f"{window}: asked for step {asked} s"
            assert points <= 11_000, f"{window}: {points} points"
    finally:
        stub.stop()


def test_headers_and_secrets_reach_the_source_and_nothing_else(tmp_path):
    """`header`, `token env:` and `basic env: env:` are sent; the secrets appear in no output."""
    stub = StubServer(api_success)
    env = {**os.environ, "PROM_TOKEN": "tok-s3cret", "PROM_USER": "alice-ops", "PROM_PASS": "pa55-s3cret"}
    try:
        with started_kernel(env=env, cwd=tmp_path) as (km, kc):
            outputs = run_ok(
                kc,
                f"source a prometheus {stub.url} header X-Scope-OrgID=tenant-1 token env:PROM_TOKEN\n"
                f"source b prometheus {stub.url} basic env:PROM_USER env:PROM_PASS\n"
                "window last 1h\n"
                "query up\n"
                "query @b up",
            )
        first, second = stub.api_requests("query_range")
        assert first.headers.get("x-scope-orgid") == "tenant-1", first.headers
        assert first.headers.get("authorization") == "Bearer tok-s3cret", first.headers
        assert second.headers.get("authorization") == "Basic YWxpY2Utb3BzOnBhNTUtczNjcmV0", second.headers
        shown = json.dumps([m["content"] for m in outputs])
        assert "s3cret" not in shown, "a secret appears in the outputs"
        journals = list(tmp_path.rglob("*.jsonl")) + list(tmp_path.rglob("journal*"))
        for path in journals:
            if path.is_file():
                assert "s3cret" not in path.read_text(errors="replace"), f"a secret is in {path}"
    finally:
        stub.stop()


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement, token, message",
    [
        ("query sum(rate(http_requests_total[5m])) bye (service)", "bye", 'unexpected identifier "bye"'),
        (
            'errs = query @prom sum(rate(http_requests_total{code=~"5.."[5m]))',
            "[5m]))",
            "unexpected character inside braces",
        ),
        (
            'check "5xx low": sum(rate(http_requests_total[5m])) bye (service)',
            "bye",
            'unexpected identifier "bye"',
        ),
    ],
    ids=["query", "bound-query-at-source", "check"],
)
def test_promql_syntax_error_points_at_the_position(kernel, prometheus, statement, token, message):
    km, kc = kernel
    connect(kc, prometheus)
    err = run_error(kc, f"{INCIDENT}\n{statement}")
    assert err["ename"] == "PromQLError", err
    assert message in err["evalue"], err["evalue"]
    assert re.search(r"line 2\b|\b2:\d+", err["evalue"] + "\n".join(err["traceback"])), err
    caret_under(err, statement, token)


# --- checks and findings ----------------------------------------------------------------------


def test_checks_pass_and_fail_and_join_the_findings(kernel, prometheus):
    km, kc = kernel
    connect(kc, prometheus)
    failing = "checkout 5xx rate below 1/s"
    passing = "cart 5xx rate below 1/s"

    outputs = run_ok(kc, f'check "{failing}": sum by (service) (rate(http_requests_total{{code=~"5.."}}[5m])) > 1')
    [shown] = bundles(outputs)
    text = shown["text/plain"]
    assert text.startswith("✗ FAIL") and failing in text.splitlines()[0], text
    assert "checkout" in text.replace(failing, ""), f"the check does not say which series fired:\n{text}"
    assert "cart" not in text.replace(failing, ""), f"cart did not fire:\n{text}"
    assert re.search(r"10:3[01]", text), f"the check does not say when it started firing:\n{text}"
    assert re.search(r"11:(19|2[01])", text), f"the check does not say when it stopped firing:\n{text}"

    outputs = run_ok(kc, f'check "{passing}": {CART_5XX} > 1')
    [shown] = bundles(outputs)
    assert shown["text/plain"].startswith("✓ PASS") and passing in shown["text/plain"], shown

    run_ok(kc, 'finding high "checkout fails one request in eight"')
    [listing] = bundles(run_ok(kc, "findings"))
    lines = listing["text/plain"].splitlines()
    [fail_line] = [line for line in lines if failing in line]
    [pass_line] = [line for line in lines if passing in line]
    assert "FAIL" in fail_line or "✗" in fail_line, listing["text/plain"]
    assert "PASS" in pass_line or "✓" in pass_line, listing["text/plain"]
    assert any("one request in eight" in line for line in lines), listing["text/plain"]
    html = listing["text/html"]
    assert failing in html and passing in html and "one request in eight" in html, html


def test_a_check_over_the_normal_week_passes(kernel, prometheus):
    km, kc = kernel
    connect(kc, prometheus, "window 2026-11-13T10:00:00Z .. 2026-11-13T12:00:00Z")
    [shown] = bundles(run_ok(kc, f'check "checkout 5xx rate below 1/s": {CHECKOUT_5XX} > 1'))
    assert shown["text/plain"].startswith("✓ PASS"), shown


# --- completion and inspect -------------------------------------------------------------------


def bare(match: str) -> str:
    """A completion without the punctuation a frontend may insert with it (`="`, quotes)."""
    return match.strip().strip('"').rstrip('=~!"').strip('"')


@pytest.fixture
def connected(kernel, prometheus):
    km, kc = kernel
    connect(kc, prometheus)
    return kc


def test_complete_metric_names(connected):
    kc = connected
    reply = complete(kc, "query ")
    names = set(reply["matches"])
    assert {"http_requests_total", "process_cpu_seconds_total", "deploy_info",
            "kube_deployment_status_observed_generation"} <= names, names
    assert reply["cursor_start"] == reply["cursor_end"] == len("query ")

    code = "errors = query sum(rate(http_req"
    reply = complete(kc, code)
    assert "http_requests_total" in reply["matches"], reply["matches"]
    assert all(m.startswith("http_req") for m in reply["matches"]), reply["matches"]
    assert reply["cursor_start"] == len(code) - len("http_req") and reply["cursor_end"] == len(code)


def test_complete_label_names(connected):
    kc = connected
    reply = complete(kc, "query sum(rate(http_requests_total{")
    names = {bare(m) for m in reply["matches"]}
    assert {"service", "code", "instance"} <= names, reply["matches"]

    code = 'query http_requests_total{code=~"5..", ser'
    reply = complete(kc, code)
    assert {bare(m) for m in reply["matches"]} == {"service"}, reply["matches"]
    assert reply["cursor_start"] == len(code) - len("ser")


@pytest.mark.parametrize(
    "code, expected",
    [
        ('query http_requests_total{code="', {"200", "500", "503"}),
        ('query rate(http_requests_total{service=~"', {"checkout", "cart"}),
        ('query http_requests_total{code="5', {"500", "503"}),
    ],
)
def test_complete_label_values(connected, code, expected):
    reply = complete(connected, code)
    values = {bare(m) for m in reply["matches"]}
    assert expected <= values, reply["matches"]
    if code.endswith("5"):
        assert "200" not in values, reply["matches"]


def test_inspect_a_metric_shows_help_and_type(connected):
    kc = connected
    code = 'errors = query sum(rate(http_requests_total{code=~"5.."}[5m]))'
    msg_id = kc.inspect(code, code.index("requests"))
    reply = get_reply(kc, msg_id, timeout=15)["content"]
    assert reply["status"] == "ok" and reply["found"], reply
    text = reply["data"]["text/plain"]
    assert "HTTP requests answered, by service, status code and instance." in text, text
    assert "counter" in text.lower(), text


# --- the incident notebook end to end ---------------------------------------------------------


def check_incident_notebook(nb) -> None:
    code_cells = assert_cells_ran(nb)
    outputs = [o for c in code_cells for o in c.outputs if "data" in o]
    charts = [o for o in outputs if VEGALITE in o.data]
    queries = sum(len(re.findall(r"(?m)^\w+ = query ", c.source)) for c in code_cells)
    assert queries >= 6 and len(charts) == queries, f"{len(charts)} charts for {queries} queries"
    assert all("image/svg+xml" in o.data for o in charts)
    texts = [o.data.get("text/plain", "") for o in outputs]
    assert any(t.startswith("✗ FAIL") and "checkout 5xx rate below 1/s" in t for t in texts), texts
    assert any(t.startswith("✓ PASS") and "cart 5xx rate below 1/s" in t for t in texts), texts
    # The finding cards, as rendered: markdown without its backslash escapes.
    cards = [re.sub(r"\\(.)", r"\1", o.data["text/markdown"]) for o in outputs if "text/markdown" in o.data]
    assert len(cards) == 3 and any("v2.15.0 was deployed" in card for card in cards), cards


def test_incident_notebook_with_nbclient(prometheus, tmp_path):
    from nbclient import NotebookClient

    nb = incident_notebook(prometheus.url)
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    check_incident_notebook(nb)


def test_incident_notebook_headless_exits_1_on_the_failed_check(prometheus, tmp_path):
    out = tmp_path / "incident-5xx.out.ipynb"
    proc = playbook_run(
        str(REPO / "notebooks" / "incident-5xx.ipynb"), "-p", f"prometheus={prometheus.url}",
        "-o", str(out), cwd=tmp_path,
    )
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stderr}"
    assert "checkout 5xx rate below 1/s" in proc.stderr + proc.stdout
    executed = nbformat.read(out, as_version=4)
    nbformat.validate(executed)
    check_incident_notebook(executed)


@pytest.mark.parametrize(
    "window, last_cell, exit_code",
    [
        ("window 2026-11-13T10:00:00Z .. 2026-11-13T12:00:00Z", "findings", 0),
        (INCIDENT, "findings", 1),
        (INCIDENT, "query sum(rate(http_requests_total[5m])) bye (service)", 2),
    ],
    ids=["all-checks-pass", "a-check-fails", "a-check-fails-then-an-error"],
)
def test_run_exit_codes(prometheus, tmp_path, window, last_cell, exit_code):
    path = notebook(
        tmp_path,
        f"source prom prometheus {prometheus.url}\n{window}",
        f'check "checkout 5xx rate below 1/s": {CHECKOUT_5XX} > 1',
        last_cell,
    )
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == exit_code, f"exit {proc.returncode}\n{proc.stderr}"
