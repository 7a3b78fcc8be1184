"""Logs read in-process from files: `source NAME logs`, `logs`, their errors, secrets in log
lines, and a log query recorded and replayed.

tests/fixtures/incident-logs.jsonl holds the incident day's logs (tests/fixtures/README.md). What
each test expects is worked out here from the file itself, with Python's json and plain string
tests (as grep and jq would), never taken from the kernel.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from xml.etree import ElementTree

import nbformat
import pytest

from kernel_client import (
    REPO,
    bundles,
    caret_under,
    complete,
    notebook,
    plain,
    playbook_run,
    run_error,
    run_ok,
    started_kernel,
)

LOGS = REPO / "tests" / "fixtures" / "incident-logs.jsonl"
START, END = "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z"
INCIDENT = f"window {START} .. {END}"
MASK = "••••••"


def seconds(rfc3339: str) -> float:
    return datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def fixture() -> list[tuple[float, int, str, dict]]:
    """(time, place in the file, raw line, fields) of every line of the fixture in the window,
    both ends included."""
    out = []
    for place, raw in enumerate(LOGS.read_text().splitlines()):
        fields = json.loads(raw)
        t = seconds(fields["ts"])
        if seconds(START) <= t <= seconds(END):
            out.append((t, place, raw, fields))
    return out


def newest_first(lines):
    """As `logs` orders them: newest first, and of lines at the same time the later in the file."""
    return sorted(lines, key=lambda line: (line[0], line[1]), reverse=True)


def declare(kc) -> None:
    run_ok(kc, f"source app logs {LOGS} format json label service label instance\n{INCIDENT}")


def heading(outputs) -> str:
    """The first line of the table of lines, the last output (the volume chart comes first)."""
    return bundles(outputs)[-1]["text/plain"].split("\n")[0]


def assert_in_order(text: str, raws: list[str]) -> None:
    at = -1
    for raw in raws:
        found = text.find(raw, at + 1)
        assert found > at, f"{raw!r} is missing or out of order in:\n{text[:2000]}"
        at = found


def test_a_line_filter_selects_the_lines_grep_finds_newest_first(kernel):
    _, kc = kernel
    declare(kc)
    expected = [
        line for line in fixture()
        if line[3]["service"] == "checkout" and "payments-api" in line[2]
    ]
    assert len(expected) == 180  # the fixture's design: 90 from each checkout instance
    outputs = run_ok(kc, 'logs {service="checkout"} |= "payments-api" limit 5')
    assert heading(outputs).startswith(f"{len(expected)} lines · "), heading(outputs)
    assert "the newest 5 shown, 175 more not" in heading(outputs)
    shown = plain(outputs)
    newest = [raw for _, _, raw, _ in newest_first(expected)[:5]]
    assert_in_order(shown, newest)
    assert newest_first(expected)[5][2] not in shown


def test_the_label_that_tells_lines_apart_is_shown_and_no_other(kernel, tmp_path):
    _, kc = kernel
    for name, minute in (("api.log", 1), ("worker.log", 2)):
        (tmp_path / name).write_text(f"2026-11-20 10:0{minute}:00 ERROR queue full\n")
    outputs = run_ok(kc, f"source two logs {tmp_path}/*.log label env=prod\n{INCIDENT}\nlogs {{env=\"prod\"}}")
    rows = plain(outputs).split("\n")[-2:]
    # Newest first; the file tells the two lines apart, `env` is the same for both.
    assert rows == [
        f"2026-11-20T10:02:00Z  filename={tmp_path}/worker.log  2026-11-20 10:02:00 ERROR queue full",
        f"2026-11-20T10:01:00Z  filename={tmp_path}/api.log  2026-11-20 10:01:00 ERROR queue full",
    ], rows


def test_the_json_parser_and_label_filters_count_what_jq_counts(kernel):
    _, kc = kernel
    declare(kc)
    expected = [
        line for line in fixture()
        if line[3]["level"] == "error" and line[3].get("status", 0) >= 503
    ]
    outputs = run_ok(kc, 'logs {service=~".+"} | json | level="error" and status >= 503 limit 1000')
    assert heading(outputs).startswith(f"{len(expected)} lines · "), heading(outputs)
    assert_in_order(plain(outputs), [raw for _, _, raw, _ in newest_first(expected)])
    # A parsed key that is also a stream label is renamed, as Loki does, and can be filtered on.
    outputs = run_ok(kc, 'logs {instance="cart-a:8080"} | json | service_extracted="cart" and duration_ms > 800')
    warnings = [line for line in fixture() if line[3]["instance"] == "cart-a:8080" and line[3].get("duration_ms", 0) > 800]
    assert len(warnings) == 7
    assert heading(outputs).startswith("7 lines · "), heading(outputs)


def test_negative_filters_and_the_window_ends_are_included(kernel):
    _, kc = kernel
    declare(kc)
    expected = [line for line in fixture() if line[3]["service"] == "cart" and "GET" not in line[2]]
    # The last warning is at 12:00:00, the window's very end.
    assert expected and max(line[0] for line in expected) == seconds(END)
    outputs = run_ok(kc, 'logs {service="cart"} != "GET"')
    assert heading(outputs).startswith(f"{len(expected)} lines · "), heading(outputs)
    assert_in_order(plain(outputs), [raw for _, _, raw, _ in newest_first(expected)])
    outputs = run_ok(kc, 'logs {service="cart", instance!~"cart-a.*"} |~ "5[0-9]{2}"')
    assert "no line matched in the window" in plain(outputs)


def test_bad_queries_are_clear_errors_and_the_kernel_keeps_serving(kernel):
    _, kc = kernel
    declare(kc)
    statement = 'logs {service="checkout" |= "x"'
    err = run_error(kc, statement)
    assert err["ename"] == "LogQueryError", err
    caret_under(err, statement, '|= "x"')
    err = run_error(kc, 'logs {service="checkout"} | pattern "<_> <msg>"')
    assert err["ename"] == "UnsupportedInEmbeddedEngine" and "pattern" in err["evalue"], err
    err = run_error(kc, 'logs count_over_time({service="checkout"}[1m])')
    assert err["ename"] == "LogQueryError" and "use `query`" in err["evalue"], err
    err = run_error(kc, 'logs @nowhere {service="checkout"}')
    assert err["ename"] == "NoSource" and "app" in err["evalue"], err
    err = run_error(kc, f"source broken logs {LOGS.parent / 'incident.om'} format json")
    assert err["ename"] == "SourceError" and "incident.om" in err["evalue"] and "line 1" in err["evalue"], err
    outputs = run_ok(kc, 'logs {service="checkout"} |= "deployed"')
    assert heading(outputs).startswith("1 line · "), heading(outputs)


def test_a_query_sees_the_files_as_declared_and_a_changed_file_says_so(kernel, tmp_path):
    _, kc = kernel
    logs = tmp_path / "app.log"
    first = "2026-11-20T10:01:00Z error: payments-api refused\n"
    logs.write_text(first)
    run_ok(kc, f"source live logs {logs} format text\n{INCIDENT}")
    # A line appended after the declaration is not read: the source is what was declared.
    with logs.open("a") as appended:
        appended.write("2026-11-20T10:02:00Z error: appended later\n")
    outputs = run_ok(kc, 'logs @live {filename=~".+"} |= "error"')
    assert heading(outputs).startswith("1 line · "), heading(outputs)
    assert "appended later" not in plain(outputs)
    # The part that was read rewritten in place: an error naming the file, never other lines
    # shown as if they were the declared ones.
    logs.write_text(first.replace("refused", "REFUSED"))
    err = run_error(kc, 'logs @live {filename=~".+"} |= "error"')
    assert err["ename"] == "SourceError", err
    assert str(logs) in err["evalue"] and "declare the source again" in err["evalue"], err
    run_ok(kc, f"source live logs {logs} format text")
    outputs = run_ok(kc, 'logs @live {filename=~".+"} |= "REFUSED"')
    assert heading(outputs).startswith("1 line · "), heading(outputs)


def test_a_secret_in_a_log_line_reaches_no_output_and_no_journal(tmp_path):
    token = "tok-" + os.urandom(8).hex()
    logs = tmp_path / "auth.log"
    logs.write_text(
        f"2026-11-20T10:05:00Z login ok user=alice token={token}\n"
        "2026-11-20T10:06:00Z login ok user=bob\n"
    )
    path = notebook(
        tmp_path,
        "secret T from env:LOG_TOKEN",
        f"source auth logs {logs.name}\n{INCIDENT}",
        'logs {filename=~".+"} |= "login"',
    )
    journal, out = tmp_path / "j.jsonl", tmp_path / "out.ipynb"
    env = {**os.environ, "LOG_TOKEN": token}
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(out), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    for where in (out, journal):
        text = where.read_text()
        assert token not in text, f"the secret is in {where.name}"
    assert f"token={MASK}" in out.read_text()
    assert token not in proc.stdout + proc.stderr


def test_a_secret_in_the_query_sampled_for_fields_reaches_neither_the_journal_nor_the_reply(tmp_path):
    # Completion fills `{{T}}` into the query it samples: the lookup it records, and the
    # candidates it returns, must hold the secret masked, plain or JSON-escaped. The token is a
    # valid field name, so that a field is named by it.
    token = "tok" + os.urandom(8).hex()
    logs = tmp_path / "auth.jsonl"
    logs.write_text(f'{{"ts": "2026-11-20T10:05:00Z", "msg": "login", "{token}": "{token}"}}\n')
    journal = tmp_path / "j.jsonl"
    env = {**os.environ, "LOG_TOKEN": token, "PLAYBOOK_JOURNAL": str(journal)}
    with started_kernel(env=env, cwd=tmp_path) as (_, kc):
        run_ok(kc, f"secret T from env:LOG_TOKEN\nsource auth logs {logs.name} format json\n{INCIDENT}")
        reply = complete(kc, 'logs {filename=~".+"} |= "{{T}}" | json | ')
        assert "msg" in reply["matches"] and MASK in reply["matches"], reply
        assert token not in json.dumps(reply), reply
    text = journal.read_text()
    assert '"field_names"' in text, "the sample is a recorded lookup"
    assert token not in text and "\\u" not in text.split('"field_names"')[1][:400], text


def test_a_secret_in_a_field_column_is_masked_whether_written_plain_or_json_escaped(tmp_path):
    token = "tok-" + os.urandom(8).hex()
    # The JSON line writes the token with every character as a \u escape: the column shows it
    # decoded, the line as written.
    escaped = "".join(f"\\u{ord(c):04x}" for c in token)
    logs = tmp_path / "auth.jsonl"
    logs.write_text(
        f'{{"ts": "2026-11-20T10:05:00Z", "msg": "login", "token": "{escaped}"}}\n'
        f'{{"ts": "2026-11-20T10:06:00Z", "msg": "login", "token": "{token}"}}\n'
    )
    path = notebook(
        tmp_path,
        "secret T from env:LOG_TOKEN",
        f"source auth logs {logs.name} format json\n{INCIDENT}",
        'found = logs {filename=~".+"} |= "login" fields token, msg collapse off',
        "found",
        'run echo "{{found.count}}"',
    )
    journal, out = tmp_path / "j.jsonl", tmp_path / "out.ipynb"
    env = {**os.environ, "LOG_TOKEN": token}
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(out), cwd=tmp_path, env=env, )
    assert proc.returncode == 0, proc.stderr
    shown = out.read_text()
    for where, text in (("notebook", shown), ("journal", journal.read_text()), ("terminal", proc.stdout + proc.stderr)):
        assert token not in text, f"the secret is in the {where}"
        assert escaped not in text, f"the escaped secret is in the {where}"
    executed = nbformat.read(out, as_version=4)
    table = executed.cells[2].outputs[-1]["data"]
    assert table["text/plain"].count(f"token={MASK}") == 2, table["text/plain"]
    assert f"<td style=\"text-align:left;white-space:nowrap\">{MASK}</td>" in table["text/html"]


def recorded_and_replayed(path, logs, exit_code: int):
    """Runs the notebook with a journal, removes the log file, replays it: the text/plain of
    every cell but the first, the same both times, and the journal's steps."""
    journal, first, second = (path.parent / name for name in ("j.jsonl", "a.ipynb", "b.ipynb"))
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(first), cwd=path.parent)
    assert proc.returncode == exit_code, proc.stderr
    logs.unlink()  # replay must not need them
    proc = playbook_run(str(path), "--replay", str(journal), "-o", str(second), cwd=path.parent)
    assert proc.returncode == exit_code, proc.stderr
    recorded, replayed = (nbformat.read(p, as_version=4) for p in (first, second))
    shown = [[o.get("data", {}).get("text/plain") for o in c.outputs] for c in recorded.cells[1:]]
    again = [[o.get("data", {}).get("text/plain") for o in c.outputs] for c in replayed.cells[1:]]
    assert shown == again
    return shown, [json.loads(line)["step"] for line in journal.read_text().splitlines()]


