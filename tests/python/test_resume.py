"""`playbook run --resume J` and `--rerun-failed J`. A run that stopped goes on from where it stopped. The cells J holds
as ended are answered from it, the rest run live, no command runs twice, and the new steps
continue J's signed chain; a journal of another notebook, a changed notebook, a forged or a
foreign journal is refused before anything runs. A re-check runs live only the checks that failed
in J, every other step answered from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat

from kernel_client import notebook, playbook_bin, playbook_run

# Each command appends to `marker.txt` and says what it did: the file counts how often each ran.
CELLS = (
    "run echo one | tee -a marker.txt",
    "window last 1h",
    "run echo two | tee -a marker.txt\nsource m file metrics.prom",
    "run echo three | tee -a marker.txt\nquery up",
)


def metrics(tmp_path: Path) -> None:
    (tmp_path / "metrics.prom").write_text(f'# TYPE up gauge\nup{{job="a"}} 1 {int(time.time())}\n')


def run(tmp_path: Path, path: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return playbook_run(str(path), "--yes", "-o", str(tmp_path / "out.ipynb"), *args, cwd=tmp_path, env=env)


def marker(tmp_path: Path) -> list[str]:
    path = tmp_path / "marker.txt"
    return path.read_text().split() if path.exists() else []


def report(journal: Path, *args: str, env=None) -> dict:
    proc = subprocess.run(
        [str(playbook_bin()), "report", str(journal), "--format", "json", *args],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=env,
    )
    return json.loads(proc.stdout)


def outputs(path: Path) -> list[list[str]]:
    """What each code cell shows, as text."""
    shown = []
    for cell in nbformat.read(path, as_version=4).cells:
        texts = []
        for o in cell.outputs:
            if o["output_type"] == "stream":
                texts.append(o["text"])
            elif o["output_type"] == "error":
                texts.append(o["ename"])
            elif "text/plain" in o.get("data", {}):
                texts.append(o["data"]["text/plain"])
        shown.append(texts)
    return shown


def stopped_run(tmp_path: Path) -> tuple[Path, Path]:
    """A run that stops at cell 3, its metrics file missing, after cell 3's command ran."""
    path = notebook(tmp_path, *CELLS)
    journal = tmp_path / "j.jsonl"
    proc = run(tmp_path, path, "--journal", str(journal))
    assert proc.returncode == 2, proc.stderr
    assert marker(tmp_path) == ["one", "two"]
    return path, journal


