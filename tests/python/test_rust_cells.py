"""`%%rust` cells through evcxr, as a Jupyter client sees them: a notebook mixing playbook and
Rust cells, where Rust reads what playbook cells bound (from a real Prometheus), records findings
back, shows rich output, and fails with exactly one error on a compile error or a panic; interrupt
of a running Rust cell; completion and inspect; a missing toolchain; record and replay headless.

The kernel under test must be built with `--features rust-cells` (as `.ci/run` builds it); the
first Rust cell compiles the bridge crate and its dependencies, so it is given minutes.
"""

from __future__ import annotations

import json
import math
import os
import time
from queue import Empty

import nbformat
import pytest

from kernel_client import (
    REPO,
    bundles,
    caret_under,
    errors,
    execute,
    get_reply,
    iopub_until_idle,
    notebook,
    plain,
    playbook_run,
    run_error,
    run_ok,
    started_kernel,
    stream_text,
)

WINDOW = ("2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z")
CHECKOUT_5XX = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
# The first Rust cell of a machine compiles serde and the bridge crate.
FIRST_CELL_TIMEOUT = 900


@pytest.fixture(scope="module")
def rust_kernel():
    """One kernel for the module, started in the repository, with its Rust context warmed up:
    creating it is what costs seconds (and minutes the first time on a machine)."""
    with started_kernel(cwd=REPO) as (km, kc):
        reply, outputs = execute(kc, "%%rust\nprintln!(\"ready\");", timeout=FIRST_CELL_TIMEOUT)
        problems = [(e["ename"], e["evalue"]) for e in errors(outputs)]
        assert reply["content"]["status"] == "ok", (
            f"the first Rust cell failed: {problems} (is the kernel built with --features rust-cells?)"
        )
        assert stream_text(outputs) == "ready\n"
        yield km, kc