def test_a_log_query_is_recorded_and_replayed_without_the_files(tmp_path):
    logs = tmp_path / "incident-logs.jsonl"
    shutil.copy(LOGS, logs)
    path = notebook(
        tmp_path,
        f"source app logs {logs.name} format json label service\n{INCIDENT}",
        'errors = logs {service="checkout"} | json | level="error" limit 20',
        "errors",
        'finding high "payments-api refuses connections" evidence errors',
    )
    shown, steps = recorded_and_replayed(path, logs, exit_code=0)
    assert steps.count("logs") == 1, steps
    chart, table = shown[0]
    assert chart.startswith("log lines per 2m, by level: 180 lines"), chart
    assert "180 lines" in table and shown[1] == [table], shown


def test_fields_add_columns_and_a_bound_result_inserts_its_count(kernel):
    _, kc = kernel
    declare(kc)
    expected = [line for line in fixture() if line[3]["service"] == "checkout" and line[3]["level"] == "error"]
    outputs = run_ok(kc, 'errors = logs {service="checkout"} |= "refused" limit 4 fields status, dependency')
    table = bundles(outputs)[-1]
    rows = table["text/plain"].split("\n")[1:]
    newest = [fields for _, _, _, fields in newest_first(expected) if "refused" in fields["msg"]][:4]
    assert len(rows) == 4
    for row, fields in zip(rows, newest):
        # Without `| json`, the fields are read from the line itself.
        assert f"  status={fields['status']}  dependency={fields['dependency']}  " in row, row
    assert '<th style="text-align:left">status</th><th style="text-align:left">dependency</th>' in table["text/html"]
    refused = sum("refused" in fields["msg"] for _, _, _, fields in expected)
    outputs = run_ok(kc, 'run echo "{{errors.count}} lines, {{errors.shown}} shown"')
    assert f"{refused} lines, 4 shown" in "".join(m["content"].get("text", "") for m in outputs)
    message = run_error(kc, 'run echo "{{errors.size}}"')
    assert "`errors` (log result) has no field `size`: it has count, shown" in message["evalue"], message


