"""The `slo` statement and `check "T": slo NAME`, over tests/fixtures/slo.om: a service whose
budget burn is known in closed form (tests/fixtures/slo.py says how), evaluated by the embedded
engine and by a real Prometheus 2.42, and compared with each other and with the closed form."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from datetime import datetime, timezone

import nbformat
import pytest

from kernel_client import REPO, notebook, playbook_run

FIXTURE = REPO / "tests" / "fixtures" / "slo.om"
spec = importlib.util.spec_from_file_location("slo_fixture", REPO / "tests" / "fixtures" / "slo.py")
slo_fixture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slo_fixture)

WINDOWS = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200}
# The workbook's conditions: (long, short, factor, severity).
RULES = [("1h", "5m", 14.4, "page"), ("6h", "30m", 6, "page"), ("1d", "2h", 3, "ticket"), ("3d", "6h", 1, "ticket")]
INCIDENT_WINDOW = "window 2026-11-20T09:00:00Z .. 2026-11-20T12:00:00Z step 1m"
GOOD = 'slo_requests_total{code="200"}'
DECLARE = f"slo checkout objective 99.9% good {GOOD} total slo_requests_total period 7d"


def unix(text: str) -> int:
    return slo_fixture.unix(text)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def four_digits(v: float) -> str:
    """As the summary shows a figure: four significant digits."""
    if v == 0:
        return "0"
    rounded = round(v, 3 - math.floor(math.log10(abs(v))))
    return f"{rounded:g}" if rounded != int(rounded) else str(int(rounded))


def run(tmp_path, *cells, args=(), name="slo.ipynb", tags=None, env=None):
    path = notebook(tmp_path, *cells, name=name, tags=tags)
    out = tmp_path / f"{name}.out.ipynb"
    proc = playbook_run(str(path), "-o", str(out), *args, cwd=tmp_path, timeout=120, env=env)
    executed = nbformat.read(out, as_version=4) if out.exists() else None
    return proc, executed


def texts(executed) -> list[str]:
    return [
        o["data"]["text/plain"]
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/plain" in o.get("data", {})
    ]


def summaries(executed) -> list[str]:
    return [t for t in texts(executed) if t.startswith("SLO ")]


def burns_shown(summary: str) -> dict[str, str]:
    line = next(l for l in summary.splitlines() if l.startswith("burn rate: "))
    return dict(part.split(" ", 1) for part in line.removeprefix("burn rate: ").split(" · "))


def first_fired(long: str, short: str, factor: float, start: int, end: int) -> int | None:
    """The first minute of [start, end] at which both windows burn faster than `factor`, in
    closed form."""
    for t in range(start, end + 1, 60):
        a, b = slo_fixture.burn(t, WINDOWS[long]), slo_fixture.burn(t, WINDOWS[short])
        if a is not None and b is not None and a > factor and b > factor:
            return t
    return None


def test_the_committed_fixture_is_what_its_generator_writes(tmp_path):
    assert slo_fixture.write(tmp_path).read_bytes() == FIXTURE.read_bytes()


def assert_closed_form(summary: str, end: int, start: int) -> None:
    shown = burns_shown(summary)
    for window, seconds in WINDOWS.items():
        expected = slo_fixture.burn(end, seconds)
        expected = "no traffic" if expected is None else four_digits(expected)
        assert shown[window] == expected, (window, summary)
    left = 1 - slo_fixture.burn(end, 7 * 86400)
    assert f"error budget left: {four_digits(left * 100)}%" in summary, summary
    for long, short, factor, severity in RULES:
        first = first_fired(long, short, factor, start, end)
        where = f"first at {rfc3339(first)}" if first else "did not fire"
        assert f"{severity}: {long} and {short} above {factor:g}: fires now: no; in the window: {where}" in summary, summary


def test_the_embedded_engine_gives_the_closed_form_figures_and_the_check_fails_on_the_page(tmp_path):
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\n{INCIDENT_WINDOW}",
        DECLARE,
        'gate = check "checkout does not page": slo checkout',
    )
    assert proc.returncode == 1, proc.stderr
    summary = summaries(executed)[0]
    start, end = unix("2026-11-20T09:00:00Z"), unix("2026-11-20T12:00:00Z")
    assert_closed_form(summary, end, start)
    # The page condition that fires is the 1h and 5m one, first where 44 of the last 60
    # minutes failed 2%: 20 * 44/60 = 14.67 > 14.4 > 20 * 43/60.
    first = first_fired("1h", "5m", 14.4, start, end)
    assert rfc3339(first) == "2026-11-20T10:44:00Z"
    verdict = [t for t in texts(executed) if "checkout does not page" in t][-1]
    assert verdict.startswith("✗ FAIL"), verdict
    assert f"page: 1h and 5m above 14.4 fired in the window, first at {rfc3339(first)}" in verdict
    # The budget: 7d * 0.1% = 604.8 s, of which 1440 failed requests of 6,048,000 spent 23.81%.
    assert "(7m41s of 10m5s)" in summary
    assert "at the last hour's burn it does not run out" in summary


def test_the_latency_form_counts_the_bucket_at_the_bound_as_good(tmp_path):
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\n{INCIDENT_WINDOW}",
        DECLARE,
        "slo fast objective 99.9% latency slo_request_duration_seconds le 0.3 period 7d",
    )
    assert proc.returncode == 0, proc.stderr
    counters, latency = summaries(executed)
    assert burns_shown(latency) == burns_shown(counters)
    assert 'sum(rate(slo_request_duration_seconds_bucket{le="0.3"}[W])) / sum(rate(slo_request_duration_seconds_count[W]))' in latency


def test_a_window_reaching_before_the_data_is_said_to_be_too_short_and_the_gate_does_not_pass(tmp_path):
    # The data starts 2026-11-12 12:00: over 14:00-15:00 the 6h window reaches back to 08:00.
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\nwindow 2026-11-12T14:00:00Z .. 2026-11-12T15:00:00Z",
        "slo checkout objective 99.9% good " + GOOD + " total slo_requests_total",
        'check "checkout does not page": slo checkout',
    )
    assert proc.returncode == 1, proc.stderr
    summary = summaries(executed)[0]
    shown = burns_shown(summary)
    assert shown["1h"] == "0" and shown["2h"] == "0"
    for window in ("6h", "1d", "3d"):
        assert shown[window].startswith("not enough history (no data at "), shown
    assert "error budget over 30d: not enough history (no data at 2026-10-13T15:00:00Z)" in summary
    assert "page: 6h and 30m above 6: fires now: unknown; in the window: not enough history" in summary
    assert_failed_closed(executed, "checkout does not page")


def assert_failed_closed(executed, title: str) -> None:
    """The check titled `title` failed because the SLO could not be judged, not because it passed."""
    verdict = [t for t in texts(executed) if title in t][-1]
    assert verdict.startswith("✗ FAIL") and "cannot be told" in verdict, verdict


def test_a_misspelt_metric_is_named_rather_than_taken_for_missing_history(tmp_path):
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\n{INCIDENT_WINDOW}",
        'slo t objective 99.9% good slo_request_total{code="200"} total slo_request_total',
        'check "no page": slo t',
    )
    assert proc.returncode == 1, proc.stderr
    hints = [t for t in texts(executed) if t.startswith("no traffic in the window")]
    assert hints and "the source knows no metric named slo_request_total" in hints[0], texts(executed)
    assert_failed_closed(executed, "no page")


def test_a_quiet_window_passes_the_gate(tmp_path):
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\nwindow 2026-11-20T05:00:00Z .. 2026-11-20T08:00:00Z step 1m",
        DECLARE,
        'check "checkout does not page": slo checkout',
        'finding info "checkout is inside its budget" evidence checkout',
    )
    assert proc.returncode == 0, proc.stderr
    verdict = [t for t in texts(executed) if "checkout does not page" in t][-1]
    assert verdict.startswith("✓ PASS") and "no page condition fired" in verdict, verdict
    summary = summaries(executed)[0]
    assert_closed_form(summary, unix("2026-11-20T08:00:00Z"), unix("2026-11-20T05:00:00Z"))
    assert any("evidence: checkout" in t for t in texts(executed)), texts(executed)


@pytest.mark.parametrize(
    "cell, kind, where",
    [
        (f"slo x objective 99.9% good rate({GOOD}[5m]) total slo_requests_total", "PromQLError", "line 1, column 28"),
        ("slo x objective 99.9% good a total", "ParseError", "line 1"),
        ("slo x objective 101% good a total b", "ParseError", "line 1, column 17"),
        ('check "t": slo nothing', "UnknownName", "line 1, column 16"),
        ('slo x objective 99% latency h{le="0.5"} le 0.3', "PromQLError", "line 1, column 29"),
        ('slo x objective 99% latency h{a="1" or b="2"} le 0.3', "PromQLError", "line 1, column 29"),
    ],
)
def test_a_wrong_declaration_is_an_error_that_says_where(tmp_path, cell, kind, where):
    proc, executed = run(tmp_path, f"source s file {FIXTURE}\n{INCIDENT_WINDOW}", cell)
    assert proc.returncode == 2, proc.stderr
    error = [o for o in executed.cells[1].outputs if o["output_type"] == "error"][0]
    assert error["ename"] == kind, error
    assert where in proc.stderr, proc.stderr


def test_an_unreachable_source_is_an_error_on_the_statement_and_loses_nothing(tmp_path):
    journal = tmp_path / "j.jsonl"
    proc, executed = run(
        tmp_path,
        f"source s prometheus http://127.0.0.1:1\n{INCIDENT_WINDOW}",
        "run echo before",
        DECLARE,
        args=("--journal", str(journal)),
    )
    assert proc.returncode == 2, proc.stderr
    error = [o for o in executed.cells[2].outputs if o["output_type"] == "error"][0]
    assert error["ename"] == "SourceUnreachable", error
    assert "line 1, column" in proc.stderr, proc.stderr
    steps = [json.loads(line)["step"] for line in journal.read_text().splitlines()]
    assert "run" in steps and steps[-1] == "end", steps


def test_an_slo_replays_from_its_journal_with_the_same_outputs_without_its_data(tmp_path):
    data = tmp_path / "copy.om"
    data.write_bytes(FIXTURE.read_bytes())
    cells = (f"source s file {data}\n{INCIDENT_WINDOW}", DECLARE, 'check "no page": slo checkout')
    journal = tmp_path / "j.jsonl"
    proc, live = run(tmp_path, *cells, args=("--journal", str(journal)), name="live.ipynb")
    assert proc.returncode == 1, proc.stderr
    steps = [json.loads(line) for line in journal.read_text().splitlines()]
    burn_queries = [s for s in steps if s["step"] == "query" and "(1 - 0.999)" in s["input"]["expr"]]
    assert len(burn_queries) == 2 * (7 + 1), "every burn rate and the budget, for the slo and the check"
    data.unlink()
    proc, replayed = run(tmp_path, *cells, args=("--replay", str(journal)), name="replayed.ipynb")
    assert proc.returncode == 1, proc.stderr
    assert texts(replayed) == texts(live)


def test_a_secret_in_an_slo_selector_reaches_no_output_and_no_journal(tmp_path):
    secret = "tenant7f3a9c51"
    journal = tmp_path / "j.jsonl"
    proc, executed = run(
        tmp_path,
        f"source s file {FIXTURE}\n{INCIDENT_WINDOW}\nsecret tenant from env:SLO_TENANT",
        'slo t objective 99.9% good slo_requests_total{code="200",tenant!="{{tenant}}"} total slo_requests_total{tenant!="{{tenant}}"} period 7d',
        'check "no page": slo t',
        "t",
        args=("--journal", str(journal)),
        env=dict(os.environ, SLO_TENANT=secret),
    )
    assert proc.returncode == 1, proc.stderr
    # The selectors matched what they should (tenant!= matches every series).
    assert_closed_form(summaries(executed)[0], unix("2026-11-20T12:00:00Z"), unix("2026-11-20T09:00:00Z"))
    assert "••••••" in summaries(executed)[0]
    for where, text in [
        ("the notebook", (tmp_path / "slo.ipynb.out.ipynb").read_text()),
        ("the journal", journal.read_text()),
        ("stdout", proc.stdout),
        ("stderr", proc.stderr),
    ]:
        assert secret not in text, where


def test_a_parameter_cannot_turn_a_selector_into_another_query(tmp_path):
    """The value stays the label's value: every query the SLO asks selects that odd code."""
    journal = tmp_path / "j.jsonl"
    injected = 'code=200"} or vector(1) or slo_requests_total{code="x'
    proc, executed = run(
        tmp_path,
        'param code = "200"',
        f"source s file {FIXTURE}\n{INCIDENT_WINDOW}",
        'slo t objective 99.9% good slo_requests_total{code="{{code}}"} total slo_requests_total',
        tags={0: ["parameters"]},
        args=("--journal", str(journal), "-p", injected),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [json.loads(line) for line in journal.read_text().splitlines()]
    good = [s["input"]["expr"] for s in steps if s["step"] == "query" and "code=" in s["input"]["expr"]]
    assert good, "the SLO asked for its good requests"
    literal = 'slo_requests_total{code="200\\"} or vector(1) or slo_requests_total{code=\\"x"}'
    assert all(literal in expr for expr in good), good
    assert all("or vector(1)" not in expr.replace(literal, "") for expr in good), good


# --- against a real Prometheus ------------------------------------------------------------------


@pytest.fixture(scope="module")
def slo_prometheus(tmp_path_factory):
    from prometheus import PrometheusServer, build_blocks

    blocks = build_blocks(tmp_path_factory.mktemp("slo-blocks") / "blocks", FIXTURE)
    server = PrometheusServer(blocks, tmp_path_factory.mktemp("slo-prometheus"))
    yield server
    server.stop()


def test_prometheus_evaluates_every_expression_as_the_embedded_engine_does(tmp_path, slo_prometheus):
    cells = lambda source: (f"{source}\n{INCIDENT_WINDOW}", DECLARE, 'check "no page": slo checkout')
    journal = tmp_path / "embedded.jsonl"
    proc, embedded = run(tmp_path, *cells(f"source s file {FIXTURE}"), args=("--journal", str(journal)), name="e.ipynb")
    assert proc.returncode == 1, proc.stderr
    proc, served = run(tmp_path, *cells(f"source s prometheus {slo_prometheus.url}"), name="p.ipynb")
    assert proc.returncode == 1, proc.stderr
    # What a reader sees is the same, figure for figure.
    assert summaries(served) == summaries(embedded)
    assert_closed_form(summaries(served)[0], unix("2026-11-20T12:00:00Z"), unix("2026-11-20T09:00:00Z"))

    # Every query the embedded engine answered, asked of Prometheus: the same numbers.
    steps = [json.loads(line) for line in journal.read_text().splitlines()]
    queries = [s for s in steps if s["step"] == "query"]
    assert len(queries) > 30
    for q in queries:
        expr = q["input"]["expr"]
        if q["input"]["instant"]:
            data = slo_prometheus.api("query", query=expr, time=q["input"]["time"])
            theirs = [float(s["value"][1]) for s in data["result"]]
            ours = [float(s["value"][1]) for s in q["result"]["result"]]
        else:
            data = slo_prometheus.api(
                "query_range", query=expr, start=q["input"]["start"], end=q["input"]["end"], step=q["input"]["step"]
            )
            theirs = [(float(t), float(v)) for s in data["result"] for t, v in s["values"]]
            ours = [(float(t), float(v)) for s in q["result"]["result"] for t, v in s["values"]]
        assert len(theirs) == len(ours), expr
        for a, b in zip(theirs, ours):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), expr

    # And Prometheus's own burn rate either side of the page, against the closed form.
    for at in ("2026-11-20T10:43:00Z", "2026-11-20T10:44:00Z", "2026-11-20T11:01:00Z", "2026-11-20T11:02:00Z"):
        for window in ("5m", "1h"):
            expr = f"(1 - sum(rate({GOOD}[{window}])) / sum(rate(slo_requests_total[{window}]))) / (1 - 0.999)"
            value = slo_prometheus.query(expr, at)[0]["value"]
            assert value == pytest.approx(slo_fixture.burn(unix(at), WINDOWS[window]), rel=1e-9), (at, window)


def test_the_slo_gate_playbook_runs_its_gate_cells_only(tmp_path):
    out = tmp_path / "gate.ipynb"
    proc = playbook_run(str(REPO / "notebooks" / "slo-gate.ipynb"), "-o", str(out), "--tags", "gate", cwd=REPO / "notebooks")
    assert proc.returncode == 1, proc.stderr
    executed = nbformat.read(out, as_version=4)
    skipped = [c for c in executed.cells if c.cell_type == "code" and c.metadata.get("playbook", {}).get("skipped")]
    ran = [c for c in executed.cells if c.cell_type == "code" and c.execution_count]
    assert skipped and ran
    assert all("gate" in c.metadata.get("tags", []) or "parameters" in c.metadata.get("tags", []) for c in ran)
    verdict = [t for t in texts(executed) if t.startswith("✗ FAIL")]
    assert verdict and "first at 2026-11-20T10:44:00Z" in verdict[0], texts(executed)
    assert re.search(r"\d+ skipped", proc.stderr), proc.stderr
