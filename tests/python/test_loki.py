"""The loki source against a local HTTP server that answers as Loki's HTTP API documents
(`/loki/api/v1/query_range` with streams or a matrix, `/loki/api/v1/query` with a vector, errors
as plain text, partial responses as `warnings` beside the data). A Loki server cannot be installed on these machines (no registry here carries
it), so this is a stand-in: what it checks is what the kernel sends and how it shows what comes
back, not LogQL evaluation, which the embedded engine's tests and the VictoriaLogs comparison
cover.
"""

from __future__ import annotations

import os

import pytest

from http_stub import StubReply, StubServer
from kernel_client import bundles, caret_under, complete, plain, run_error, run_ok

WINDOW = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"
START_NS, END_NS = 1_795_168_800 * 10**9, 1_795_176_000 * 10**9

# Two streams, each newest first, as Loki answers direction=backward.
STREAMS = [
    {"stream": {"service": "checkout", "instance": "checkout-a:8080"},
     "values": [[str(START_NS + 3000 * 10**9), "payment failed: upstream payments-api:443"],
                [str(START_NS + 1000 * 10**9), "payment failed: upstream payments-api:443"]]},
    {"stream": {"service": "checkout", "instance": "checkout-b:8080"},
     "values": [[str(START_NS + 2000 * 10**9), "payment failed: upstream payments-api:443"]]},
]


PARTIAL = "query timed out on 1 of 3 queriers: the result may be incomplete"


