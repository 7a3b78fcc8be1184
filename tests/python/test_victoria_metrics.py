"""The `prometheus` source against a real VictoriaMetrics (single-node 1.150) over the incident
fixture: completion within the investigation's window (VictoriaMetrics's label APIs look at
the last five minutes unless asked for a span), and MetricsQL's errors shown as PromQL errors
at the place where parsing stopped."""

from __future__ import annotations

import pytest

from kernel_client import caret_under, get_reply, run_error, run_ok
import victoria_metrics
from victoria_metrics import VictoriaMetrics

INCIDENT = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"

pytestmark = pytest.mark.skipif(
    victoria_metrics.binary() is None,
    reason=f"no VictoriaMetrics binary: set {victoria_metrics.ENV} (bash .ci/run does)",
)


@pytest.fixture(scope="module")
def victoria(tmp_path_factory):
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria-metrics"))
    try:
        yield server
    finally:
        server.stop()


def matches(kc, code: str) -> set[str]:
    reply = get_reply(kc, kc.complete(code, len(code)), timeout=15)["content"]
    assert reply["status"] == "ok", reply
    return {m.strip().strip('"').rstrip('=~!"').strip('"') for m in reply["matches"]}


def test_completion_asks_for_the_window_and_keeps_names_per_window(kernel, victoria):
    km, kc = kernel
    # The fixture lies weeks back: in the last hour the server knows no series, and completion
    # offers none...
    run_ok(kc, f"source vm prometheus {victoria.url}\nwindow last 1h")
    assert "http_requests_total" not in matches(kc, "query ")
    # ...and once the window is the incident's, the names come, though they were asked (and
    # found empty) a moment ago under the other window.
    run_ok(kc, INCIDENT)
    assert {"http_requests_total", "deploy_info"} <= matches(kc, "query ")
    assert {"service", "code", "instance"} <= matches(kc, "query http_requests_total{")
    assert {"checkout", "cart"} <= matches(kc, 'query http_requests_total{service=~"')
    assert {"500", "503"} == matches(kc, 'query http_requests_total{code="5')


def test_a_metricsql_syntax_error_is_a_promql_error_under_what_could_not_be_parsed(kernel, victoria):
    km, kc = kernel
    run_ok(kc, f"source vm prometheus {victoria.url}\n{INCIDENT}")
    statement = 'query sum(rate(http_requests_total{service="checkout"}[5m])) +* 2'
    err = run_error(kc, f"{INCIDENT}\n{statement}")
    assert err["ename"] == "PromQLError", err
    assert "unexpected token" in err["evalue"], err["evalue"]
    caret_under(err, statement, "* 2")


def test_a_query_over_the_incident_gives_the_series_prometheus_gives(kernel, victoria):
    km, kc = kernel
    run_ok(kc, f"source vm prometheus {victoria.url}\n{INCIDENT}")
    outputs = run_ok(kc, 'query sum by (code) (increase(http_requests_total{service="checkout"}[5m]))')
    text = "\n".join(str(m["content"]) for m in outputs)
    for code in ("200", "500", "503"):
        assert f'code="{code}"' in text or f"code={code}" in text, text[:2000]
