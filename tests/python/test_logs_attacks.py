"""What a log result claims, attacked: a journal's `logs` record forged, cut or made absurd, and a
VictoriaLogs server whose `/select/logsql/hits` answer (the volume chart and the count of every
match) is hostile.

The journal's signing, as README.md and src/journal describe it: every line is signed with the
user's Ed25519 key, which lives in their configuration folder (`$XDG_CONFIG_HOME/playbook/
journal-key`, 0600) or in `PLAYBOOK_JOURNAL_KEY`, never beside the journal. So a forger who can
edit a journal cannot sign with the key the reader trusts: what they can do is leave the
signatures as they were (the journal is `broken`, and refused), strip them (`unsigned`) or sign
with a key of their own (`signed by an unknown key`); the last two are replayed, saying what
they are worth. The absurd volumes below are signed with a forger's own key, the strongest
forgery there is without the user's key: replay must then neither panic nor hang, and must give
a clear error or a bounded chart whose figures add up.

What a user checks, here: the verdict and the line it names, the exit status, whether a forged
figure is shown, the chart's total against its bars, and the size of what a cell shows. Each
user is a configuration folder of its own (XDG_CONFIG_HOME), so no test touches a real key.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from http_stub import StubReply, StubServer
from kernel_client import (
    REPO,
    bundles,
    errors,
    execute,
    get_reply,
    kernel_pid,
    notebook,
    plain,
    playbook_bin,
    playbook_run,
    run_ok,
    started_kernel,
)

LOGS = REPO / "tests" / "fixtures" / "incident-logs.jsonl"
WINDOW = "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z"
START = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
CELLS = [
    f"source app logs {LOGS} format json label service\n{WINDOW}",
    'errors = logs {service="checkout"} | json | level="error" limit 3',
    "run echo next",
]
VEGALITE = "application/vnd.vegalite.v5+json"
# README: "at most about 60 bars" a level; a window that does not start on a whole step adds one.
MOST_BARS = 61
# What a forger makes of the count of the first bar (8 lines) and of every match (180).
FORGED_BAR, FORGED_MATCHED = 8000, 180 - 8 + 8000


def user(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a user whose configuration folder (and so journal key) is their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_JOURNAL")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / name)
    return env


def compact(record: dict) -> str:
    """A record as the kernel writes it: its fields in order, compact, non-ASCII as is."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def unsigned(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("signer", "sig")}


