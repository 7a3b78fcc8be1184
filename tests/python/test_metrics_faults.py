"""Metrics sources that fail: nothing listening, too slow, interrupted, answering errors or
something that is not the API's JSON. Each is a scripted HTTP server on a loopback port
(http_stub.StubServer), or a closed port; none needs Prometheus itself."""

from __future__ import annotations

import time

import pytest

from http_stub import StubReply, StubServer, free_port
from kernel_client import (
    assert_interrupted_within_a_second,
    bundles,
    execute,
    get_reply,
    plain,
    run_error,
    run_ok,
)
from prometheus import api_success

WINDOW = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"
QUERY = 'query sum(rate(http_requests_total{code=~"5.."}[5m]))'


@pytest.fixture
def stubs():
    started = []

    def start(respond):
        stub = StubServer(respond)
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.stop()


def slow(delay: float):
    """Answers correctly, after `delay` seconds."""

    def respond(request):
        reply = api_success(request)
        reply.delay = delay
        return reply

    return respond


def test_unreachable_source(kernel):
    km, kc = kernel
    port = free_port()  # bound and released: nothing listens there
    run_ok(kc, f"source dead prometheus http://127.0.0.1:{port}\n{WINDOW}")
    started = time.monotonic()
    err = run_error(kc, QUERY)
    elapsed = time.monotonic() - started
    assert err["ename"] == "SourceUnreachable", err
    assert f"127.0.0.1:{port}" in err["evalue"], err["evalue"]
    assert elapsed < 2.0, f"a refused connection took {elapsed:.2f} s to report"


def test_timeout(kernel, stubs):
    km, kc = kernel
    stub = stubs(slow(10))
    run_ok(kc, f"source slow prometheus {stub.url} timeout 1s\n{WINDOW}")
    started = time.monotonic()
    err = run_error(kc, QUERY)
    elapsed = time.monotonic() - started
    assert err["ename"] == "SourceTimeout", err
    assert stub.api_requests("query_range"), "the query never reached the server"
    assert 0.9 <= elapsed < 1.6, f"a 1 s timeout ended the query after {elapsed:.2f} s"


def test_interrupt_a_slow_query(kernel, stubs):
    km, kc = kernel
    slow_stub = stubs(slow(20))
    fast_stub = stubs(api_success)
    run_ok(kc, f"source slow prometheus {slow_stub.url}\nsource fast prometheus {fast_stub.url}\n{WINDOW}")
    msg_id = kc.execute(QUERY)
    assert slow_stub.request_seen.wait(10), "the query never reached the server"
    time.sleep(0.2)

    assert_interrupted_within_a_second(km, kc, msg_id)

    # The kernel still works, and its sources too.
    outputs = run_ok(kc, "query @fast up")
    assert any("application/vnd.vegalite.v5+json" in b for b in bundles(outputs))
    assert fast_stub.api_requests("query_range")


@pytest.mark.parametrize(
    "reply, ename, words",
    [
        # What a reverse proxy or a wrong path answers: not the API at all.
        (StubReply(404, "404 page not found\n", "text/plain; charset=utf-8"), "SourceError", ["404"]),
        (
            StubReply(503, {"status": "error", "errorType": "unavailable",
                            "error": "too many queries in flight, try again later"}),
            "SourceError",
            ["too many queries in flight"],
        ),
        (
            StubReply(500, {"status": "error", "errorType": "internal",
                            "error": "expanding series: chunk not found"}),
            "SourceError",
            ["expanding series: chunk not found"],
        ),
        # A login page in front of Prometheus: 200, but HTML.
        (StubReply(200, "<html><body>Sign in</body></html>", "text/html"), "SourceError", []),
        (StubReply(200, '{"status": "success", "data": {"resultType": "matr'), "SourceError", []),
    ],
    ids=["404-plain-text", "503-json", "500-json", "200-html", "200-truncated-json"],
)
def test_server_errors(kernel, stubs, reply, ename, words):
    km, kc = kernel
    stub = stubs(lambda request: reply)
    run_ok(kc, f"source broken prometheus {stub.url}\n{WINDOW}")
    err = run_error(kc, QUERY)
    assert err["ename"] == ename, err
    for word in words:
        assert word in err["evalue"], err["evalue"]
    assert stub.api_requests("query_range")

    # The error is the query's, not the kernel's: the next cell runs.
    reply_ok, outputs = execute(kc, "run echo still-here")
    assert reply_ok["content"]["status"] == "ok"


def test_server_warnings_are_shown_not_errors(kernel, stubs):
    km, kc = kernel
    warning = "PromQL info: metric might not be a counter, name does not end in _total"
    stub = stubs(lambda request: api_success(request, warnings=[warning]))
    run_ok(kc, f"source warns prometheus {stub.url}\n{WINDOW}")
    outputs = run_ok(kc, "query rate(up[5m])")
    shown = bundles(outputs)
    assert any("application/vnd.vegalite.v5+json" in b for b in shown), "the result is not shown"
    everything = plain(outputs) + "".join(
        m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream"
    )
    assert warning in everything, f"the server's warning is not shown:\n{everything}"


# --- completion from a failing source ---------------------------------------------------------


def complete_and_inspect(kc, code: str) -> tuple[list[str], dict]:
    reply = get_reply(kc, kc.complete(code, len(code)), timeout=15)["content"]
    assert reply["status"] == "ok", reply
    inspected = get_reply(kc, kc.inspect(code, len(code)), timeout=15)["content"]
    assert inspected["status"] == "ok", inspected
    return reply["matches"], inspected


def test_empty_completion_from_a_refused_or_slow_source_says_why_on_inspect(kernel, stubs):
    km, kc = kernel
    port = free_port()  # bound and released: nothing listens there
    run_ok(kc, f"source dead prometheus http://127.0.0.1:{port}\n{WINDOW}")
    matches, inspected = complete_and_inspect(kc, "query sum(rate(http_requests_total{")
    assert matches == []
    assert inspected["found"], inspected
    text = inspected["data"]["text/plain"]
    assert "completion from `dead`" in text and f"127.0.0.1:{port}" in text, text

    stub = stubs(slow(5))
    run_ok(kc, f"source slow prometheus {stub.url}")
    started = time.monotonic()
    matches, inspected = complete_and_inspect(kc, "query @slow up{")
    assert matches == [] and time.monotonic() - started < 4.5, "completion waited on the source"
    assert "did not answer within 2 s" in inspected["data"]["text/plain"], inspected

    # A source that answers, with nothing in the window, is not a failure: nothing to say.
    ok = stubs(api_success)
    run_ok(kc, f"source fine prometheus {ok.url}")
    matches, inspected = complete_and_inspect(kc, "query @fine up{")
    assert not inspected["found"], inspected
