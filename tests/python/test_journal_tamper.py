"""The journal's integrity claim, attacked: what `playbook report` and `playbook run --replay`
say of a journal after each kind of tampering, and record-then-replay giving the same bytes.

The contract under test:
- every line is signed (Ed25519) with the user's key, made on first use in the user's
  configuration folder (`$XDG_CONFIG_HOME/playbook/journal-key`, 0600), or given by
  `PLAYBOOK_JOURNAL_KEY` (64 hex digits); each session ends with an `end` record;
- `playbook report` states exactly one verdict, with its exit status: 0 signed and intact (by a
  key the reader trusts: their own, or `--public-key FILE`), 1 broken at line N, 3 truncated,
  4 unsigned, 5 signed by an unknown key; `--replay` states the same verdict and refuses only a
  broken journal;
- a torn last line is moved aside before anything is appended; journals are created 0600;
- a replay shows, byte for byte, what the live run showed.

Each user here is a configuration folder of its own (XDG_CONFIG_HOME), so no test touches the
real user's key.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from http_stub import StubReply, StubServer
from kernel_client import kernel_pid, notebook, playbook_bin, playbook_run, run_ok, started_kernel

CELLS = [
    "a = run echo alpha",
    "b = run printf 'beta\\n'; exit 3",
    'finding medium "beta exits 3" evidence b',
    'check "alpha ran": run true',
    "c = run echo gamma",
]
INTACT, BROKEN, UNREADABLE, TRUNCATED, UNSIGNED, UNKNOWN_KEY = 0, 1, 2, 3, 4, 5


def user(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a user whose configuration folder (and so journal key) is their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_JOURNAL")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / name)
    return env


def record(tmp_path: Path, env: dict[str, str], cells=CELLS, name: str = "j.jsonl") -> Path:
    journal = tmp_path / name
    path = notebook(tmp_path, *cells)
    proc = playbook_run(str(path), "--journal", str(journal), "-o", str(tmp_path / "live.ipynb"), env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return journal


def report(journal: Path, env: dict[str, str], *args: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [str(playbook_bin()), "report", str(journal), "--format", "json", *args],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=env,
    )
    assert proc.stdout, f"`playbook report` wrote nothing (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def replay(tmp_path: Path, journal: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    path = notebook(tmp_path, *CELLS, name="replay.ipynb")
    return playbook_run(str(path), "--replay", str(journal), "-o", str(tmp_path / "r.ipynb"), *args, env=env)


def lines_of(journal: Path) -> list[str]:
    return journal.read_text().splitlines(keepends=True)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_key(value) -> str:
    return sha(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def line_json(record: dict) -> str:
    """A record as the kernel writes it: its fields in order, compact, non-ASCII as is."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def rechain(lines: list[str], sign=None) -> list[str]:
    """Every line's `prev` recomputed, as a forger who edited a line would; with `sign` (a
    private key), every line signed again with it; without, the signatures are left as they were."""
    out, prev = [], "0" * 64
    for line in lines:
        record = json.loads(line)
        record["prev"] = prev
        record["key"] = canonical_key(record["input"])
        if sign is not None:
            record.pop("sig", None)
            record["signer"] = sign.public_key().public_bytes_raw().hex()
            record["sig"] = sign.sign(hashlib.sha256(line_json(record).encode()).digest()).hex()
        text = line_json(record) + "\n"
        out.append(text)
        prev = sha(text[:-1])
    return out


def forged_finding(after: str, seq: int) -> str:
    """A critical finding whose `prev` and key are right, appended by someone without the key."""
    entry = {"evidence": [], "severity": "critical", "text": "the database was wiped"}
    record = {"v": 1, "seq": seq, "at": "2026-12-01T00:00:00.000Z", "step": "finding", "key": canonical_key(entry),
              "input": entry, "result": {}, "ms": 0, "prev": sha(after.rstrip("\n"))}
    return line_json(record) + "\n"


def edit_output(lines: list[str]) -> list[str]:
    lines = list(lines)
    [i] = [n for n, line in enumerate(lines) if "gamma" in line]
    lines[i] = lines[i].replace("gamma\\n", "delta\\n")
    return lines