def test_repeats_collapse_into_one_row_unless_collapse_is_off(kernel, tmp_path):
    _, kc = kernel
    flood = tmp_path / "flood.log"
    flood.write_text("2026-11-20T10:00:00Z ERROR pool exhausted\n" * 3 + "2026-11-20T10:00:01Z INFO recovered\n")
    run_ok(kc, f"source flood logs {flood} format text\n{INCIDENT}")
    collapsed = bundles(run_ok(kc, 'logs {filename=~".+"}'))[-1]["text/plain"].split("\n")[1:]
    assert [row.split("  ", 1)[1] for row in collapsed] == [
        "2026-11-20T10:00:01Z INFO recovered",
        "2026-11-20T10:00:00Z ERROR pool exhausted (×3)",
    ], collapsed
    every = bundles(run_ok(kc, 'logs {filename=~".+"} collapse off'))[-1]["text/plain"].split("\n")[1:]
    assert [row.split("  ", 1)[1] for row in every] == [
        "2026-11-20T10:00:01Z INFO recovered"
    ] + ["2026-11-20T10:00:00Z ERROR pool exhausted"] * 3, every


def test_rotated_gz_files_read_as_the_plain_one_and_a_gz_bomb_is_refused(tmp_path):
    # The fixture split in two, the older half compressed as logrotate leaves it.
    raws = LOGS.read_bytes().splitlines(keepends=True)
    (tmp_path / "app.log").write_bytes(b"".join(raws[400:]))
    with gzip.open(tmp_path / "app.log.1.gz", "wb") as out:
        out.write(b"".join(raws[:400]))
    expected = sum(1 for _, _, _, fields in fixture() if fields["level"] == "error")
    path = notebook(
        tmp_path,
        f"source app logs app.log* format json\n{INCIDENT}",
        'logs {filename=~".+"} | json | level="error" limit 1',
    )
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{expected} lines · " in proc.stdout, proc.stdout
    # 50 MB of zeros compress to about 50 KB: the cap applies to what they decompress to.
    with gzip.open(tmp_path / "bomb.log.gz", "wb") as out:
        out.write(b"0" * 50_000_000)
    assert (tmp_path / "bomb.log.gz").stat().st_size < 1_000_000
    path = notebook(tmp_path, f"source bomb logs bomb.log.gz format plain")
    env = {**os.environ, "PLAYBOOK_MAX_FILE_BYTES": "1000000"}
    proc = playbook_run(str(path), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "bomb.log.gz" in proc.stderr and "it holds more once decompressed, over the" in proc.stderr, proc.stderr


def test_plain_lines_say_they_carry_no_time(kernel, tmp_path):
    _, kc = kernel
    out = tmp_path / "crash.txt"
    out.write_text("starting\npanic: nil map\n")
    os.utime(out, (seconds("2026-11-20T11:00:00Z"),) * 2)
    shown = plain(run_ok(kc, f"source crash logs {out} format plain\n{INCIDENT}"))
    assert "their lines carry no time: each has the time its file was last written" in shown, shown
    table = bundles(run_ok(kc, 'logs @crash {filename=~".+"} |= "panic"'))[-1]["text/plain"]
    assert table.split("\n")[1] == "2026-11-20T11:00:00Z  panic: nil map", table


def test_label_names_and_values_complete_in_a_logs_statement(kernel):
    _, kc = kernel
    declare(kc)
    services = sorted({fields["service"] for _, _, _, fields in fixture()})
    for code, expected in [
        ("logs {", ["filename", "instance", "service"]),
        ("errors = logs {serv", ["service"]),
        ('logs @app {service="', services),
        ('logs {service="checkout", instance=~"checkout-', ["checkout-a:8080", "checkout-b:8080"]),
        ("logs ", []),  # a log query has no metric names
    ]:
        reply = complete(kc, code)
        assert reply["status"] == "ok" and reply["matches"] == expected, (code, reply)


STAGES = ["json", "logfmt", "regexp", "pattern", "unpack", "line_format", "label_format", "keep",
          "drop", "decolorize"]


def test_the_fields_of_the_lines_complete_after_a_pipe(kernel):
    _, kc = kernel
    declare(kc)
    streams = {"filename", "instance", "service"}
    # The fields of the newest 200 lines the query selects, as LogQL's json names them: a key
    # that is also a stream's label gets `_extracted`.
    selected = [line for line in fixture() if line[3]["service"] == "checkout" and "error" in line[2]]
    sample = newest_first(selected)[:200]
    fields = {key + "_extracted" if key in streams else key for *_, f in sample for key in f}
    assert "dependency" in fields and "service_extracted" in fields
    query = 'logs {service="checkout"} |= "error" | json'
    run_ok(kc, 'param svc = "checkout"')
    for code, expected in [
        # The sampled query as its step would send it, references filled in.
        ('logs {service="{{svc}}"} |= "error" | json | lev', ["level"]),
        (query + " | ", sorted(streams | fields | set(STAGES))),
        (query + " | lev", ["level"]),
        (query + ' | level="error" and dep', ["dependency"]),
        (query + ' | level="error" or status >= 500, dur', sorted(f for f in fields if f.startswith("dur"))),
        (query + " | keep level, ms", ["msg"]),
        (query + " limit 5 fields msg, sta", ["status"]),
        # Without a parser, the stream's labels; a line filter's text is no field.
        ('logs {service="checkout"} | inst', ["instance"]),
        ('logs {service="checkout"} |= "lev', []),
        ('logs {service="checkout"} | json | line_format "{{.lev', []),
    ]:
        reply = complete(kc, code)
        assert reply["matches"] == expected, (code, reply)
        word = re.search(r"\w*$", code).group()
        assert reply["cursor_start"] == len(code) - len(word), (code, reply)


def test_the_volume_chart_counts_every_matching_line_per_step_by_level(kernel):
    _, kc = kernel
    declare(kc)
    outputs = run_ok(kc, 'logs {service=~"checkout|cart"} limit 3')
    chart = bundles(outputs)[0]
    # Worked out from the file: two-minute bars (a two-hour window), starting at whole
    # multiples of two minutes, by the line's `level` field.
    expected = Counter()
    for t, _, _, fields in fixture():
        if fields["service"] in ("checkout", "cart"):
            expected[(int(t // 120 * 120 * 1000), fields["level"])] += 1
    assert set(level for _, level in expected) == {"info", "error", "warn"}
    spec = chart["application/vnd.vegalite.v5+json"]
    counted = {(row["t"], row["level"]): row["n"] for row in spec["data"]["values"]}
    assert counted == dict(expected)
    assert spec["encoding"]["color"]["scale"]["domain"] == ["error", "warn", "info"]
    assert chart["text/plain"].startswith(f"log lines per 2m, by level: {sum(expected.values())} lines")
    # The static drawing has one bar per (step, level), each titled with its count.
    image = ElementTree.fromstring(chart["image/svg+xml"])
    titles = [t.text for t in image.iter("{http://www.w3.org/2000/svg}title")]
    assert len(titles) == len(expected)
    assert sorted(int(t.split(": ")[1].split()[0]) for t in titles) == sorted(expected.values())


def test_a_thousand_lines_stay_under_a_megabyte_and_a_long_line_is_cut_where_shown(kernel, tmp_path):
    _, kc = kernel
    # 1,200 lines like the fixture's error lines, each different: nothing collapses.
    sample = json.loads(LOGS.read_text().splitlines()[-1])
    with open(tmp_path / "many.jsonl", "w") as out:
        for n in range(1200):
            out.write(json.dumps({**sample, "ts": f"2026-11-20T10:{n // 60:02}:{n % 60:02}Z", "request": n}) + "\n")
    outputs = run_ok(kc, f"source many logs {tmp_path}/many.jsonl format json\n{INCIDENT}\nlogs {{filename=~\".+\"}}")
    [shown] = [b for b in bundles(outputs) if "text/html" in b]
    top = shown["text/plain"].split("\n")[0]
    assert top.startswith("1200 lines · ") and top.endswith("the newest 1000 shown, 200 more not"), top
    size = len(json.dumps(shown).encode())
    assert size < 1_000_000, size
    long = "x" * 100_000
    (tmp_path / "long.log").write_text(f"2026-11-20T10:05:00Z {long}\n")
    outputs = run_ok(kc, f"source long logs {tmp_path}/long.log\nlogs @long {{filename=~\".+\"}}")
    [shown] = [b for b in bundles(outputs) if "text/html" in b and "more characters" in b["text/html"]]
    assert len(shown["text/html"]) < 10_000 and len(shown["text/plain"]) < 2_000
    assert "more characters" in shown["text/plain"]


def count_in(lines, since: float, until: float, keep) -> int:
    """Lines with since < time <= until that `keep` keeps: a LogQL range's lines."""
    return sum(1 for t, _, raw, fields in lines if since < t <= until and keep(raw, fields))


def test_metric_queries_over_the_files_count_what_the_file_holds(kernel):
    _, kc = kernel
    run_ok(kc, f"source app logs {LOGS} format json label service label instance\n"
               "window 2026-11-20T10:00:00Z .. 2026-11-20T11:00:00Z")
    lines = [
        (seconds(json.loads(raw)["ts"]), n, raw, json.loads(raw))
        for n, raw in enumerate(LOGS.read_text().splitlines())
    ]
    end = seconds("2026-11-20T11:00:00Z")
    payments = count_in(lines, end - 300, end, lambda raw, f: f["service"] == "checkout" and "payments-api" in raw)
    outputs = run_ok(kc, 'query @app instant sum(count_over_time({service="checkout"} |= "payments-api" [5m]))')
    assert plain(outputs).split("\n")[-1].split()[-1] == str(payments), plain(outputs)
    errors = count_in(lines, end - 600, end, lambda raw, f: f["level"] == "error" and f["status"] == 503)
    outputs = run_ok(kc, 'query @app instant sum(count_over_time({service=~".+"} | json | level="error" and status == 503 [10m])) / 600')
    assert float(plain(outputs).split("\n")[-1].split()[-1]) == pytest.approx(errors / 600, rel=1e-3), plain(outputs)
    # A check over the logs, with no metrics source declared: the log files are the default.
    outputs = run_ok(kc, 'check "no payment errors": sum(count_over_time({service="checkout"} |= "payments-api" [5m])) > 0\n'
                         'check "cart logs no error": @app sum(count_over_time({service="cart"} | json | level="error" [5m])) > 0')
    shown = plain(outputs)
    assert "✗ FAIL no payment errors" in shown and "2026-11-20T10:30:00Z .." in shown, shown
    assert "✓ PASS cart logs no error" in shown, shown
    err = run_error(kc, 'query @app rate({service="checkout"}[5m]')
    assert err["ename"] == "LogQueryError", err


def test_a_metric_query_over_logs_is_replayed_from_the_journal(tmp_path):
    logs = tmp_path / "incident-logs.jsonl"
    shutil.copy(LOGS, logs)
    path = notebook(
        tmp_path,
        f"source app logs {logs.name} format json label service\n{INCIDENT}",
        'errors = query @app sum by (service) (rate({service=~".+"} | json | level="error" [5m]))',
        'check "checkout logs no error": @app sum(count_over_time({service="checkout"} | json | level="error" [5m])) > 0',
    )
    # The check fails: that is the incident.
    shown, steps = recorded_and_replayed(path, logs, exit_code=1)
    assert steps.count("query") == 2 and "service=\"checkout\"" in str(shown), (steps, shown)