def chained(records: list[dict], key: Ed25519PrivateKey | None = None) -> str:
    """The records as a journal whose hashes are all right again: each `prev` the SHA-256 of the
    line before, the end record's `last` and key recomputed. With `key`, every line is signed
    again with it; without, each keeps the signature it has (none once `unsigned`)."""
    lines, prev = [], "0" * 64
    for record in records:
        record = {**record, "prev": prev}
        if record["step"] == "end":
            record["input"] = {**record["input"], "last": prev}
            record["key"] = sha(json.dumps(record["input"], sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        if key is not None:
            record = unsigned(record)
            record["signer"] = key.public_key().public_bytes_raw().hex()
            record["sig"] = key.sign(hashlib.sha256(compact(record).encode()).digest()).hex()
        lines.append(compact(record))
        prev = sha(lines[-1])
    return "".join(line + "\n" for line in lines)


def logs_at(records: list[dict]) -> int:
    """Where the one `logs` record is, counted from 0."""
    [at] = [n for n, record in enumerate(records) if record["step"] == "logs"]
    return at


def replay(tmp_path: Path, journal: Path, env: dict[str, str], *args: str):
    """`playbook run --replay` of CELLS, bounded in time: (the process, the executed notebook)."""
    path = notebook(tmp_path, *CELLS, name="replay.ipynb")
    out = tmp_path / "replayed.ipynb"
    proc = playbook_run(str(path), "--replay", str(journal), "-o", str(out), *args, env=env, timeout=30)
    assert "panicked" not in proc.stderr and "InternalError" not in proc.stderr, proc.stderr[-2000:]
    return proc, out


def report(journal: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(playbook_bin()), "report", str(journal), *args], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL, env=env)


def chart_total(chart: dict) -> int:
    """The figure a volume chart states: `log lines per STEP, by level: N lines over ...`."""
    found = re.search(r"by level: (\d+) lines over ", chart["text/plain"])
    assert found, chart["text/plain"]
    return int(found.group(1))


def assert_honest_and_bounded(chart: dict) -> None:
    """What a volume chart must keep whatever it was given: the total it states is the sum of
    the bars it draws, and it draws at most about 60 bars a level."""
    rows = chart[VEGALITE]["data"]["values"]
    assert chart_total(chart) == sum(row["n"] for row in rows), (chart["text/plain"], rows[:5])
    levels = {row["level"] for row in rows}
    assert len(rows) <= MOST_BARS * len(levels), f"{len(rows)} bars of {len(levels)} level(s)"


# --- the journal ------------------------------------------------------------------------------


@dataclass
class Recorded:
    env: dict[str, str]  # alice's
    key: Ed25519PrivateKey  # alice's, as her kernel signs with it
    lines: list[str]  # the journal as written
    records: list[dict]

    def with_logs_record(self, record: dict) -> str:
        """The journal with the logs line replaced by `record`, every other line as written."""
        at = logs_at(self.records)
        return "".join(self.lines[:at]) + compact(record) + "\n" + "".join(self.lines[at + 1 :])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Recorded:
    """CELLS run once by alice with a journal."""
    tmp = tmp_path_factory.mktemp("recorded")
    alice = user(tmp, "alice")
    journal = tmp / "j.jsonl"
    proc = playbook_run(str(notebook(tmp, *CELLS)), "--journal", str(journal), "-o", str(tmp / "live.ipynb"), env=alice)
    assert proc.returncode == 0, proc.stderr
    lines = journal.read_text().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    volume = records[logs_at(records)]["result"]["volume"]
    # The fixture's design: 180 checkout errors, 8 in the first two-minute bar.
    assert records[logs_at(records)]["result"]["matched"] == 180 == sum(b["count"] for b in volume["bars"])
    assert volume["bars"][0]["count"] == 8 and records[-1]["step"] == "end"
    seed = (tmp / "alice" / "playbook" / "journal-key").read_text().strip()
    return Recorded(alice, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)), lines, records)


def inflated(records: list[dict]) -> list[dict]:
    """The logs record with its first bar and its count of every match inflated, consistently."""
    records = copy.deepcopy(records)
    result = records[logs_at(records)]["result"]
    result["volume"]["bars"][0]["count"] = FORGED_BAR
    result["matched"] = FORGED_MATCHED
    return records


def forged_figure_in(text: str) -> bool:
    """Whether `text` shows the forged count of every match, or the forged bar's title."""
    return f"{FORGED_MATCHED} lines" in text or f": {FORGED_BAR} error" in text


@pytest.mark.parametrize("cover", ["signature left as it was", "its signature removed", "every hash made right again"])
def test_a_volume_forged_without_the_key_is_refused_naming_its_line(recorded, tmp_path, cover):
    forged = inflated(recorded.records)
    line = logs_at(forged) + 1
    journal = tmp_path / "forged.jsonl"
    journal.write_text({
        "signature left as it was": lambda: recorded.with_logs_record(forged[line - 1]),
        "its signature removed": lambda: recorded.with_logs_record(unsigned(forged[line - 1])),
        # What a forger without the key can do best to hide an edit.
        "every hash made right again": lambda: chained(forged),
    }[cover]())

    proc, out = replay(tmp_path, journal, recorded.env)
    assert proc.returncode == 2 and f"broken at line {line}" in proc.stderr, proc.stderr
    assert not out.exists(), "a refused journal wrote an executed notebook"
    assert not forged_figure_in(proc.stdout + proc.stderr), proc.stdout + proc.stderr
    verdict = report(journal, recorded.env, "--format", "json")
    integrity = json.loads(verdict.stdout)["integrity"]
    assert (verdict.returncode, integrity["verdict"], integrity["line"]) == (1, "broken", line), integrity


