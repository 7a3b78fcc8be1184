"""The investigation journal, replay and `playbook report`, end to end.

The contract under test:
- a kernel session records each step, as it ends, to `.playbook/journal/<stamp>-<id>.jsonl`
  under its working directory, or to the file `PLAYBOOK_JOURNAL` names; the statement `journal`
  says where;
- `playbook run NB --journal J` records to J; `playbook run NB --replay J` answers every query,
  command and probe from J, with no server and without running any command, and shows the same
  outputs; a step J does not hold is a `NotRecorded` error naming the closest recorded step;
  `replay J` does the same from a cell, in a kernel session;
- a journal survives `kill -9` of its kernel with every completed step, its hash chain intact,
  and reads as truncated (no end record), which is the truth;
- `playbook report J --format md|html|json` shows the timeline and the journal's integrity
  verdict: a changed line is reported at that line (test_journal_tamper.py attacks it further);
- `playbook run` exits 0 when every check passed, 1 when one failed, 2 on an error, and
  `--junit FILE` writes each check as a JUnit test case;
- secrets never enter the journal;
- the notebooks in notebooks/ run through the kernel (nbclient, papermill), and the journals
  shipped beside them in notebooks/journals/ replay them with no server at all.

Prometheus servers that a test stops are its own (`own_prometheus`, from the session's TSDB
blocks); the others share the session's `prometheus` fixture (conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from kernel_client import (
    KERNEL_NAME,
    REPO,
    assert_cells_ran,
    kernel_pid,
    notebook,
    plain,
    playbook_bin,
    playbook_run,
    run_error,
    run_ok,
    sleeps_under,
    started_kernel,
    still_running,
    wait_for,
)

NOTEBOOKS = REPO / "notebooks"
JOURNALS = NOTEBOOKS / "journals"
# Each notebook shipped with a journal, and how `playbook run` ends on the fixture's data.
SHIPPED = {
    "incident-5xx": 1,
    "release-readiness": 0,
    "post-deploy-verification": 1,
}
VEGALITE = "application/vnd.vegalite.v5+json"
INCIDENT = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"
CHECKOUT_5XX = 'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def own_prometheus(prometheus_blocks, tmp_path):
    """A Prometheus of this test's own, which the test may stop."""
    from prometheus import PrometheusServer

    server = PrometheusServer(prometheus_blocks, tmp_path / "prometheus")
    yield server
    server.stop()


def record(path: Path, journal: Path, out: Path, *args: str, **options) -> subprocess.CompletedProcess:
    """`playbook run PATH --journal JOURNAL -o OUT ARGS...` in OUT's directory."""
    options.setdefault("cwd", out.parent)
    return playbook_run(str(path), "--journal", str(journal), "-o", str(out), *args, **options)


def replay_run(path: Path, journal: Path, out: Path, *args: str, **options) -> subprocess.CompletedProcess:
    """`playbook run PATH --replay JOURNAL -o OUT ARGS...` in OUT's directory."""
    options.setdefault("cwd", out.parent)
    return playbook_run(str(path), "--replay", str(journal), "-o", str(out), *args, **options)


def report(journal: Path, fmt: str = "json") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(playbook_bin()), "report", str(journal), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def report_json(journal: Path) -> dict:
    proc = report(journal, "json")
    assert proc.stdout, f"`playbook report` wrote nothing (exit {proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def records(journal: Path) -> list[dict]:
    """Every line of a journal, each of which must be a complete JSON record."""
    text = journal.read_text()
    assert text.endswith("\n"), f"the last line of {journal} is not complete: {text[-200:]!r}"
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# Times and durations differ from one run to the next; everything else a reader sees must not.
VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "<time>"),
    (re.compile(r"(?m)^\d\d:\d\d:\d\d(?=\s)"), "<time>"),
    (re.compile(r"(<td[^>]*>)\d\d:\d\d:\d\d</td>"), r"\1<time></td>"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:µs|ms|s)\b"), "<duration>"),
    (re.compile(r"\b\d+m\d\ds\b"), "<duration>"),
]