def printed(kc, msg_id: str, text: str, timeout: float) -> bool:
    """Whether the request printed `text` on stdout within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Empty:
            continue
        ours = msg["parent_header"].get("msg_id") == msg_id
        if ours and msg["msg_type"] == "stream" and text in msg["content"]["text"]:
            return True
    return False


def test_a_query_bound_in_a_playbook_cell_is_summed_in_rust(rust_kernel, prometheus):
    _, kc = rust_kernel
    start, end = WINDOW
    run_ok(kc, f"source prom prometheus {prometheus.url}\nwindow {start} .. {end} step 60s")
    run_ok(kc, f"errors = query {CHECKOUT_5XX}")
    outputs = run_ok(
        kc,
        "%%rust\n"
        "let errors: playbook::Series = playbook::get(\"errors\")?;\n"
        "let total: f64 = errors.values().sum();\n"
        "println!(\"{:?} {}\", total, errors.samples.len());",
        timeout=120,
    )
    total, count = stream_text(outputs).split()
    [series] = prometheus.query_range(CHECKOUT_5XX, start, end, 60)
    expected = sum(v for _, v in series["values"])
    assert int(count) == len(series["values"])
    assert math.isclose(float(total), expected, rel_tol=1e-12), (total, expected)


def test_rust_sees_a_name_bound_again_with_its_new_value(rust_kernel):
    _, kc = rust_kernel
    read = "%%rust\nprint!(\"{}\", playbook::get::<playbook::CommandResult>(\"version\")?.stdout);"
    run_ok(kc, "version = run echo v1")
    assert stream_text(run_ok(kc, read, timeout=120)) == "v1\n"
    run_ok(kc, "version = run echo v2")
    assert stream_text(run_ok(kc, read, timeout=120)) == "v2\n"


def test_rust_records_a_finding_that_findings_shows(rust_kernel):
    _, kc = rust_kernel
    run_ok(kc, "latency = run echo 250")
    outputs = run_ok(
        kc,
        "%%rust\n"
        "use playbook::{Finding, Severity, CommandResult};\n"
        "let latency: CommandResult = playbook::get(\"latency\")?;\n"
        "let ms: u32 = latency.stdout.trim().parse()?;\n"
        "if ms > 200 {\n"
        "    playbook::record(&Finding::new(Severity::High, format!(\"p99 latency {ms} ms\")).evidence([\"latency\"]))?;\n"
        "}",
        timeout=120,
    )
    shown = bundles(outputs)
    assert len(shown) == 1, shown
    [card] = shown
    assert "p99 latency 250 ms" in card["text/markdown"] and "HIGH" in card["text/markdown"]
    timeline = plain(run_ok(kc, "findings"))
    assert "p99 latency 250 ms" in timeline and "latency" in timeline, timeline


def test_a_finding_naming_unbound_evidence_is_refused(rust_kernel):
    _, kc = rust_kernel
    err = run_error(
        kc,
        "%%rust\nplaybook::record(&playbook::Finding::new(playbook::Severity::Low, \"x\").evidence([\"nowhere\"]))?;",
        timeout=120,
    )
    assert err["ename"] == "UnknownName" and "nowhere" in err["evalue"], err


def test_rust_cells_show_rich_output_and_their_final_value(rust_kernel):
    _, kc = rust_kernel
    outputs = run_ok(kc, "%%rust\nplaybook::display_html(\"<b>checked</b>\");\n6 * 7", timeout=120)
    [bundle] = bundles(outputs)
    assert bundle["text/html"] == "<b>checked</b>"
    assert bundle["text/plain"] == "42"


def test_a_compile_error_is_one_error_pointing_at_its_line(rust_kernel):
    _, kc = rust_kernel
    cell = "%%rust\nlet fine = 1;\nlet count: i32 = \"five\";"
    err = run_error(kc, cell, timeout=120)
    assert err["ename"] == "CompileError", err
    assert "mismatched types" in err["evalue"] and "line 3" in err["evalue"], err
    caret_under(err, 'let count: i32 = "five";', '"five"')


def test_a_panic_is_one_error(rust_kernel):
    _, kc = rust_kernel
    reply, outputs = execute(kc, "%%rust\nlet v: Vec<u8> = Vec::new();\nif v.is_empty() { panic!(\"disk full\"); }", timeout=120)
    assert reply["content"]["status"] == "error"
    [err] = errors(outputs)
    assert err["ename"] == "Panic" and "disk full" in err["evalue"], err
    assert "panicked" not in stream_text(outputs, "stderr")
    # The kernel and the Rust process carry on.
    assert stream_text(run_ok(kc, "%%rust\nprintln!(\"after\");", timeout=120)) == "after\n"


def test_interrupt_stops_a_rust_loop_and_the_next_cell_works(rust_kernel):
    km, kc = rust_kernel
    run_ok(kc, "%%rust\nlet kept = 5;", timeout=120)
    msg_id = kc.execute("%%rust\nprintln!(\"spinning\");\nloop {}")
    assert printed(kc, msg_id, "spinning", timeout=120), "the loop never started"
    started = time.monotonic()
    km.interrupt_kernel()
    reply = get_reply(kc, msg_id, timeout=2.0)
    assert time.monotonic() - started < 2.0
    assert reply["content"]["ename"] == "Interrupted"
    outputs = iopub_until_idle(kc, msg_id, timeout=5)
    [err] = errors(outputs)
    assert "variables" in err["evalue"] and "lost" in err["evalue"], err
    assert stream_text(run_ok(kc, "%%rust\nprintln!(\"{}\", 2 + 2);", timeout=120)) == "4\n"
    lost = run_error(kc, "%%rust\nprintln!(\"{}\", kept);", timeout=120)
    assert lost["ename"] == "CompileError", lost
    assert run_ok(kc, "run echo playbook still here")


def test_completion_and_inspect_come_from_evcxr(rust_kernel):
    _, kc = rust_kernel
    run_ok(kc, "%%rust\nlet total_errors: u64 = 12;", timeout=120)
    code = "%%rust\nlet x = total_er"
    reply = get_reply(kc, kc.complete(code, len(code)), timeout=10)
    content = reply["content"]
    assert "total_errors" in content["matches"], content
    assert code[content["cursor_start"] : content["cursor_end"]] == "total_er"
    code = "%%rust\nstd::mem::swap"
    reply = get_reply(kc, kc.inspect(code, len(code)), timeout=10)
    content = reply["content"]
    assert content["found"], content
    assert "swap" in content["data"]["text/plain"], content


def test_a_missing_toolchain_is_named_and_nothing_else_is_affected(tmp_path):
    env = {**os.environ, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env.pop("CARGO_HOME", None)
    with started_kernel(env=env, cwd=tmp_path) as (_, kc):
        err = run_error(kc, "%%rust\nprintln!(\"hi\");", timeout=30)
        assert err["ename"] == "RustUnavailable", err
        assert "cargo" in err["evalue"] and "rustup" in err["evalue"], err
        assert stream_text(run_ok(kc, "run echo still here")) == "still here\n"


def test_rust_cells_are_journaled_and_replayed_without_evaluating(tmp_path):
    journal = tmp_path / "journal.jsonl"
    nb = notebook(
        tmp_path,
        "answer = run echo 41",
        "%%rust\nlet answer: playbook::CommandResult = playbook::get(\"answer\")?;\n"
        "let n: i64 = answer.stdout.trim().parse()?;\nprintln!(\"{}\", n + 1);\n"
        "playbook::finding(playbook::Severity::Info, format!(\"the answer is {}\", n + 1))?;",
        "findings",
    )
    recorded = playbook_run(str(nb), "--journal", str(journal), "-o", str(tmp_path / "live.ipynb"), cwd=REPO, timeout=FIRST_CELL_TIMEOUT)
    assert recorded.returncode == 0, recorded.stderr
    steps = [json.loads(line)["step"] for line in journal.read_text().splitlines()]
    # The finding from Rust is stamped by the session's clock, journaled just before it; a `cell`
    # line follows each cell; the session's end record closes the journal.
    assert steps == ["run", "cell", "rust", "clock", "finding", "cell", "cell", "end"], steps
    # Replay where Rust cannot run at all: the cell's outputs come from the journal.
    env = {**os.environ, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    replayed = playbook_run(str(nb), "--replay", str(journal), "-o", str(tmp_path / "replay.ipynb"), cwd=tmp_path, env=env)
    assert replayed.returncode == 0, replayed.stderr
    live, again = (nbformat.read(tmp_path / n, as_version=4) for n in ("live.ipynb", "replay.ipynb"))

    def rust_outputs(nb):
        return [(o.output_type, o.get("text")) for o in nb.cells[1].outputs]

    assert rust_outputs(live) == rust_outputs(again) == [("stream", "42\n"), ("display_data", None)]
    assert "the answer is 42" in json.dumps(again.cells[2].outputs)


def test_a_kernels_resume_answers_a_recorded_rust_cell_and_runs_a_new_one_live(tmp_path):
    journal = tmp_path / "journal.jsonl"
    rust = "%%rust\nprintln!(\"{}\", 6 * 7);"
    nb = notebook(tmp_path, rust)
    recorded = playbook_run(str(nb), "--journal", str(journal), "-o", str(tmp_path / "live.ipynb"), cwd=REPO, timeout=FIRST_CELL_TIMEOUT)
    assert recorded.returncode == 0, recorded.stderr
    # Where Rust cannot run: the recorded cell is answered; a new one goes live, and so meets
    # the missing toolchain rather than the journal.
    env = {**os.environ, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env.pop("CARGO_HOME", None)
    # The same user's key, which lives under the real home's config.
    env.setdefault("XDG_CONFIG_HOME", os.path.expanduser("~/.config"))
    with started_kernel(env=env, cwd=tmp_path) as (_, kc):
        run_ok(kc, f"resume {journal}")
        assert stream_text(run_ok(kc, rust)) == "42\n"
        err = run_error(kc, "%%rust\nprintln!(\"new\");", timeout=30)
        assert err["ename"] == "RustUnavailable", err
        assert stream_text(run_ok(kc, "run echo live")) == "live\n"