def test_a_resumed_run_answers_what_ended_runs_the_rest_live_and_no_command_twice(tmp_path):
    path, journal = stopped_run(tmp_path)
    metrics(tmp_path)
    proc = run(tmp_path, path, "--resume", str(journal))
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["one", "two", "three"], "every command ran exactly once over both runs"
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[cell ")]
    assert [line.endswith("(answered from the journal)") for line in progress] == [True, True, False, False]
    resumed = outputs(tmp_path / "out.ipynb")
    assert "one\n" in resumed[0] and "two\n" in resumed[2], "answered commands show what they printed"
    assert any("1 series" in text for text in resumed[3])

    # The journal goes on: one chain, intact, a line saying where the run went live, and a replay
    # of the whole journal shows what the resumed run showed.
    shown = report(journal)
    assert shown["integrity"]["verdict"] == "intact", shown["integrity"]
    steps = [event["step"] for event in shown["timeline"]]
    assert steps.count("resume") == 1
    resume = next(e for e in shown["timeline"] if e["step"] == "resume")
    assert "2 cells answered from this journal" in resume["summary"]
    replayed = playbook_run(str(path), "--replay", str(journal), "-o", str(tmp_path / "replay.ipynb"), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    # A replay asks no consent, so it shows no consent given; all else is the same.
    consented = [[t for t in cell if not t.startswith("approved in advance")] for cell in resumed]
    assert outputs(tmp_path / "replay.ipynb") == consented
    assert marker(tmp_path) == ["one", "two", "three"], "replay runs nothing"


def test_resuming_twice_and_resuming_a_finished_run(tmp_path):
    path, journal = stopped_run(tmp_path)
    (tmp_path / "metrics.prom").write_text("not a metrics file\n")
    proc = run(tmp_path, path, "--resume", str(journal))
    assert proc.returncode == 2, proc.stderr
    metrics(tmp_path)
    proc = run(tmp_path, path, "--resume", str(journal))
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["one", "two", "three"]
    before = journal.read_bytes()
    proc = run(tmp_path, path, "--resume", str(journal))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("(answered from the journal)") == 4
    assert journal.read_bytes() == before, "a run answered whole adds nothing to the journal"
    assert marker(tmp_path) == ["one", "two", "three"]
    replayed = playbook_run(str(path), "--replay", str(journal), "-o", str(tmp_path / "r.ipynb"), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr


def test_a_run_killed_in_a_cell_resumes_without_running_its_finished_command_again(tmp_path):
    cells = (CELLS[0], "run echo two | tee -a marker.txt\nrun test -f go || sleep 60", "run echo three | tee -a marker.txt")
    path = notebook(tmp_path, *cells)
    metrics(tmp_path)
    journal = tmp_path / "j.jsonl"
    args = [str(playbook_bin()), "run", str(path), "--yes", "-o", str(tmp_path / "out.ipynb"), "--journal", str(journal)]
    killed = subprocess.Popen(args, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    # Killed once `echo two` is in the journal, while the cell's next command sleeps.
    deadline = time.monotonic() + 30
    while not (journal.exists() and b"echo two" in journal.read_bytes()):
        assert time.monotonic() < deadline, "the first run did not reach its second command"
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(10)
    assert report(journal)["integrity"]["verdict"] == "truncated", "killed: the session has no end line"

    (tmp_path / "go").touch()
    proc = run(tmp_path, path, "--resume", str(journal))
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["one", "two", "three"], "the command that ended before the kill did not run again"


def test_from_with_resume_answers_the_cells_before_it_and_runs_the_rest_again(tmp_path):
    path, journal = stopped_run(tmp_path)
    metrics(tmp_path)
    assert run(tmp_path, path, "--resume", str(journal)).returncode == 0
    proc = run(tmp_path, path, "--resume", str(journal), "--from", "3")
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["one", "two", "three", "two", "three"], "--from 3 runs cells 3 and 4 again"
    assert proc.stderr.count("(answered from the journal)") == 2

    # A cell before --from that the journal does not hold as ended cannot be answered.
    again = tmp_path / "again"
    again.mkdir()
    path, journal = stopped_run(again)
    proc = run(again, path, "--resume", str(journal), "--from", "4")
    assert proc.returncode == 2
    assert "cell 3 comes before it, and the journal holds no end of it" in proc.stderr, proc.stderr


def test_a_journal_of_another_or_a_changed_notebook_is_refused_naming_the_cell(tmp_path):
    path, journal = stopped_run(tmp_path)
    metrics(tmp_path)
    before = journal.read_bytes()
    for cells, said in [
        ((CELLS[0], "window last 2h", *CELLS[2:]), "cell 2 of the notebook is not the cell 2 this journal recorded"),
        (("run echo other | tee -a marker.txt", *CELLS[1:]), "cell 1 of the notebook is not the cell 1"),
        ((CELLS[0], CELLS[1]), "it records a cell 3, and the notebook has 2 code cells"),
        ((" " + CELLS[0], *CELLS[1:]), "cell 1 of the notebook is not the cell 1"),
    ]:
        changed = notebook(tmp_path, *cells, name="changed.ipynb")
        proc = run(tmp_path, changed, "--resume", str(journal))
        assert proc.returncode == 2, proc.stderr
        assert said in proc.stderr and "nothing ran" in proc.stderr, proc.stderr
        assert marker(tmp_path) == ["one", "two"]
        assert journal.read_bytes() == before


def test_a_forged_or_foreign_journal_is_refused_before_anything_runs(tmp_path):
    path, journal = stopped_run(tmp_path)
    metrics(tmp_path)
    original = journal.read_bytes()

    # Forgery 1: mark cell 3 as ended, so that its source would be skipped: the line's signature
    # and the next line's `prev` break.
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(original.replace(b'"number":3,"ok":false', b'"number":3,"ok":true'))
    assert forged.read_bytes() != original
    # Forgery 2: a `cell` line appended by hand, unsigned.
    appended = tmp_path / "appended.jsonl"
    last = json.loads(original.splitlines()[-1])
    line = {"v": 1, "seq": last["seq"] + 1, "at": last["at"], "step": "cell", "key": "0" * 64,
            "input": {"number": 3, "sha256": "0" * 64, "ok": True}, "result": {}, "ms": 0, "prev": "0" * 64}
    appended.write_bytes(original + json.dumps(line).encode() + b"\n")
    for bad in (forged, appended):
        proc = run(tmp_path, path, "--resume", str(bad))
        assert proc.returncode == 2, proc.stderr
        assert "was changed after it was recorded" in proc.stderr, proc.stderr
        assert marker(tmp_path) == ["one", "two"], "nothing ran"

    # A journal signed by someone else's key proves nothing to this user, until they trust it.
    bob = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_JOURNAL")}
    bob["XDG_CONFIG_HOME"] = str(tmp_path / "bob")
    (tmp_path / "marker.txt").unlink()
    (tmp_path / "metrics.prom").unlink()
    bobs = tmp_path / "bob.jsonl"
    assert run(tmp_path, path, "--journal", str(bobs), env=bob).returncode == 2
    metrics(tmp_path)
    proc = run(tmp_path, path, "--resume", str(bobs))
    assert proc.returncode == 2, proc.stderr
    assert "signed by an unknown key" in proc.stderr and "must be signed by a key you trust" in proc.stderr
    assert marker(tmp_path) == ["one", "two"]
    bobs_key = tmp_path / "bob" / "playbook" / "journal-key.pub"
    proc = run(tmp_path, path, "--resume", str(bobs), "--public-key", str(bobs_key))
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["one", "two", "three"]


RECHECKED = (
    "run echo cmd | tee -a marker.txt",
    "source m file metrics.prom",
    'check "fixed": run test -f fixed\ncheck "up": up == 0',
    'check "passed before": run test ! -f fixed',
)


def up(tmp_path: Path, value: int) -> None:
    (tmp_path / "metrics.prom").write_text(f'# TYPE up gauge\nup{{job="a"}} {value} {int(time.time())}\n')


def test_rerun_failed_runs_only_the_checks_that_failed_live(tmp_path):
    path = notebook(tmp_path, *RECHECKED)
    up(tmp_path, 0)
    journal = tmp_path / "j.jsonl"
    proc = run(tmp_path, path, "--journal", str(journal))
    assert proc.returncode == 1 and "checks failed: fixed; up" in proc.stderr, proc.stderr
    before = journal.read_bytes()

    # Half fixed: the file is there, the metric still says down.
    (tmp_path / "fixed").touch()
    recheck = tmp_path / "k.jsonl"
    proc = playbook_run(str(path), "--rerun-failed", str(journal), "--journal", str(recheck),
                        "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "re-checking live: fixed; up" in proc.stderr
    assert "checks failed: up:" in proc.stderr, proc.stderr
    shown = outputs(tmp_path / "out.ipynb")
    assert any("PASS fixed" in text for text in shown[2]), "the failed check ran live, and passes now"
    assert any("PASS passed before" in text for text in shown[3]), \
        "a check that passed is answered from the journal (live it would fail now)"
    assert marker(tmp_path) == ["cmd"], "no command but the checks' ran"
    assert journal.read_bytes() == before, "the re-checked journal is left as it was"
    timeline = report(recheck)["timeline"]
    assert timeline[0]["step"] == "recheck" and "j.jsonl" in timeline[0]["summary"], timeline[0]

    # Fixed: the metric is up again.
    up(tmp_path, 1)
    proc = playbook_run(str(path), "--rerun-failed", str(journal), "-o", str(tmp_path / "out.ipynb"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert marker(tmp_path) == ["cmd"]

    # A run whose checks all passed has nothing to re-check.
    fine = notebook(tmp_path, RECHECKED[0], 'check "fine": run true', name="fine.ipynb")
    assert run(tmp_path, fine, "--journal", str(tmp_path / "fine.jsonl")).returncode == 0
    proc = playbook_run(str(fine), "--rerun-failed", str(tmp_path / "fine.jsonl"), cwd=tmp_path)
    assert proc.returncode == 0 and "nothing to re-check" in proc.stderr, proc.stderr


def test_a_secret_read_in_an_answered_cell_reaches_the_live_cells_and_stays_masked(tmp_path):
    cells = ("secret token from env:RESUME_TOKEN", "source m file metrics.prom",
             "run printf %s {{token}} | wc -c\nrun echo {{token}}")
    path = notebook(tmp_path, *cells)
    env = dict(os.environ, RESUME_TOKEN="s3cr3t-resume-value")
    journal = tmp_path / "j.jsonl"
    assert run(tmp_path, path, "--journal", str(journal), env=env).returncode == 2
    metrics(tmp_path)
    proc = run(tmp_path, path, "--resume", str(journal), env=env)
    assert proc.returncode == 0, proc.stderr
    shown = outputs(tmp_path / "out.ipynb")
    assert any(text.strip() == "19" for text in shown[2]), f"the live cell had the secret's value: {shown[2]}"
    assert "s3cr3t" not in proc.stdout + proc.stderr
    assert "s3cr3t" not in (tmp_path / "out.ipynb").read_text()
    assert b"s3cr3t" not in journal.read_bytes()


# --- the kernel's `resume` statement ----------------------------------------------------------


def test_the_kernels_resume_answers_what_the_journal_holds_and_goes_live_at_the_first_step_it_lacks(tmp_path):
    from kernel_client import get_reply, iopub_until_idle, plain, run_error, run_ok, started_kernel, stream_text

    path, journal = stopped_run(tmp_path)
    metrics(tmp_path)
    with started_kernel(cwd=tmp_path) as (_, kc):
        shown = plain(run_ok(kc, f"resume {journal}"))
        assert "resuming" in shown and "signed and intact" in shown, shown
        # Answered: the output is the recorded one, nothing ran, and nothing asked for consent
        # (stdin is not allowed: a question would be a ConsentRequired error).
        assert stream_text(run_ok(kc, CELLS[0], allow_stdin=False)) == "one\n"
        run_ok(kc, CELLS[1], allow_stdin=False)
        assert stream_text(run_ok(kc, CELLS[2], allow_stdin=False)) == "two\n"
        assert marker(tmp_path) == ["one", "two"]
        # The journal holds no `echo three`: from it on, the session is live, and a command that
        # changes things asks first.
        msg_id = kc.execute(CELLS[3], allow_stdin=True)
        request = kc.get_stdin_msg(timeout=10)
        assert request["msg_type"] == "input_request" and "tee" in request["content"]["prompt"], request
        assert marker(tmp_path) == ["one", "two"], "nothing runs before the answer"
        kc.input("yes")
        assert get_reply(kc, msg_id, timeout=15)["content"]["status"] == "ok"
        outputs = iopub_until_idle(kc, msg_id, timeout=15)
        assert "holds no more of this: live from here on" in plain(outputs)
        assert stream_text(outputs) == "three\n"
        assert marker(tmp_path) == ["one", "two", "three"]
        assert '{job="a"}: min 1' in plain(outputs), plain(outputs)
        # Live stays live: the first cell runs again now (asking first, as it is live).
        msg_id = kc.execute(CELLS[0], allow_stdin=True)
        kc.get_stdin_msg(timeout=10)
        kc.input("yes")
        iopub_until_idle(kc, msg_id, timeout=15)
        assert marker(tmp_path) == ["one", "two", "three", "one"]

        # A forged journal or one signed by a key the user does not trust resumes nothing.
        forged = tmp_path / "forged.jsonl"
        forged.write_bytes(journal.read_bytes().replace(b'"number":3,"ok":false', b'"number":3,"ok":true'))
        err = run_error(kc, f"resume {forged}")
        assert err["ename"] == "NotRecorded" and "was changed after it was recorded" in err["evalue"], err
    bob = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_JOURNAL")}
    bob["XDG_CONFIG_HOME"] = str(tmp_path / "bob")
    bobs = tmp_path / "bob.jsonl"
    playbook_run(str(path), "--yes", "-o", str(tmp_path / "bob.ipynb"), "--journal", str(bobs), cwd=tmp_path, env=bob)
    with started_kernel(cwd=tmp_path) as (_, kc):
        err = run_error(kc, f"resume {bobs}")
        assert "signed by an unknown key" in err["evalue"] and "must be signed by a key you trust" in err["evalue"], err
        assert marker(tmp_path)[-1] == "three", "bob's run ran its cells; the refused resume ran nothing"