def steady(value):
    """`value` (an output's data, recursively) with times of day and durations masked."""
    if isinstance(value, str):
        for pattern, mask in VOLATILE:
            value = pattern.sub(mask, value)
        return value
    if isinstance(value, list):
        return [steady(v) for v in value]
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items()}
    return value


def seen(nb) -> list[list]:
    """What a reader sees of each code cell's outputs, times and durations masked, display ids
    and execution counts left out. A command's stdout and stderr are each compared whole: the
    journal keeps the two streams, not how a live run happened to interleave them."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        streams: dict[str, str] = {}
        for o in cell.outputs:
            if o.output_type == "stream":
                streams[o.name] = streams.get(o.name, "") + o.text
        shown = [("streams", {name: steady(text) for name, text in sorted(streams.items())})]
        for o in cell.outputs:
            if o.output_type == "stream":
                continue
            elif o.output_type == "error":
                shown.append(("error", o.ename, steady(o.evalue)))
            else:
                shown.append((o.output_type, steady(dict(o.data))))
        cells.append(shown)
    return cells


def assert_same_outputs(recorded, replayed) -> None:
    a, b = seen(recorded), seen(replayed)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, (
            f"code cell {i} shows something else on replay:\n"
            f"recorded: {x!r:.3000}\nreplayed: {y!r:.3000}"
        )


def texts(nb) -> list[str]:
    """The text/plain of every display output of a notebook."""
    return [
        o.data.get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "data" in o
    ]


def with_parameters(name: str, **values: str):
    """notebooks/NAME.ipynb with `param KEY = ...` lines of its parameters cell set to `values`,
    the way papermill would inject them (it has no translator for this kernel's language)."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    [cell] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    for key, value in values.items():
        cell.source, n = re.subn(rf"(?m)^param {key} = .*$", f'param {key} = "{value}"', cell.source)
        assert n == 1, f"no `param {key} = ...` line in the parameters cell of {name}:\n{cell.source}"
    return nb


def parameters(name: str, prometheus) -> dict[str, str]:
    """The parameters that point notebook `name` at `prometheus`."""
    values = {"prometheus": prometheus.url}
    if name == "release-readiness":
        values["ready_url"] = f"{prometheus.url}/-/ready"
    return values


def run_args(name: str, prometheus) -> list[str]:
    args = []
    for key, value in parameters(name, prometheus).items():
        args += ["-p", f"{key}={value}"]
    return args


def cell_error(nb) -> dict | None:
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                return o
    return None


# --- recording and replaying headless ---------------------------------------------------------


def test_the_incident_replays_with_prometheus_stopped(own_prometheus, tmp_path):
    journal = tmp_path / "incident.jsonl"
    recorded_nb = tmp_path / "recorded.ipynb"
    replayed_nb = tmp_path / "replayed.ipynb"
    nb = str(NOTEBOOKS / "incident-5xx.ipynb")
    args = ["-p", f"prometheus={own_prometheus.url}"]

    live = playbook_run(nb, *args, "--journal", str(journal), "-o", str(recorded_nb), cwd=tmp_path)
    assert live.returncode == 1, f"exit {live.returncode}\n{live.stderr}"
    steps = [r["step"] for r in records(journal)]
    assert steps.count("query") >= 8 and steps.count("check") == 2 and steps.count("finding") == 3, steps

    own_prometheus.stop()
    replay = playbook_run(nb, *args, "--replay", str(journal), "-o", str(replayed_nb), cwd=tmp_path)
    assert replay.returncode == live.returncode, f"exit {replay.returncode}\n{replay.stderr}"

    recorded = nbformat.read(recorded_nb, as_version=4)
    replayed = nbformat.read(replayed_nb, as_version=4)
    nbformat.validate(replayed)
    assert_cells_ran(replayed)
    assert_same_outputs(recorded, replayed)
    assert any(t.startswith("✗ FAIL") and "checkout 5xx rate below 1/s" in t for t in texts(replayed))


def test_replay_freezes_now_to_the_recorded_one(own_prometheus, tmp_path):
    journal = tmp_path / "j.jsonl"
    # `window last 30m` ends now; the Prometheus's own `up` series is at the current time.
    path = notebook(
        tmp_path,
        f"source prom prometheus {own_prometheus.url}\nwindow last 30m",
        "query up",
        "query instant up",
        'check "the scrape target is up": up == 0',
    )
    live = record(path, journal, tmp_path / "live.ipynb")
    assert live.returncode == 0, live.stderr
    time.sleep(1.5)
    own_prometheus.stop()
    replay = replay_run(path, journal, tmp_path / "replayed.ipynb")
    assert replay.returncode == 0, replay.stderr
    recorded = nbformat.read(tmp_path / "live.ipynb", as_version=4)
    replayed = nbformat.read(tmp_path / "replayed.ipynb", as_version=4)
    assert_same_outputs(recorded, replayed)


def test_replay_runs_no_command(tmp_path):
    journal = tmp_path / "commands.jsonl"
    path = notebook(
        tmp_path,
        "run touch made-by-run && echo made",
        "greeting = run echo hello; echo oops >&2; exit 3",
        'check "the marker exists": run test -f made-by-run',
    )
    live = record(path, journal, tmp_path / "live.ipynb")
    assert live.returncode == 0, live.stderr
    assert (tmp_path / "made-by-run").exists()
    (tmp_path / "made-by-run").unlink()

    replay = replay_run(path, journal, tmp_path / "replayed.ipynb")
    assert replay.returncode == 0, replay.stderr
    assert not (tmp_path / "made-by-run").exists(), "a command ran on replay"
    recorded = nbformat.read(tmp_path / "live.ipynb", as_version=4)
    replayed = nbformat.read(tmp_path / "replayed.ipynb", as_version=4)
    nbformat.validate(replayed)
    assert_same_outputs(recorded, replayed)
    streams = [o for o in replayed.cells[1].outputs if o.output_type == "stream"]
    assert "".join(o.text for o in streams if o.name == "stdout") == "hello\n"
    assert "".join(o.text for o in streams if o.name == "stderr") == "oops\n"
    assert any("exit 3" in t for t in texts(replayed)), texts(replayed)


@pytest.mark.parametrize(
    "recorded, asked, closest",
    [
        ("run echo one", "run echo two", "echo one"),
        (f"source prom prometheus {{url}}\n{INCIDENT}\nquery {CHECKOUT_5XX}",
         f"source prom prometheus {{url}}\n{INCIDENT}\nquery {CHECKOUT_5XX} > 1",
         CHECKOUT_5XX.replace('"', "")),
    ],
    ids=["run", "query"],
)
def test_a_step_not_recorded_is_an_error_naming_the_closest(prometheus, tmp_path, recorded, asked, closest):
    journal = tmp_path / "j.jsonl"
    first = notebook(tmp_path, recorded.replace("{url}", prometheus.url), name="first.ipynb")
    proc = record(first, journal, tmp_path / "a.ipynb")
    assert proc.returncode == 0, proc.stderr

    second = notebook(
        tmp_path, asked.replace("{url}", prometheus.url), "run touch after-the-error", name="second.ipynb"
    )
    proc = replay_run(second, journal, tmp_path / "b.ipynb")
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    replayed = nbformat.read(tmp_path / "b.ipynb", as_version=4)
    nbformat.validate(replayed)
    error = cell_error(replayed)
    assert error is not None and error.ename == "NotRecorded", error
    # The closest recorded step, as the journal holds it (JSON quotes escaped or not).
    assert "closest" in error.evalue, error.evalue
    hint = error.evalue[error.evalue.index("closest"):].replace('\\"', "").replace('"', "")
    assert closest in hint and "> 1" not in hint and "two" not in hint, error.evalue
    assert not (tmp_path / "after-the-error").exists()


def test_a_changed_line_is_reported_at_that_line(tmp_path):
    journal = tmp_path / "j.jsonl"
    path = notebook(tmp_path, "run echo a", "run exit 3", "run echo c")
    proc = record(path, journal, tmp_path / "o.ipynb")
    assert proc.returncode == 0, proc.stderr
    verified = report_json(journal)
    assert verified["integrity"]["verdict"] == "intact" and verified["breaks"] == [], verified
    assert [c["exit_code"] for c in verified["commands"]] == [0, 3, 0], verified["commands"]

    lines = journal.read_text().splitlines(keepends=True)
    [number] = [i + 1 for i, line in enumerate(lines) if '"code":3' in line]
    lines[number - 1] = lines[number - 1].replace('"code":3', '"code":0')
    journal.write_text("".join(lines))

    changed = report_json(journal)
    assert changed["integrity"] == {"verdict": "broken", "line": number, "text": changed["integrity"]["text"]}
    assert any(f"line {number} was changed" in b for b in changed["breaks"]), changed["breaks"]
    markdown = report(journal, "md").stdout
    assert f"✗ broken at line {number}" in markdown and f"line {number} was changed" in markdown, markdown
    assert "hash chain verified" not in markdown
    html = report(journal, "html").stdout
    assert f"line {number} was changed" in html

    # A changed journal is not replayed: it would show what was not seen.
    proc = replay_run(path, journal, tmp_path / "r.ipynb")
    assert proc.returncode == 2, proc.stderr
    assert "changed" in proc.stderr


def test_a_torn_last_line_is_a_warning_and_the_rest_replays(tmp_path):
    journal = tmp_path / "j.jsonl"
    path = notebook(tmp_path, "run echo a", "run echo b")
    proc = record(path, journal, tmp_path / "o.ipynb")
    assert proc.returncode == 0, proc.stderr
    text = journal.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    journal.write_text(text[: len(text) - len(last) // 2 - 1])  # a crash in the middle of a write

    torn = report_json(journal)
    # The session's end record was the torn line: what is left is honest but truncated.
    assert torn["integrity"]["verdict"] == "truncated" and len(torn["warnings"]) == 1, torn
    assert [c["command"] for c in torn["commands"]] == ["echo a", "echo b"], torn["commands"]
    first = notebook(tmp_path, "run echo a", name="first.ipynb")
    proc = replay_run(first, journal, tmp_path / "r.ipynb")
    assert proc.returncode == 0, proc.stderr


def test_secrets_never_enter_the_journal(tmp_path):
    journal = tmp_path / "j.jsonl"
    value = "s3cr3t-Value-4711"
    path = notebook(
        tmp_path,
        "secret token from env:PLAYBOOK_TEST_TOKEN",
        'run echo "the token is {{token}}"',
        "run printenv PLAYBOOK_TEST_TOKEN",
        'finding low "checked with the token {{token}}"',
    )
    env = {**os.environ, "PLAYBOOK_TEST_TOKEN": value}
    out = tmp_path / "o.ipynb"
    proc = record(path, journal, out, env=env)
    assert proc.returncode == 0, proc.stderr
    text = journal.read_text()
    assert value not in text
    assert value not in out.read_text() and value not in proc.stdout + proc.stderr
    steps = records(journal)
    [secret] = [r for r in steps if r["step"] == "secret"]
    assert secret["input"].get("reference") == "env:PLAYBOOK_TEST_TOKEN", secret
    assert sum(r["step"] == "run" for r in steps) == 2
    assert report_json(journal)["integrity"]["verdict"] == "intact"


# --- the kernel's own journal -----------------------------------------------------------------


def test_a_kernel_journals_under_its_working_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PLAYBOOK_JOURNAL"}
    with started_kernel(env=env, cwd=tmp_path) as (_km, kc):
        run_ok(kc, "run echo hello")
        shown = plain(run_ok(kc, "journal"))
    match = re.search(r"\S*\.playbook/journal/(\d{8}T\d{6}Z)-([0-9a-z]+)\.jsonl", shown)
    assert match, shown
    path = Path(match.group(0))
    if not path.is_absolute():
        path = tmp_path / path
    assert path.resolve().parent == (tmp_path / ".playbook" / "journal").resolve(), shown
    [run] = [r for r in records(path) if r["step"] == "run"]
    assert run["input"]["command"] == "echo hello"
    assert run["result"]["exit"] == {"code": 0}


def test_kill_9_keeps_every_completed_step(own_prometheus, tmp_path):
    journal = tmp_path / "session.jsonl"
    cells = [
        f"source prom prometheus {own_prometheus.url}\n{INCIDENT}",
        'errors = query sum by (code) (rate(http_requests_total{service="checkout",code=~"5.."}[5m]))',
        "disk = run echo completed",
        f'check "checkout 5xx rate below 1/s": {CHECKOUT_5XX} > 1',
        'finding high "checkout failed" evidence errors, disk',
    ]
    env = {**os.environ, "PLAYBOOK_JOURNAL": str(journal)}
    sleeps = {}
    try:
        with started_kernel(env=env, cwd=tmp_path) as (km, kc):
            for cell in cells:
                run_ok(kc, cell)
            assert str(journal) in plain(run_ok(kc, "journal"))
            pid = kernel_pid(km)
            kc.execute("run sleep 30")
            sleeps = wait_for(lambda: sleeps_under(pid), timeout=10)
            assert sleeps, "`run sleep 30` did not start"
            os.kill(pid, signal.SIGKILL)
            km.provisioner.process.wait(timeout=10)
    finally:
        for sleeper in still_running(sleeps):
            os.kill(sleeper, signal.SIGKILL)

    steps = records(journal)
    kinds = [r["step"] for r in steps]
    for kind in ("query", "run", "check", "finding"):
        assert kind in kinds, kinds
    commands = [r["input"]["command"] for r in steps if r["step"] == "run"]
    assert commands == ["echo completed"], "the command cut short is not a completed step"
    assert [r["seq"] for r in steps] == list(range(1, len(steps) + 1))
    verdict = report_json(journal)
    assert verdict["breaks"] == [] and verdict["warnings"] == [], verdict
    # Killed, the session wrote no end record: the journal cannot claim to be whole.
    assert verdict["integrity"]["verdict"] == "truncated", verdict
    assert report(journal).returncode == 3

    own_prometheus.stop()
    path = notebook(tmp_path, *cells)
    out = tmp_path / "replayed.ipynb"
    proc = replay_run(path, journal, out)
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stderr}"
    replayed = nbformat.read(out, as_version=4)
    nbformat.validate(replayed)
    assert_cells_ran(replayed)
    shown = texts(replayed)
    assert any(VEGALITE in o.get("data", {}) for o in replayed.cells[1].outputs), "no chart on replay"
    assert [o.text for o in replayed.cells[2].outputs if o.output_type == "stream"] == ["completed\n"]
    assert any(t.startswith("✗ FAIL") and "checkout 5xx rate below 1/s" in t for t in shown), shown


@pytest.mark.parametrize(
    "cell, kinds",
    [
        ("window last 1h", ["clock", "window"]),
        ('finding info "seen"', ["clock", "finding"]),
        (
            f"source f file {REPO / 'tests' / 'fixtures' / 'incident.om'}\n{INCIDENT}\n"
            "query sum by (instance) (rate(http_requests_total[5m]))",
            ["source", "window", "query"],
        ),
    ],
)
def test_a_cell_replied_to_is_on_disk_when_the_kernel_is_killed_at_once(tmp_path, cell, kinds):
    """Lines are written on the journal's own thread: the reply must still wait for them, clock
    readings queued mid-step and a large query result included."""
    journal = tmp_path / "session.jsonl"
    env = {**os.environ, "PLAYBOOK_JOURNAL": str(journal)}
    with started_kernel(env=env, cwd=tmp_path) as (km, kc):
        msg_id = kc.execute(cell)
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        os.kill(kernel_pid(km), signal.SIGKILL)
        km.provisioner.process.wait(timeout=10)
    assert reply["content"]["status"] == "ok", reply["content"]
    steps = records(journal)
    assert [r["step"] for r in steps if r["step"] in kinds] == kinds, steps
    assert [r["seq"] for r in steps] == list(range(1, len(steps) + 1))


def test_replay_from_a_cell(own_prometheus, tmp_path):
    journal = tmp_path / "j.jsonl"
    cells = [
        f"source prom prometheus {own_prometheus.url}\n{INCIDENT}",
        f"query {CHECKOUT_5XX}",
        "run touch made-by-run && echo made",
    ]
    path = notebook(tmp_path, *cells)
    live = record(path, journal, tmp_path / "live.ipynb")
    assert live.returncode == 0, live.stderr
    (tmp_path / "made-by-run").unlink()
    own_prometheus.stop()
    recorded = nbformat.read(tmp_path / "live.ipynb", as_version=4)

    with started_kernel(cwd=tmp_path) as (_km, kc):
        run_ok(kc, f"replay {journal}")
        for i, cell in enumerate(cells):
            outputs = run_ok(kc, cell)
            shown = [
                steady(m["content"]["data"])
                for m in outputs
                if m["msg_type"] in ("display_data", "execute_result")
            ]
            expected = [steady(dict(o.data)) for o in recorded.cells[i].outputs if "data" in o]
            assert shown == expected, f"cell {i} differs on replay"
        err = run_error(kc, "run echo never-recorded")
        assert err["ename"] == "NotRecorded", err
        assert "touch made-by-run" in err["evalue"], err["evalue"]
    assert not (tmp_path / "made-by-run").exists(), "a command ran on replay"


# --- exit codes, JUnit, reports ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [("release-readiness", 0), ("post-deploy-verification", 1)],
)
def test_playbooks_exit_with_their_verdict(prometheus, tmp_path, name, expected):
    out = tmp_path / f"{name}.out.ipynb"
    junit = tmp_path / "junit.xml"
    journal = tmp_path / "j.jsonl"
    proc = playbook_run(
        str(NOTEBOOKS / f"{name}.ipynb"), *run_args(name, prometheus),
        "-o", str(out), "--junit", str(junit), "--journal", str(journal), cwd=tmp_path,
    )
    assert proc.returncode == expected, f"exit {proc.returncode}\n{proc.stderr}"
    executed = nbformat.read(out, as_version=4)
    nbformat.validate(executed)
    assert_cells_ran(executed)

    checks = [t for t in texts(executed) if t.startswith(("✓ PASS", "✗ FAIL"))]
    checks = [t for t in checks if not t.startswith(("✓ PASS GET", "✗ FAIL GET"))]  # probes
    failed = [t for t in checks if t.startswith("✗ FAIL")]
    root = ET.parse(junit).getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == len(checks) and cases, (len(cases), checks)
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == len(failed) == (0 if expected == 0 else 2), (failures, failed)
    names = " ".join(c.get("name", "") for c in cases)
    if expected:
        assert "checkout 5xx ratio below 1%" in " ".join(c.get("name", "") for c in failures), names

    summary = report_json(journal)
    assert summary["integrity"]["verdict"] == "intact"
    assert len(summary["checks"]) == len(checks)
    assert sum(c["passed"] is False for c in summary["checks"]) == len(failed)
    assert summary["findings"] and summary["timeline"]
    if name == "release-readiness":
        # The probe, and the check made of one.
        probes = summary["probes"]
        assert len(probes) == 2 and all(p["passed"] is True and p["status"] == 200 for p in probes), probes
    else:
        [rollback] = summary["commands"]
        assert rollback["not_run"] is True and "rollout undo" in rollback["command"], rollback
        assert summary["findings"][0]["severity"] == "high"


def test_an_error_exits_2(tmp_path):
    path = notebook(tmp_path, "run echo fine", 'finding urgent "no such severity"')
    junit = tmp_path / "junit.xml"
    proc = playbook_run(str(path), "-o", str(tmp_path / "o.ipynb"), "--junit", str(junit), cwd=tmp_path)
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    nbformat.validate(nbformat.read(tmp_path / "o.ipynb", as_version=4))


def test_the_report_reads_as_a_postmortem(prometheus, tmp_path):
    journal = tmp_path / "j.jsonl"
    proc = playbook_run(
        str(NOTEBOOKS / "incident-5xx.ipynb"), *run_args("incident-5xx", prometheus),
        "-o", str(tmp_path / "o.ipynb"), "--journal", str(journal), cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    markdown = report(journal, "md")
    assert markdown.returncode == 0, markdown.stderr
    md = markdown.stdout
    for heading in ("## Findings", "## Checks", "## Queries", "## Timeline"):
        assert heading in md, md
    assert "✓ signed and intact" in md
    assert md.index("**HIGH**") < md.index("**MEDIUM**") < md.index("**INFO**"), md
    assert "✗ FAIL" in md and "✓ PASS" in md
    html = report(journal, "html").stdout
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "<link" not in html
    summary = report_json(journal)
    # Every record is a step but the session's end record.
    assert summary["steps"] == len(records(journal)) - 1 and records(journal)[-1]["step"] == "end"
    assert {q["source"] for q in summary["queries"]} == {"prom"}
    assert all(q["series"] is not None for q in summary["queries"])


# --- the notebooks through Jupyter clients ----------------------------------------------------


def check_playbook_outputs(name: str, nb) -> None:
    assert_cells_ran(nb)
    shown = texts(nb)
    passed = [t for t in shown if t.startswith("✓ PASS")]
    failed = [t for t in shown if t.startswith("✗ FAIL")]
    if name == "release-readiness":
        assert not failed and len(passed) >= 6, shown  # five checks and the probe
    else:
        assert any("checkout 5xx ratio below 1%" in t for t in failed), shown
    charts = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if VEGALITE in o.get("data", {})
    ]
    assert len(charts) >= 3


@pytest.mark.parametrize("name", ["release-readiness", "post-deploy-verification"])
def test_new_notebooks_with_nbclient(prometheus, tmp_path, name):
    from nbclient import NotebookClient

    nb = with_parameters(name, **parameters(name, prometheus))
    client = NotebookClient(
        nb, kernel_name=KERNEL_NAME, timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    nbformat.validate(nb)
    check_playbook_outputs(name, nb)


@pytest.mark.parametrize("name", ["release-readiness", "post-deploy-verification"])
def test_new_notebooks_with_papermill(prometheus, tmp_path, name):
    import papermill

    source = tmp_path / f"{name}.ipynb"
    nbformat.write(with_parameters(name, **parameters(name, prometheus)), source)
    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(source), str(out), kernel_name=KERNEL_NAME, cwd=str(tmp_path),
        progress_bar=False, execution_timeout=60,
    )
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill.exception is not True
    nbformat.validate(nb)
    check_playbook_outputs(name, nb)


# --- the journals shipped with the notebooks --------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_journals_replay_with_no_server(tmp_path, name):
    journal = JOURNALS / f"{name}.jsonl"
    assert journal.is_file(), f"{journal} is missing"
    verdict = report_json(journal)
    # Recorded before journals were signed: they read, and claim nothing.
    assert verdict["integrity"]["verdict"] == "unsigned" and verdict["warnings"] == [], verdict
    # The defaults of the parameters cell, as shipped: nothing listens there in this test, or
    # if something does, replay does not ask it.
    out = tmp_path / f"{name}.out.ipynb"
    proc = replay_run(NOTEBOOKS / f"{name}.ipynb", journal, out)
    assert proc.returncode == SHIPPED[name], f"exit {proc.returncode}\n{proc.stderr}"
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert_cells_ran(nb)
    shown = texts(nb)
    assert any(t.startswith(("✓ PASS", "✗ FAIL")) for t in shown), shown


def test_shipped_journals_match_their_notebooks_live(prometheus, tmp_path):
    """Each shipped journal replays to what the notebook shows live against the fixture."""
    for name in sorted(SHIPPED):
        live_out = tmp_path / f"{name}.live.ipynb"
        replay_out = tmp_path / f"{name}.replay.ipynb"
        live = playbook_run(
            str(NOTEBOOKS / f"{name}.ipynb"), *run_args(name, prometheus), "-o", str(live_out), cwd=tmp_path
        )
        replay = playbook_run(
            str(NOTEBOOKS / f"{name}.ipynb"), "--replay", str(JOURNALS / f"{name}.jsonl"),
            "-o", str(replay_out), cwd=tmp_path,
        )
        assert live.returncode == replay.returncode == SHIPPED[name], (name, live.stderr, replay.stderr)
        a = nbformat.read(live_out, as_version=4)
        b = nbformat.read(replay_out, as_version=4)
        # The source line names the server; the probe its URL and latency. The rest is equal.
        unify = lambda s: re.sub(r"http://127\.0\.0\.1:\d+", "http://PROMETHEUS", s)  # noqa: E731
        a_seen = json.loads(unify(json.dumps(seen(a))))
        b_seen = json.loads(unify(json.dumps(seen(b))))
        assert a_seen == b_seen, name