def test_the_report_flags_the_forged_logs_record_where_it_shows_it(recorded, tmp_path):
    journal = tmp_path / "forged.jsonl"
    journal.write_text(recorded.with_logs_record(inflated(recorded.records)[logs_at(recorded.records)]))
    shown = report(journal, recorded.env)
    line = logs_at(recorded.records) + 1
    assert shown.returncode == 1 and f"broken at line {line}" in shown.stdout, shown.stdout
    rows = [row for row in shown.stdout.splitlines() if forged_figure_in(row)]
    assert rows and all("✗" in row or "changed" in row for row in rows), rows


@pytest.mark.parametrize("forger, verdict", [
    ("signs with a key of their own", "signed by an unknown key"),
    ("strips every signature", "unsigned"),
])
def test_a_volume_forged_and_chained_again_replays_only_under_its_verdict(recorded, tmp_path, forger, verdict):
    journal = tmp_path / "forged.jsonl"
    forged = inflated(recorded.records)
    if forger == "signs with a key of their own":
        journal.write_text(chained(forged, Ed25519PrivateKey.generate()))
    else:
        journal.write_text(chained([unsigned(record) for record in forged]))
    alices_key = tmp_path / "alice.pub"
    alices_key.write_text(recorded.key.public_key().public_bytes_raw().hex())
    # Even given alice's public key, the forged lines are not hers.
    proc, _ = replay(tmp_path, journal, recorded.env, "--public-key", str(alices_key))
    assert proc.returncode == 0, proc.stderr
    assert verdict in proc.stderr and "signed and intact" not in proc.stderr, proc.stderr
    assert f"{FORGED_MATCHED} lines" in proc.stdout, "the forgery is shown, under its verdict"


def test_in_a_kernel_replaying_the_forged_journal_fails_naming_its_line_and_the_kernel_serves_on(recorded, tmp_path):
    journal = tmp_path / "forged.jsonl"
    journal.write_text(recorded.with_logs_record(inflated(recorded.records)[logs_at(recorded.records)]))
    with started_kernel(env=recorded.env, cwd=tmp_path) as (_, kc):
        reply, outputs = execute(kc, f"replay {journal}")
        [err] = errors(outputs)
        line = logs_at(recorded.records) + 1
        assert reply["content"]["status"] == "error" and f"broken at line {line}" in err["evalue"], err
        shown = plain(run_ok(kc, CELLS[0] + "\n" + CELLS[1]))
        assert not forged_figure_in(shown) and "180 lines" in shown, "the next cell reads the file, not the forgery"