def loki(request):
    query = request.param("query") or ""
    if "bad(" in query:
        return StubReply(400, "parse error at line 1, col 14: syntax error: unexpected IDENTIFIER", "text/plain")
    if "busy" in query:
        return StubReply(429, "too many outstanding requests", "text/plain")
    if "broken" in query:
        return StubReply(500, "internal server error", "text/plain")
    if request.path == "/loki/api/v1/labels":
        return StubReply(body={"status": "success", "data": ["instance", "service"]})
    if request.path == "/loki/api/v1/label/service/values":
        return StubReply(body={"status": "success", "data": ["cart", "checkout"]})
    if request.path == "/loki/api/v1/query":
        # The count of every match: sum(count_over_time(QUERY [7200s])).
        return StubReply(body={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [int(request.param("time")) / 1e9, "42"]}]}})
    if query.startswith("sum"):
        start = int(request.param("start")) / 1e9
        return StubReply(body={"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"service": "checkout"}, "values": [[start + i * 60, str(i)] for i in range(5)]}]}})
    if "| json" in query:
        # A parser's fields are labels of the streams Loki sends.
        return StubReply(body={"status": "success", "data": {"resultType": "streams", "result": [
            {"stream": {**s["stream"], "level": "error", "msg": "payment failed", "dependency": "payments-api"},
             "values": s["values"]} for s in STREAMS]}})
    if "partial" in query:
        return StubReply(body={"status": "success", "warnings": [PARTIAL],
                               "data": {"resultType": "streams", "result": STREAMS}})
    return StubReply(body={"status": "success", "data": {"resultType": "streams", "result": STREAMS,
                                                          "stats": {"summary": {"totalLinesProcessed": 9}}}})


@pytest.fixture
def stub():
    server = StubServer(loki)
    yield server
    server.stop()


def test_lines_come_newest_first_across_streams_with_what_was_sent(kernel, stub, tmp_path):
    _, kc = kernel
    token = "tok-" + os.urandom(8).hex()
    (tmp_path / "token").write_text(token)
    run_ok(kc, f"source lk loki {stub.url} token file:{tmp_path / 'token'} tenant team-a\n{WINDOW}")
    outputs = run_ok(kc, 'logs @lk {service="checkout"} |= "payments-api" limit 2')
    shown = plain(outputs).split("\n")
    assert shown[-3].startswith("42 lines · ") and "the newest 2 shown, 40 more not" in shown[-3], shown
    assert shown[-2].startswith("2026-11-20T10:50:00Z  instance=checkout-a:8080"), shown
    assert shown[-1].startswith("2026-11-20T10:33:20Z  instance=checkout-b:8080"), shown
    [lines] = [r for r in stub.requests if r.path == "/loki/api/v1/query_range"]
    assert lines.param("query") == '{service="checkout"} |= "payments-api"'
    assert (int(lines.param("start")), int(lines.param("end"))) == (START_NS, END_NS)
    assert (lines.param("limit"), lines.param("direction")) == ("2", "backward")
    assert lines.headers["x-scope-orgid"] == "team-a"
    assert lines.headers["authorization"] == f"Bearer {token}"
    [count] = [r for r in stub.requests if r.path == "/loki/api/v1/query"]
    assert count.param("query") == 'sum(count_over_time({service="checkout"} |= "payments-api" [7200s]))'
    assert token not in str(outputs)
    # The volume chart counts the two lines returned (the limit), and says that more matched.
    chart = bundles(outputs)[0]
    assert "counts the 2 lines returned; 40 more matched" in chart["image/svg+xml"], chart["text/plain"]


def test_label_names_and_values_complete_from_loki(kernel, stub):
    _, kc = kernel
    run_ok(kc, f"source lk loki {stub.url} tenant team-a\n{WINDOW}")
    code = "errors = logs @lk {ser"
    reply = complete(kc, code)
    assert reply["matches"] == ["service"], reply
    assert reply["cursor_start"] == len(code) - len("ser")
    code = 'logs @lk {service="c'
    reply = complete(kc, code)
    assert reply["matches"] == ["cart", "checkout"], reply
    [values] = [r for r in stub.requests if r.path == "/loki/api/v1/label/service/values"]
    assert values.headers["x-scope-orgid"] == "team-a"
    assert (int(values.param("start")), int(values.param("end"))) == (START_NS, END_NS)


def test_a_metric_query_is_a_chart_and_errors_say_what_loki_said(kernel, stub):
    _, kc = kernel
    run_ok(kc, f"source lk loki {stub.url}\n{WINDOW}")
    outputs = run_ok(kc, 'query @lk sum by (service) (rate({service="checkout"}[5m]))')
    assert '{service="checkout"}: min 0  avg 2  max 4  last 4' in plain(outputs), plain(outputs)
    statement = 'logs @lk {service="bad(x"}'
    err = run_error(kc, statement)
    assert err["ename"] == "LogQueryError" and "syntax error" in err["evalue"], err
    caret_under(err, statement, '(x"}')
    err = run_error(kc, 'logs @lk {service="busy"}')
    assert err["ename"] == "SourceError" and "429" in err["evalue"], err
    err = run_error(kc, 'logs @lk {service="broken"}')
    assert err["ename"] == "SourceError" and "500" in err["evalue"], err
    run_ok(kc, 'logs @lk {service="checkout"}')


def test_a_partial_response_shows_its_warning_above_the_lines_it_has(kernel, stub):
    _, kc = kernel
    run_ok(kc, f"source lk loki {stub.url}\n{WINDOW}")
    outputs = run_ok(kc, 'logs @lk {service="checkout"} |= "partial"')
    shown = bundles(outputs)
    assert shown[0]["text/plain"] == f"⚠ warning from the source: {PARTIAL}", shown[0]
    assert "payment failed: upstream payments-api:443" in shown[-1]["text/plain"], shown[-1]


def test_after_a_parser_the_fields_loki_sends_complete(kernel, stub):
    _, kc = kernel
    run_ok(kc, f"source lk loki {stub.url} tenant team-a\n{WINDOW}")
    query = 'logs @lk {service="checkout"} | json'
    assert complete(kc, query + " | le")["matches"] == ["level"]
    assert complete(kc, query + ' | level="error" and d')["matches"] == ["dependency"]
    # Right after the `|`, LogQL's stages as well as the fields.
    assert complete(kc, query + " | ")["matches"] == sorted(
        ["dependency", "instance", "level", "msg", "service", "json", "logfmt", "regexp", "pattern",
         "unpack", "line_format", "label_format", "keep", "drop", "decolorize"])
    # One sample of the query's newest lines, asked once, as any query is.
    [sample] = [r for r in stub.requests if r.path == "/loki/api/v1/query_range"]
    assert sample.param("query") == '{service="checkout"} | json', sample.param("query")
    assert (sample.param("limit"), sample.headers["x-scope-orgid"]) == ("200", "team-a")
