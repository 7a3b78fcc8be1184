"""The victorialogs source against a real VictoriaLogs (1.26), loaded with the same
tests/fixtures/incident-logs.jsonl the embedded engine reads: LogQL on the files and LogsQL on the
server, pair by pair, must give the same lines (time and message), the same count, and the
same volume (lines per step, by level). A LogsQL `| stats` query answers `query` with the counts
per step worked out from the file, and completion takes field names and values from the server.

Where the two languages differ, the pairs say so: a LogQL line filter reads the whole line as the
file holds it (here the JSON object), a LogsQL filter without a field reads `_msg` (here the
`msg` field); LogsQL needs no `| json`, as VictoriaLogs indexes every field at ingestion, and it
does not rename a field that is also a stream field (LogQL's `_extracted`); a LogsQL word or
phrase filter matches whole words where LogQL's `|=` matches any substring, so substrings are
written as LogsQL regexps (`~"..."`).

Skipped without the VictoriaLogs binary (`PLAYBOOK_VICTORIA_LOGS`; .ci/run sets it when it is
beside the repository).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from kernel_client import REPO, complete, notebook, playbook_run, run_ok
from victoria_logs import ENV, VictoriaLogs, binary

pytestmark = pytest.mark.skipif(binary() is None, reason=f"no VictoriaLogs binary: set {ENV}")

LOGS = REPO / "tests" / "fixtures" / "incident-logs.jsonl"
WINDOW = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"

# (LogQL on the files, LogsQL on the server): the same lines.
PAIRS = [
    ('{service="checkout"}', '{service="checkout"}'),
    ('{service="cart"}', '{service="cart"}'),
    ('{instance="checkout-a:8080"}', '{instance="checkout-a:8080"}'),
    ('{service=~"check.*"}', '{service=~"check.*"}'),
    ('{service=~".+", service!="checkout"}', '{service!="checkout"}'),
    ('{service="checkout", instance="checkout-b:8080"}', '{service="checkout",instance="checkout-b:8080"}'),
    ('{service="checkout"} |= "payments-api"', '{service="checkout"} ~"payments-api"'),
    ('{service="checkout"} |= "deployed"', '{service="checkout"} ~"deployed"'),
    ('{service="cart"} != "GET"', '{service="cart"} !~"GET"'),
    ('{service="checkout"} |~ "refused|rolled"', '{service="checkout"} ~"refused|rolled"'),
    ('{service="checkout"} !~ "GET|refused"', '{service="checkout"} !~"GET|refused"'),
    ('{service="cart"} |= "slow query"', '{service="cart"} "slow query"'),
    ('{service="checkout"} | json | level="error"', '{service="checkout"} level:=error'),
    ('{service="cart"} | json | level="warn"', '{service="cart"} level:=warn'),
    ('{service="checkout"} | json | status >= 503', '{service="checkout"} status:>=503'),
    ('{service="checkout"} | json | status == 500', '{service="checkout"} status:=500'),
    ('{service=~".+"} | json | duration_ms > 800', '* duration_ms:>800'),
    ('{service=~".+"} | json | duration_ms <= 21', '* duration_ms:<=21'),
    ('{service="checkout"} | json | level="error" or level="warn"', '{service="checkout"} (level:=error OR level:=warn)'),
    ('{service="checkout"} | json | version=~"v2.1[45].0"', '{service="checkout"} version:~"^v2.1[45].0$"'),
    ('{service="checkout"} | json | dependency="payments-api" and status < 503', '{service="checkout"} dependency:=payments-api status:<503'),
    ('{service="checkout"} |= "refused" | json | instance_extracted="checkout-a:8080"', '{service="checkout"} ~"refused" instance:="checkout-a:8080"'),
]


@pytest.fixture(scope="module")
def victoria_logs(tmp_path_factory):
    server = VictoriaLogs(tmp_path_factory.mktemp("victoria-logs"), LOGS)
    yield server
    server.stop()


def logs_records(journal):
    return [r for r in map(json.loads, journal.read_text().splitlines()) if r["step"] == "logs"]


def seen(record, msg_of) -> tuple[int, list]:
    result = record["result"]
    assert "error" not in result, (record["input"]["query"], result["error"])
    return result["matched"], sorted((line["at_ns"], msg_of(line["line"])) for line in result["lines"])


def test_logql_on_the_files_and_logsql_on_the_server_give_the_same_lines(tmp_path, victoria_logs):
    cells = [
        f"source files logs {LOGS} format json label service label instance\n"
        f"source vl victorialogs {victoria_logs.url}\n{WINDOW}",
    ]
    for logql, logsql in PAIRS:
        cells.append(f"logs @files {logql} limit 1000\nlogs @vl {logsql} limit 1000")
    cells.append('logs @files {service="checkout"} |= "payments-api" limit 7\nlogs @vl {service="checkout"} ~"payments-api" limit 7')
    path = notebook(tmp_path, *cells)
    journal = tmp_path / "j.jsonl"
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = logs_records(journal)
    assert len(records) == 2 * (len(PAIRS) + 1)
    for files, server in zip(records[::2], records[1::2]):
        on_files = seen(files, lambda line: json.loads(line)["msg"])
        on_server = seen(server, lambda line: line)
        assert on_files[0] > 0, files["input"]["query"]
        assert on_files == on_server, (files["input"]["query"], server["input"]["query"], on_files[0], on_server[0])
        # The volume chart's bars: the same lines per step and level, counted by each.
        assert files["result"]["volume"] == server["result"]["volume"], files["input"]["query"]
        assert sum(bar["count"] for bar in files["result"]["volume"]["bars"]) == on_files[0]
    # The window's end is included by both: cart's last warning is at 12:00:00.
    warnings = records[2 * PAIRS.index(('{service="cart"} | json | level="warn"', '{service="cart"} level:=warn')) + 1]
    assert max(line["at_ns"] for line in warnings["result"]["lines"]) == 1_795_176_000 * 10**9
    # With a limit, both give the newest lines, and count every match.
    files, server = records[-2:]
    assert files["result"]["matched"] == server["result"]["matched"] == 180
    assert [line["at_ns"] for line in files["result"]["lines"]] == [line["at_ns"] for line in server["result"]["lines"]]


def test_a_logsql_stats_query_answers_query_step_by_step_as_counted_from_the_file(tmp_path, victoria_logs):
    path = notebook(
        tmp_path,
        f"source vl victorialogs {victoria_logs.url}\n{WINDOW} step 2m",
        'query @vl {service=~"checkout|cart"} | stats by (level) count() as lines',
    )
    journal = tmp_path / "j.jsonl"
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [record] = [r for r in map(json.loads, journal.read_text().splitlines()) if r["step"] == "query"]
    got = {
        (series["metric"]["level"], int(float(t))): float(v)
        for series in record["result"]["result"]
        for t, v in series["values"]
        if float(v) != 0
    }
    # Worked out from the file: two-minute steps from the window's start, both ends included.
    start, end = 1_795_168_800, 1_795_176_000
    expected = {}
    for raw in LOGS.read_text().splitlines():
        fields = json.loads(raw)
        at = int(datetime.strptime(fields["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
        if start <= at <= end:
            key = (fields["level"], start + (at - start) // 120 * 120)
            expected[key] = expected.get(key, 0) + 1
    assert got == expected


def test_field_names_and_values_complete_from_victorialogs(kernel, victoria_logs):
    _, kc = kernel
    run_ok(kc, f"source vl victorialogs {victoria_logs.url}\n{WINDOW}")
    code = "logs @vl {serv"
    reply = complete(kc, code)
    assert reply["matches"] == ["service"], reply
    code = 'logs @vl {service="c'
    reply = complete(kc, code)
    assert reply["matches"] == ["cart", "checkout"], reply


def test_after_a_logsql_fields_pipe_the_fields_of_the_selected_lines_complete(kernel, victoria_logs):
    _, kc = kernel
    run_ok(kc, f"source vl victorialogs {victoria_logs.url}\n{WINDOW}")
    # VictoriaLogs names the fields of the blocks holding the selected lines, so a field of other
    # lines in them may be named too: only fields the selected lines have are asserted here.
    for code, expected in [
        ("logs @vl level:error | fields dep", ["dependency"]),
        ("logs @vl level:error | fields dependency, lev", ["level"]),
        ("logs @vl level:error | stats by (inst", ["instance"]),
        ("logs @vl level:error limit 5 fields lev", ["level"]),
        # After a bare `|` come LogsQL's pipes, which are not offered; LogQL's stages are not either.
        ("logs @vl level:error | js", []),
    ]:
        reply = complete(kc, code)
        assert reply["matches"] == expected, (code, reply)


def test_a_logsql_error_is_a_log_query_error_and_the_session_goes_on(tmp_path, victoria_logs):
    path = notebook(
        tmp_path,
        f"source vl victorialogs {victoria_logs.url}\n{WINDOW}",
        'logs @vl {service="checkout" | stats count(',
    )
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "LogQueryError" in proc.stderr and "LogsQL" in proc.stderr, proc.stderr[-2000:]


def test_a_notebook_with_all_three_kinds_of_log_source_replays_with_none_of_them(tmp_path, victoria_logs):
    from http_stub import StubServer
    from test_loki import loki

    import nbformat

    stub = StubServer(loki)
    logs = tmp_path / "incident-logs.jsonl"
    logs.write_bytes(LOGS.read_bytes())
    try:
        path = notebook(
            tmp_path,
            f"source files logs {logs.name} format json label service\n"
            f"source vl victorialogs {victoria_logs.url}\nsource lk loki {stub.url}\n{WINDOW}",
            'logs @files {service="checkout"} |= "deployed"',
            'logs @vl {service="checkout"} ~"deployed"',
            'logs @lk {service="checkout"} |= "payments-api" limit 2',
            'query @lk sum by (service) (rate({service="checkout"}[5m]))',
        )
        journal, first, second = tmp_path / "j.jsonl", tmp_path / "a.ipynb", tmp_path / "b.ipynb"
        proc = playbook_run(str(path), "--journal", str(journal), "-o", str(first), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        stub.stop()
    victoria_logs.stop()  # nothing answers any more: replay needs none of them
    logs.unlink()
    proc = playbook_run(str(path), "--replay", str(journal), "-o", str(second), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recorded, replayed = (nbformat.read(p, as_version=4) for p in (first, second))
    shown = [[o.get("data", {}).get("text/plain") for o in c.outputs] for c in recorded.cells[1:]]
    again = [[o.get("data", {}).get("text/plain") for o in c.outputs] for c in replayed.cells[1:]]
    assert shown == again and all(shown), shown