def test_a_journal_cut_in_the_middle_of_the_logs_record_shows_no_figure_of_it(recorded, tmp_path):
    # A crash while the logs record was being written: half of it reached the disk.
    at = logs_at(recorded.records)
    journal = tmp_path / "cut.jsonl"
    journal.write_text("".join(recorded.lines[:at]) + recorded.lines[at][: len(recorded.lines[at]) // 2])

    proc, out = replay(tmp_path, journal, recorded.env)
    assert proc.returncode == 2, proc.stderr
    assert f"line {at + 1} is incomplete" in proc.stderr and "✗ truncated" in proc.stderr, proc.stderr
    assert "NotRecorded" in proc.stderr and "180 lines" not in proc.stdout, proc.stdout
    logs_cell = nbformat.read(out, as_version=4).cells[1]
    assert [o.output_type for o in logs_cell.outputs] == ["error"], logs_cell.outputs
    assert report(journal, recorded.env).returncode == 3


def absurd(change):
    """A copy of the records with the logs record's result changed by `change`."""
    def forge(records):
        records = copy.deepcopy(records)
        change(records[logs_at(records)]["result"])
        return records
    return forge


def set_bar(field, value):
    return absurd(lambda result: result["volume"]["bars"][0].update({field: value}))


def set_counts(value):
    def change(result):
        for bar in result["volume"]["bars"][:2]:
            bar["count"] = value
    return absurd(change)


def bars_in_the_window(count: int):
    """`count` bars of one line each, at distinct times inside the window."""
    start_ns = int(START.timestamp()) * 10**9
    return absurd(lambda result: result["volume"].update(bars=[
        {"at_ns": start_ns + n * 7_200 * 10**9 // count, "count": 1, "level": "error"} for n in range(count)]))


ABSURD = [
    pytest.param(set_bar("count", -5), id="a negative count"),
    pytest.param(absurd(lambda result: result["volume"].update(step_ns=0)), id="a step of 0"),
    pytest.param(absurd(lambda result: result["volume"].update(step_ns=-120 * 10**9)), id="a negative step"),
    pytest.param(set_bar("level", "bogus"), id="a level no program writes"),
    pytest.param(set_bar("at_ns", -9 * 10**18), id="a bar 300 years before the window"),
    pytest.param(set_counts(2**64 - 1), id="counts that add up past 2^64"),
    pytest.param(bars_in_the_window(20_000), id="20,000 bars"),
]


@pytest.mark.parametrize("forge", ABSURD)
def test_an_absurd_volume_signed_by_a_forger_is_a_clear_error_or_a_bounded_honest_chart(recorded, tmp_path, forge):
    journal = tmp_path / "absurd.jsonl"
    journal.write_text(chained(forge(recorded.records), Ed25519PrivateKey.generate()))
    started = time.monotonic()
    proc, out = replay(tmp_path, journal, recorded.env)
    assert time.monotonic() - started < 10
    assert "signed by an unknown key" in proc.stderr, proc.stderr
    if proc.returncode != 0:
        # Journals are read leniently (README): the logs cell fails, saying what does not fit.
        [err] = [o for o in nbformat.read(out, as_version=4).cells[1].outputs if o.output_type == "error"]
        assert proc.returncode == 2 and "volume" in err.evalue, err.evalue
        return
    assert out.stat().st_size < 1_000_000, f"the executed notebook has {out.stat().st_size} bytes"
    shown = [o.get("data", {}) for o in nbformat.read(out, as_version=4).cells[1].outputs]
    for chart in (b for b in shown if VEGALITE in b):
        assert_honest_and_bounded(chart)
    assert shown[-1]["text/plain"].startswith("180 lines · "), "the lines are shown as recorded"


def test_a_journal_of_a_billion_bars_is_refused_at_the_file_cap(recorded, tmp_path):
    # A billion bars would make a journal of about 60 GB, past the 1 GiB a journal may have:
    # the same refusal is shown here with a cap of 1 MB and a 1.1 MB journal of 20,000 bars.
    journal = tmp_path / "huge.jsonl"
    journal.write_text(chained(bars_in_the_window(20_000)(recorded.records), Ed25519PrivateKey.generate()))
    assert journal.stat().st_size > 1_000_000
    proc, out = replay(tmp_path, journal, {**recorded.env, "PLAYBOOK_MAX_FILE_BYTES": "1000000"})
    assert proc.returncode == 2 and not out.exists(), proc.stderr
    assert f"cannot read the journal {journal}" in proc.stderr and "PLAYBOOK_MAX_FILE_BYTES" in proc.stderr, proc.stderr


def test_an_old_journal_without_volume_replays_its_lines_and_draws_no_chart(recorded, tmp_path):
    # Kernels wrote signed logs records without `volume` between the first logs commit and the
    # volume chart: the same record without the field, signed with the key of the user who ran
    # it, is what alice's kernel wrote then.
    old = copy.deepcopy(recorded.records)
    del old[logs_at(old)]["result"]["volume"]
    journal = tmp_path / "old.jsonl"
    journal.write_text(chained(old, recorded.key))

    proc, out = replay(tmp_path, journal, recorded.env)
    assert proc.returncode == 0 and "✓ signed and intact" in proc.stderr, proc.stderr
    [shown] = [o.get("data", {}) for o in nbformat.read(out, as_version=4).cells[1].outputs]
    assert "image/svg+xml" not in shown and VEGALITE not in shown, "a chart drawn from no volume"
    table = shown["text/plain"].split("\n")
    assert table[0].startswith("180 lines · ") and "the newest 3 shown, 177 more not" in table[0], table[0]
    assert len(table) == 4 and "log lines per" not in proc.stdout, proc.stdout


# --- a hostile VictoriaLogs -------------------------------------------------------------------


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Two lines, newest first, as /select/logsql/query writes them; and hits that count them.
LINES = "".join(json.dumps({"_time": rfc3339(START + timedelta(minutes=m)), "_msg": f"refused {m}", "level": "error"}) + "\n"
                for m in (10, 5))


def hits(*buckets: tuple[list[str], list]) -> dict:
    return {"hits": [{"fields": {"level": "error"}, "timestamps": ts, "values": values, "total": sum(values)}
                     for ts, values in buckets]}


HONEST = hits(([rfc3339(START + timedelta(minutes=4)), rfc3339(START + timedelta(minutes=10))], [1, 1]))


class HostileVictoriaLogs:
    """A VictoriaLogs stand-in: the lines of LINES, and whatever `hits` holds (a StubReply) for
    /select/logsql/hits; `AUTH` in a text body is replaced by the request's Authorization
    header, echoed back as a hostile or careless server might."""

    def __init__(self) -> None:
        self.hits = StubReply(body=HONEST)
        self.server = StubServer(self.respond)
        self.url = self.server.url

    def respond(self, request) -> StubReply:
        if request.path == "/select/logsql/query":
            return StubReply(body=LINES, content_type="application/stream+json")
        if request.path == "/select/logsql/hits":
            reply = self.hits
            if isinstance(reply.body, str):
                reply = StubReply(reply.status, reply.body.replace("AUTH", request.headers.get("authorization", "")),
                                  reply.content_type, reply.delay)
            return reply
        return StubReply(404, "not found", "text/plain")


@pytest.fixture
def hostile(tmp_path):
    """(kernel client, the stand-in, its token) with `vl` declared over the incident window."""
    token = "tok-" + os.urandom(8).hex()
    (tmp_path / "token").write_text(token)
    stub = HostileVictoriaLogs()
    try:
        with started_kernel() as (_, kc):
            run_ok(kc, f"source vl victorialogs {stub.url} token file:{tmp_path / 'token'} timeout 1s\n{WINDOW}")
            yield kc, stub, token
    finally:
        stub.server.stop()


def attacked(kc, stub, reply: StubReply, token: str):
    """`logs @vl *` answered by `reply`, within a bound: (its execute_reply, its outputs); then
    the same query answered honestly must work in the same kernel."""
    stub.hits = reply
    result = execute(kc, "logs @vl *", timeout=10)
    assert token not in json.dumps([m["content"] for m in result[1]]), "the token is shown"
    stub.hits = StubReply(body=HONEST)
    outputs = run_ok(kc, "logs @vl *", timeout=10)
    assert bundles(outputs)[-1]["text/plain"].startswith("2 lines · "), "the kernel does not serve on"
    return result


NOT_HITS = "the answer of /select/logsql/hits is not what VictoriaLogs sends: "


@pytest.mark.parametrize("answer, says", [
    (StubReply(body=hits(([rfc3339(START)], [-3]))), [NOT_HITS]),
    (StubReply(body=hits(([rfc3339(START)], [1.5]))), [NOT_HITS]),
    # The two below echo the token: the error shows what the server said, the token masked.
    (StubReply(body='{"hits": [{"fields": "AUTH"'), [NOT_HITS + '{"hits": [{"fields": "Bearer ••••••"']),
    (StubReply(500, "internal error for AUTH", "text/plain"), ["HTTP 500", "internal error for Bearer ••••••"]),
], ids=["negative count", "non-integer count", "malformed JSON", "HTTP 500"])
def test_a_hostile_hits_answer_is_a_clear_error_and_the_kernel_serves_on(hostile, answer, says):
    kc, stub, token = hostile
    reply, outputs = attacked(kc, stub, answer, token)
    [err] = errors(outputs)
    assert reply["content"]["status"] == "error" and err["ename"] == "SourceError", err
    assert all(part in err["evalue"] for part in says), err["evalue"]
    assert not bundles(outputs), "no chart and no lines beside the error"


def test_a_hits_answer_slower_than_the_source_timeout_is_a_timeout_in_time(hostile):
    kc, stub, token = hostile
    started = time.monotonic()
    reply, outputs = attacked(kc, stub, StubReply(body=HONEST, delay=30), token)
    [err] = errors(outputs)
    assert err["ename"] == "SourceTimeout" and "1.00 s" in err["evalue"], err
    assert time.monotonic() - started < 6, "the timeout of 1 s was not kept"


def test_a_million_hits_buckets_in_the_window_make_a_bounded_chart_of_what_the_server_said(hostile):
    kc, stub, token = hostile
    # A million buckets, each at a time of its own in the window (7 ms apart), one line each.
    stamps = [f"2026-11-20T{10 + ms // 3_600_000:02}:{ms // 60_000 % 60:02}:{ms // 1000 % 60:02}.{ms % 1000:03}Z"
              for ms in range(0, 7_000_000, 7)]
    body = json.dumps(hits((stamps, [1] * len(stamps))))
    started = time.monotonic()
    reply, outputs = attacked(kc, stub, StubReply(body=body), token)
    assert reply["content"]["status"] == "ok", errors(outputs)
    assert time.monotonic() - started < 20
    chart, table = bundles(outputs)
    assert_honest_and_bounded(chart)
    assert chart_total(chart) == 1_000_000 and table["text/plain"].startswith("1000000 lines · "), table["text/plain"][:200]
    assert len(json.dumps(bundles(outputs))) < 1_000_000


def test_hits_outside_the_window_are_not_counted_as_matched_in_it(hostile):
    kc, stub, token = hostile
    later = START + timedelta(days=365)
    outside = [rfc3339(later + timedelta(minutes=2 * n)) for n in range(5_000)]
    answer = {"hits": HONEST["hits"] + hits((outside, [1] * len(outside)))["hits"]}
    reply, outputs = attacked(kc, stub, StubReply(body=answer), token)
    if reply["content"]["status"] == "error":
        [err] = errors(outputs)
        assert err["ename"] == "SourceError" and "hits" in err["evalue"], err
        return
    chart, table = bundles(outputs)
    assert table["text/plain"].startswith("2 lines · "), table["text/plain"].split("\n")[0]
    assert_honest_and_bounded(chart)
    assert chart_total(chart) == 2


def test_hits_counts_that_overflow_are_not_shown_as_a_small_total(hostile):
    kc, stub, token = hostile
    stamps = [rfc3339(START + timedelta(minutes=2 * n)) for n in range(3)]
    reply, outputs = attacked(kc, stub, StubReply(body=hits((stamps, [2**63, 2**63, 3]))), token)
    if reply["content"]["status"] == "error":
        [err] = errors(outputs)
        assert err["ename"] == "SourceError" and "hits" in err["evalue"], err
        return
    chart, table = bundles(outputs)
    shown = int(table["text/plain"].split(" ", 1)[0])
    assert shown >= 2**63, table["text/plain"].split("\n")[0]
    assert_honest_and_bounded(chart)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_declaring_huge_logs_is_interrupted_at_once_and_declares_nothing(tmp_path):
    # 4 GiB of JSON lines once decompressed, from 256 gzip members of the same 16 MiB: reading
    # them takes many seconds on any machine.
    line = b'{"ts": "2026-11-20T10:30:00Z", "level": "info", "msg": "' + b"x" * 180 + b'"}\n'
    member = gzip.compress(line * ((16 << 20) // len(line)), compresslevel=1)
    huge = tmp_path / "huge.jsonl.gz"
    huge.write_bytes(member * 256)
    env = {**os.environ, "PLAYBOOK_MAX_FILE_BYTES": str(8 << 30)}
    with started_kernel(env=env, cwd=tmp_path) as (km, kc):
        msg_id = kc.execute(f"source huge logs {huge} format json")
        time.sleep(1.0)
        km.interrupt_kernel()
        asked = time.monotonic()
        reply = get_reply(kc, msg_id, timeout=10)
        assert time.monotonic() - asked < 2, "the interrupt is answered at once"
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted", reply
        # The reading stopped too: the kernel no longer spends CPU on the file.
        pid = kernel_pid(km)
        before = cpu_seconds(pid)
        time.sleep(1.0)
        assert cpu_seconds(pid) - before < 0.3, "the reading thread went on after the interrupt"
        # Nothing was declared, and the kernel serves on.
        reply, outputs = execute(kc, "logs @huge {filename=~\".+\"}")
        [err] = errors(outputs)
        assert err["ename"] == "NoSource" and "huge" in err["evalue"], err
        run_ok(kc, f"source app logs {LOGS} format json label service\n{WINDOW}")
