"""The embedded PromQL engine against the real thing.

Every query of tests/promql_corpus.txt runs as a range query over the corpus window twice: through
the kernel's embedded source (`source f file tests/fixtures/incident.om`, in a notebook run by
`playbook run --journal J`, whose `query` lines hold the exact results), and through a real
Prometheus 2.42 loaded with the same file. Series, timestamps and values must agree (values
within 1e-9 relative). `unsupported:` lines must be refused with UnsupportedInEmbeddedEngine;
`error:` lines must fail on both sides; `exception:` lines are documented differences.
"""

from __future__ import annotations

import json
import math
import urllib.error
from pathlib import Path

import nbformat
import pytest

from kernel_client import REPO, get_reply, notebook, playbook_run, run_ok

CORPUS = REPO / "tests" / "promql_corpus.txt"
FIXTURE = REPO / "tests" / "fixtures" / "incident.om"
START, END, STEP = "2026-11-20T10:20:00Z", "2026-11-20T11:30:00Z", 30
RELATIVE = 1e-9


def corpus() -> list[tuple[str, str]]:
    """(kind, expr) for each query line; kind is compare, unsupported, error or exception."""
    entries = []
    for line in CORPUS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, expr = "compare", line
        for prefix in ("unsupported", "error", "exception"):
            if line.startswith(prefix + ":"):
                kind, expr = prefix, line[len(prefix) + 1 :].split(" -- ")[0].strip()
        entries.append((kind, expr))
    return entries


def run_embedded(tmp_path: Path, exprs: list[str], name: str) -> tuple[list[dict], list[str]]:
    """The journal `result` of each query, in order, from one `playbook run`, and the names of
    the errors the executed notebook shows."""
    journal = tmp_path / f"{name}.jsonl"
    executed = tmp_path / f"{name}.out.ipynb"
    cells = [f"source f file {FIXTURE}\nwindow {START} .. {END} step {STEP}s"]
    cells += [f"query {expr}" for expr in exprs]
    path = notebook(tmp_path, *cells, name=f"{name}.ipynb")
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(executed), cwd=REPO)
    assert journal.exists(), proc.stderr
    lines = [json.loads(l) for l in journal.read_text().splitlines() if l.strip()]
    results = [l for l in lines if l["step"] == "query"]
    for line, expr in zip(results, exprs):
        assert line["input"]["expr"] == expr, (line["input"], expr)
    shown = nbformat.read(executed, as_version=4)
    enames = [o.ename for c in shown.cells for o in c.get("outputs", []) if o.output_type == "error"]
    return [l["result"] for l in results], enames


def as_series(result: list[dict]) -> dict[frozenset, list[tuple[float, float]]]:
    return {
        frozenset(s["metric"].items()): [(float(t), float(v)) for t, v in s["values"]] for s in result
    }


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= RELATIVE * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def differences(expr: str, embedded: list[dict], reference: list[dict]) -> list[str]:
    mine, theirs = as_series(embedded), as_series(reference)
    problems = []
    for key in theirs.keys() - mine.keys():
        problems.append(f"{expr}: missing series {dict(key)}")
    for key in mine.keys() - theirs.keys():
        problems.append(f"{expr}: extra series {dict(key)}")
    for key in mine.keys() & theirs.keys():
        a, b = mine[key], theirs[key]
        if [t for t, _ in a] != [t for t, _ in b]:
            only_a = sorted({t for t, _ in a} - {t for t, _ in b})[:3]
            only_b = sorted({t for t, _ in b} - {t for t, _ in a})[:3]
            problems.append(f"{expr}: {dict(key)} times differ: only embedded {only_a}, only Prometheus {only_b}")
            continue
        for (t, x), (_, y) in zip(a, b):
            if not same(x, y):
                problems.append(f"{expr}: {dict(key)} at {t}: embedded {x!r}, Prometheus {y!r}")
                break
    return problems


def reference_range(prometheus, expr: str) -> list[dict] | Exception:
    try:
        return prometheus.query_range(expr, START, END, STEP)
    except (urllib.error.HTTPError, RuntimeError, AssertionError) as e:
        return e


def test_corpus_agrees_with_prometheus(prometheus, tmp_path):
    entries = corpus()
    assert sum(kind == "compare" for kind, _ in entries) >= 60
    compared = [expr for kind, expr in entries if kind == "compare"]
    results, _ = run_embedded(tmp_path, compared, "corpus")
    assert len(results) == len(compared), f"{len(results)} of {len(compared)} queries ran"
    problems, agreed = [], 0
    for expr, result in zip(compared, results):
        reference = reference_range(prometheus, expr)
        if isinstance(reference, Exception):
            problems.append(f"{expr}: Prometheus failed: {reference}")
            continue
        if "error" in result:
            problems.append(f"{expr}: embedded failed: {result['error']}")
            continue
        found = differences(expr, result["result"], reference)
        problems += found
        agreed += not found
    print(f"{agreed} of {len(compared)} corpus queries agree with Prometheus")
    assert not problems, "\n".join(problems)


def test_refusals_and_errors(prometheus, tmp_path):
    for i, (kind, expr) in enumerate(corpus()):
        if kind not in ("unsupported", "error"):
            continue
        results, enames = run_embedded(tmp_path, [expr], f"e{i}")
        result = (results or [{}])[0]
        assert "error" in result, (expr, result)
        if kind == "unsupported":
            assert enames == ["UnsupportedInEmbeddedEngine"], (expr, enames, result)
            assert result["error"]["kind"] == "unsupported", (expr, result)
        else:
            assert isinstance(reference_range(prometheus, expr), Exception), expr


def test_completion_and_inspect_on_a_file_source(kernel):
    """Tab and Shift+Tab know the file's metrics, labels, values and HELP/TYPE, as with a server."""
    _, kc = kernel
    run_ok(kc, f"source f file {FIXTURE}")

    def matches(code: str) -> list[str]:
        reply = get_reply(kc, kc.complete(code, len(code)), timeout=10)
        return reply["content"]["matches"]

    assert "http_requests_total" in matches("query http_req")
    assert "service" in matches("query http_requests_total{serv")
    assert matches('query http_requests_total{service="ca') == ["cart"]
    reply = get_reply(kc, kc.inspect("query http_requests_total", 10), timeout=10)["content"]
    assert reply["found"], reply
    text = reply["data"]["text/plain"]
    assert "counter" in text and "HTTP requests answered" in text, text