# Each tampering: what it does to the lines, the verdict, its exit status, and the line it names.
TAMPERINGS = {
    "none": (lambda ls: ls, "intact", INTACT, None),
    "edit": (edit_output, "broken", BROKEN, "gamma"),
    "delete": (lambda ls: ls[:1] + ls[2:], "broken", BROKEN, 2),
    "reorder": (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "broken", BROKEN, 2),
    "drop the first line": (lambda ls: ls[1:], "broken", BROKEN, 1),
    "drop the last line": (lambda ls: ls[:-1], "truncated", TRUNCATED, None),
    "drop the last 2 lines": (lambda ls: ls[:-2], "truncated", TRUNCATED, None),
    "drop the last 3 lines": (lambda ls: ls[:-3], "truncated", TRUNCATED, None),
    "forged append with the right hash": (
        lambda ls: ls + [forged_finding(ls[-1], len(ls) + 1)], "broken", BROKEN, "last"),
    "forged append in place of the end record": (
        lambda ls: ls[:-1] + [forged_finding(ls[-2], len(ls))], "broken", BROKEN, "last"),
    "forged append with a copied signature": (
        lambda ls: ls + [forged_finding(ls[-1], len(ls) + 1)[:-2]
                         + ',"signer":"%s","sig":"%s"}\n' % (json.loads(ls[-1])["signer"], json.loads(ls[-1])["sig"])],
        "broken", BROKEN, "last"),
    "full re-chain with recomputed hashes": (lambda ls: rechain(edit_output(ls)), "broken", BROKEN, "gamma"),
    "full re-chain, signatures stripped": (
        lambda ls: rechain([line_json({k: v for k, v in json.loads(l).items() if k not in ("sig", "signer")}) + "\n"
                            for l in edit_output(ls)]),
        "unsigned", UNSIGNED, None),
    "full re-chain, signed again by the forger's key": (
        lambda ls: rechain(edit_output(ls), sign=Ed25519PrivateKey.generate()), "unknown_key", UNKNOWN_KEY, None),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One journal of CELLS by alice: eight records (two readings of the clock), a `cell` record
    after each of the five cells, and the end record."""
    tmp = tmp_path_factory.mktemp("recorded")
    alice = user(tmp, "alice")
    journal = record(tmp, alice)
    return alice, lines_of(journal)


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_each_tampering_gets_its_verdict(recorded, tmp_path, name):
    alice, lines = recorded
    assert len(lines) == 14 and json.loads(lines[-1])["step"] == "end", lines
    # The line an edit of `gamma` breaks: its own signature fails first.
    gamma = 1 + next(n for n, text in enumerate(lines) if "gamma" in text)
    tamper, verdict, code, line = TAMPERINGS[name]
    tampered = tamper(lines)
    journal = tmp_path / "j.jsonl"
    journal.write_text("".join(tampered))
    exit_code, shown = report(journal, alice)
    integrity = shown["integrity"]
    assert (integrity["verdict"], exit_code) == (verdict, code), integrity
    if line is not None:
        assert integrity["line"] == {"last": len(tampered), "gamma": gamma}.get(line, line), integrity
    # Nothing less than a key the reader trusts earns the pass mark, in any format.
    md = subprocess.run([str(playbook_bin()), "report", str(journal)], capture_output=True, text=True,
                        env=alice, timeout=30).stdout
    assert ("✓ signed and intact" in md) == (verdict == "intact"), md
    assert "verified" not in md

    # `--replay` states the same verdict, and refuses only a broken journal.
    proc = replay(tmp_path, journal, alice)
    if verdict == "broken":
        assert proc.returncode == UNREADABLE and f"broken at line {integrity['line']}" in proc.stderr, proc.stderr
        assert not (tmp_path / "r.ipynb").exists()
    else:
        assert integrity["text"] in proc.stderr, proc.stderr


def test_a_journal_signed_by_another_key_is_trusted_only_with_its_public_key(recorded, tmp_path):
    alice, _ = recorded
    bob = user(tmp_path, "bob")
    journal = record(tmp_path, bob)
    bobs_key = tmp_path / "bob" / "playbook" / "journal-key.pub"
    assert bobs_key.is_file()

    exit_code, shown = report(journal, alice)
    assert (shown["integrity"]["verdict"], exit_code) == ("unknown_key", UNKNOWN_KEY), shown["integrity"]
    assert "proves nothing" in shown["integrity"]["text"]
    exit_code, shown = report(journal, alice, "--public-key", str(bobs_key))
    assert (shown["integrity"]["verdict"], exit_code) == ("intact", INTACT), shown["integrity"]
    _, as_bob = report(journal, bob)
    assert as_bob["integrity"]["key_id"] == shown["integrity"]["key_id"]
    assert "signed by an unknown key" in replay(tmp_path, journal, alice).stderr
    assert "signed and intact" in replay(tmp_path, journal, alice, "--public-key", str(bobs_key)).stderr


def test_a_ci_key_from_the_environment_signs_and_verifies(tmp_path):
    ci = user(tmp_path, "ci")
    ci["PLAYBOOK_JOURNAL_KEY"] = "11" * 32
    journal = record(tmp_path, ci)
    assert not (tmp_path / "ci" / "playbook").exists(), "an environment key writes no key file"
    exit_code, shown = report(journal, ci)
    assert (shown["integrity"]["verdict"], exit_code) == ("intact", INTACT), shown["integrity"]
    exit_code, _ = report(journal, user(tmp_path, "reviewer"))
    assert exit_code == UNKNOWN_KEY
    ci["PLAYBOOK_JOURNAL_KEY"] = "not a key"
    proc = subprocess.run([str(playbook_bin()), "report", str(journal)], capture_output=True, text=True,
                          env=ci, timeout=30)
    assert proc.returncode == UNREADABLE and "PLAYBOOK_JOURNAL_KEY is not a key" in proc.stderr, proc.stderr


def test_an_unsigned_journal_reads_and_claims_nothing(recorded, tmp_path):
    alice, lines = recorded
    journal = tmp_path / "old.jsonl"
    # A journal as kernels wrote them before signing: no signatures, no end record.
    old = [line_json({k: v for k, v in json.loads(l).items() if k not in ("sig", "signer")}) + "\n"
           for l in lines[:-1]]
    journal.write_text("".join(rechain(old)))
    exit_code, shown = report(journal, alice)
    assert (shown["integrity"]["verdict"], exit_code) == ("unsigned", UNSIGNED), shown["integrity"]
    assert "cannot be proven" in shown["integrity"]["text"]
    assert [c["command"] for c in shown["commands"]][0] == "echo alpha"
    proc = replay(tmp_path, journal, alice)
    assert proc.returncode == 0 and "unsigned" in proc.stderr, proc.stderr


def test_a_torn_last_line_is_moved_aside_before_appending(tmp_path):
    alice = user(tmp_path, "alice")
    journal = record(tmp_path, alice, cells=CELLS[:2])
    cut = journal.read_text()[:-40]  # a crash in the middle of writing the end record
    journal.write_text(cut)
    record(tmp_path, alice, cells=CELLS[3:])

    aside = Path(f"{journal}.torn-1")
    torn = cut[cut.rfind("\n") + 1 :]
    assert aside.read_text() == torn and torn not in journal.read_text()
    for line in lines_of(journal):
        json.loads(line)  # every line whole: the new session did not merge into the torn one
    exit_code, shown = report(journal, alice)
    # The first session lost its end record: the truth is that the journal is not whole.
    assert (shown["integrity"]["verdict"], exit_code) == ("truncated", TRUNCATED), shown["integrity"]
    assert shown["breaks"] == [] and len(shown["commands"]) == 4, shown
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600


def test_journals_and_keys_are_readable_by_their_user_alone(tmp_path):
    alice = user(tmp_path, "alice")
    journal = record(tmp_path, alice, cells=CELLS[:1])
    key = tmp_path / "alice" / "playbook" / "journal-key"
    for path in (journal, key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    public = (tmp_path / "alice" / "playbook" / "journal-key.pub").read_text().strip()
    assert json.loads(lines_of(journal)[0])["signer"] == public
    assert key.read_text().strip() not in journal.read_text()


def test_a_kernel_session_shut_down_ends_its_journal_and_a_killed_one_does_not(tmp_path):
    alice = user(tmp_path, "alice")
    for name, shutdown in (("shut-down", True), ("killed", False)):
        journal = tmp_path / f"{name}.jsonl"
        with started_kernel(env={**alice, "PLAYBOOK_JOURNAL": str(journal)}, cwd=tmp_path) as (km, kc):
            run_ok(kc, "run echo hi")
            if shutdown:
                km.shutdown_kernel()  # shutdown_request, as a frontend's "Shut Down" sends it
            else:
                os.kill(kernel_pid(km), signal.SIGKILL)
                km.provisioner.process.wait(timeout=10)
        exit_code, shown = report(journal, alice)
        expected = ("intact", INTACT) if shutdown else ("truncated", TRUNCATED)
        assert (shown["integrity"]["verdict"], exit_code) == expected, (name, shown["integrity"])
        assert [c["command"] for c in shown["commands"]] == ["echo hi"], name


# --- record, then replay: the same bytes ------------------------------------------------------


def answer(request):
    if request.path == "/slow":
        return StubReply(200, b"late", content_type="text/plain", delay=0.0137)
    return StubReply(500 if request.path == "/fail" else 200, b"ok", content_type="text/plain")


@pytest.fixture
def site():
    server = StubServer(answer)
    yield server
    server.stop()


def test_a_replay_shows_the_live_run_byte_for_byte(tmp_path, site):
    alice = user(tmp_path, "alice")
    cells = [
        "slow = run sleep 0.0137; echo slept",
        "fast = run echo fast",
        f"p = probe {site.url}/slow expect 200",
        f"q = probe {site.url}/fail expect 200",
        'finding high "the fail page answers 500" evidence q',
        f'check "the slow page answers": probe {site.url}/slow expect 200',
        'check "a command passes": run test 1 = 1',
        "findings",
    ]
    path = notebook(tmp_path, *cells)
    journal = tmp_path / "j.jsonl"
    live = playbook_run(str(path), "--journal", str(journal), "-o", str(tmp_path / "live.ipynb"), env=alice)
    assert live.returncode in (0, 1), live.stderr
    site.stop()
    replayed = playbook_run(str(path), "--replay", str(journal), "-o", str(tmp_path / "replayed.ipynb"), env=alice)
    assert replayed.returncode == live.returncode, replayed.stderr

    def outputs(name):
        nb = nbformat.read(tmp_path / name, as_version=4)
        return [json.dumps(c.outputs, sort_keys=True) for c in nb.cells]

    live_outputs, replayed_outputs = outputs("live.ipynb"), outputs("replayed.ipynb")
    assert "exit 0 in" in live_outputs[0] and "FAIL" in "".join(live_outputs), live_outputs
    for cell, a, b in zip(cells, live_outputs, replayed_outputs):
        assert a == b, f"{cell}\nlive:     {a}\nreplayed: {b}"
