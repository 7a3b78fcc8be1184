"""Commands that are safe to share (issue 4): `run` stops whole process groups on interrupt and
timeout, caps runaway output, shows that a long command is alive, asks before commands that
change things, obeys a policy file, has a dry run, and never shows a secret.

Each test drives the kernel through jupyter_client (or `playbook run` / nbclient) as a user's
frontend would, and checks what that user would check: a file a command would create is not
there, no process of the command is left, the answer comes promptly, the secret's value is in
no message at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest

from kernel_client import (
    ANSI,
    bundles,
    caret_under,
    descendants,
    errors,
    execute,
    get_reply,
    group_members,
    iopub_until_idle,
    kernel_pid,
    notebook,
    plain,
    playbook_run,
    process_table,
    rss_bytes,
    run_error,
    run_ok,
    started_kernel,
    stream_text,
    wait_for,
)

MASK = "••••••"
SECRET = "hunter2"  # what the tests' secret variable holds
SECRET_VAR = "PLAYBOOK_TEST_SECRET"
TRUNCATED = "[playbook: output truncated here at 10 MiB; the command ran on and the rest was dropped]"
MiB = 1024 * 1024

# Every cell that could start a command is sent with allow_stdin=False unless the test answers
# the question itself: were the kernel to ask anyway, it would get no answer (and refuse) rather
# than leave the test waiting for one.
NO_STDIN = {"allow_stdin": False}


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment (JUPYTER_PATH...) without a policy of the caller's, plus
    `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "PLAYBOOK_POLICY"}
    env.update(extra)
    return env


def command_group(kernel: int, argv: list[bytes]) -> int | None:
    """The process group of the kernel's descendant running exactly `argv`, if there is one."""
    table = process_table()
    for pid in descendants(kernel, table):
        if table[pid]["argv"] == argv:
            return table[pid]["pgrp"]
    return None


# --- stopping commands ------------------------------------------------------------------------


def test_interrupt_stops_the_whole_process_group(kernel):
    """An interrupt (interrupt_request on the control channel) stops the command's whole process
    group, the background `sleep` too, and the reply comes within a second."""
    km, kc = kernel
    pid = kernel_pid(km)
    msg_id = kc.execute("run sleep 60 & sleep 60; wait", **NO_STDIN)

    def both_sleeps():
        group = command_group(pid, [b"sleep", b"60"])
        members = group_members(group).values() if group else []
        return group if sum(p["argv"] == [b"sleep", b"60"] for p in members) == 2 else None

    group = wait_for(both_sleeps, timeout=10)
    assert group, "the two `sleep 60` of the command never started under the kernel"
    table = process_table()
    assert group != table[pid]["pgrp"], "the command runs in the kernel's own process group"
    assert table[group]["argv"][:2] == [b"sh", b"-c"], "the group is not led by the command's sh"

    request = kc.session.msg("interrupt_request", {})
    started = time.monotonic()
    kc.control_channel.send(request)
    interrupt = get_reply(kc, request["header"]["msg_id"], timeout=1.0, channel="control")
    assert interrupt["msg_type"] == "interrupt_reply"
    reply = get_reply(kc, msg_id, timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the interrupted cell answered after {elapsed:.2f} s"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    outputs = iopub_until_idle(kc, msg_id, timeout=5)
    assert [e["ename"] for e in errors(outputs)] == ["Interrupted"]

    # Zombies are not counted (group_members leaves state Z out): the shell is reaped by the
    # kernel, but the background `sleep`, orphaned when its shell died, is reaped by whichever
    # process adopts it (init, or a subreaper), and in a container whose PID 1 never reaps it
    # stays a zombie for good. A zombie runs nothing; it only keeps its exit status.
    ended = wait_for(lambda: not group_members(group), timeout=1.0)
    assert ended, f"processes of the interrupted command still run: {group_members(group)}"

    assert stream_text(run_ok(kc, "run echo alive", **NO_STDIN)) == "alive\n"


def test_timeout_stops_the_command(kernel):
    km, kc = kernel
    pid = kernel_pid(km)
    started = time.monotonic()
    msg_id = kc.execute("run --timeout 500ms sleep 5", **NO_STDIN)
    group = wait_for(lambda: command_group(pid, [b"sleep", b"5"]), timeout=0.45, interval=0.005)
    assert group, "`sleep 5` was not seen running under the kernel"

    reply = get_reply(kc, msg_id, timeout=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"a 500 ms timeout answered after {elapsed:.2f} s"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "CommandTimeout"
    [err] = errors(iopub_until_idle(kc, msg_id, timeout=5))
    assert err["ename"] == "CommandTimeout"
    assert "`sleep 5`" in err["evalue"], err["evalue"]

    # As above, a zombie has ended: it only waits for its parent to collect its exit status.
    ended = wait_for(lambda: not group_members(group), timeout=1.0)
    assert ended, f"the timed-out command still runs: {group_members(group)}"


def test_runaway_output_is_capped_and_memory_stays_bounded(kernel):
    """100 MB of output: the client gets 10 MiB and a marker, the command runs to its end, and
    the kernel's memory stays small while it runs and after."""
    km, kc = kernel
    pid = kernel_pid(km)
    rss = [rss_bytes(pid)]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            try:
                rss.append(rss_bytes(pid))
            except OSError:
                return
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        msg_id = kc.execute(
            "run head -c 100000000 /dev/zero | tr '\\0' x; echo finished >&2", **NO_STDIN
        )
        outputs = iopub_until_idle(kc, msg_id, timeout=50)
        reply = get_reply(kc, msg_id, timeout=10)
    finally:
        sampling.set()
        sampler.join(timeout=5)
    rss.append(rss_bytes(pid))

    assert reply["content"]["status"] == "ok", reply["content"]
    text = stream_text(outputs)
    assert text.count(TRUNCATED) == 1, f"the truncation marker appears {text.count(TRUNCATED)} times"
    kept, after = text.split(TRUNCATED)
    assert after.strip() == "", f"output after the marker: {after[:200]!r}"
    kept = kept.rstrip("\n")
    assert set(kept) == {"x"}, "the kept output is not the command's"
    assert 10 * MiB - 64 * 1024 <= len(kept) <= 10 * MiB, f"{len(kept):,} bytes shown"
    assert len(text) <= 10 * MiB + len(TRUNCATED) + 2
    # The command ran on past the cap: its last words, on stderr, came through.
    assert stream_text(outputs, "stderr") == "finished\n"

    [summary] = [b["text/plain"] for b in bundles(outputs)]
    assert summary.startswith("✓ exit 0"), summary
    assert "truncated" in summary, f"the summary does not say the output was truncated: {summary}"

    peak = max(rss)
    assert peak < 80 * MiB, f"the kernel's resident memory reached {peak / MiB:.0f} MiB"
    assert rss[-1] < 80 * MiB, f"the kernel holds {rss[-1] / MiB:.0f} MiB after the command"


def test_a_long_command_shows_that_it_is_alive(kernel):
    """Past a second a live line shows elapsed time and output so far, updated each second,
    and at the end it becomes the summary."""
    km, kc = kernel
    reply, outputs = execute(kc, "run echo started; sleep 2.5; echo done", **NO_STDIN)
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == "started\ndone\n"

    shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
    assert shown and shown[0]["msg_type"] == "display_data", [m["msg_type"] for m in shown]
    display_id = shown[0]["content"].get("transient", {}).get("display_id")
    assert display_id, "the live line has no transient display_id to update"
    assert all(m["msg_type"] == "update_display_data" for m in shown[1:]), [m["msg_type"] for m in shown]
    assert all(m["content"]["transient"]["display_id"] == display_id for m in shown[1:])

    texts = [m["content"]["data"]["text/plain"] for m in shown]
    progress, final = texts[:-1], texts[-1]
    assert 2 <= len(progress) <= 3, f"a 2.5 s command updated its live line {len(progress)} times: {texts}"
    elapsed = []
    for line in progress:
        assert line.startswith("⏳ running"), line
        assert "sleep 2.5" in line, f"the live line does not name the command: {line}"
        seconds = re.search(r"(\d+(?:\.\d+)?) s\b", line)
        assert seconds, f"no elapsed time in {line!r}"
        elapsed.append(float(seconds.group(1)))
        assert re.search(r"\b8 B\b", line), f"the 8 bytes of output so far are not shown: {line!r}"
    assert 0.9 <= elapsed[0] <= 1.5, elapsed
    assert all(0.7 <= b - a <= 1.3 for a, b in zip(elapsed, elapsed[1:])), f"not once a second: {elapsed}"
    assert re.fullmatch(r"✓ exit 0 in [23]\.\d\d s", final.strip()), final

    # The live line appears only once the command has run for a second.
    started = next(m for m in outputs if m["msg_type"] == "execute_input")["header"]["date"]
    first = shown[0]["header"]["date"]
    assert 0.8 <= (first - started).total_seconds() <= 1.8, (started, first)


def test_a_quick_command_shows_only_its_summary(kernel):
    km, kc = kernel
    reply, outputs = execute(kc, "run echo quick", **NO_STDIN)
    assert reply["content"]["status"] == "ok"
    shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
    assert [m["msg_type"] for m in shown] == ["display_data"], [m["msg_type"] for m in shown]
    assert not shown[0]["content"].get("transient", {}).get("display_id")
    assert shown[0]["content"]["data"]["text/plain"].startswith("✓ exit 0 in"), shown[0]["content"]


# --- consent ----------------------------------------------------------------------------------


def ask(kc, code: str, answer: str) -> tuple[dict, dict, list[dict]]:
    """Execute `code` with stdin allowed, expect the kernel's question, give `answer`; return
    (the input_request content, the execute_reply, the cell's outputs)."""
    msg_id = kc.execute(code, allow_stdin=True)
    try:
        request = kc.get_stdin_msg(timeout=10)
    except Empty:
        raise AssertionError(f"{code!r} asked nothing on the stdin channel") from None
    assert request["msg_type"] == "input_request", request
    assert request["parent_header"]["msg_id"] == msg_id
    kc.input(answer)
    reply = get_reply(kc, msg_id, timeout=15)
    return request["content"], reply, iopub_until_idle(kc, msg_id, timeout=15)


@pytest.mark.parametrize("answer", ["y", "yes"])
def test_confirm_asks_and_runs_on_yes(kernel, tmp_path, answer):
    km, kc = kernel
    marker = tmp_path / "confirmed"
    question, reply, outputs = ask(kc, f"run --confirm touch {marker}", answer)
    assert question["prompt"].startswith(f"run `touch {marker}`?"), question["prompt"]
    assert question["prompt"].endswith("[y/N] "), question["prompt"]
    assert question["password"] is False
    assert reply["content"]["status"] == "ok", reply["content"]
    assert not errors(outputs)
    assert marker.exists(), "the confirmed command did not run"


@pytest.mark.parametrize("answer", ["n", "", "no", "sure"])
def test_confirm_refused(kernel, tmp_path, answer):
    km, kc = kernel
    marker = tmp_path / "refused"
    question, reply, outputs = ask(kc, f"run --confirm touch {marker}", answer)
    assert question["prompt"].startswith(f"run `touch {marker}`?"), question["prompt"]
    assert reply["content"]["status"] == "error"
    assert [e["ename"] for e in errors(outputs)] == ["ConsentRequired"]
    assert not marker.exists(), f"the command ran although the answer was {answer!r}"


def test_consent_impossible_fails_closed(kernel, tmp_path):
    """A frontend that allows no input (nbclient, papermill): the command is refused at once,
    nothing is asked."""
    km, kc = kernel
    marker = tmp_path / "unasked"
    started = time.monotonic()
    reply, outputs = execute(kc, f"run --confirm touch {marker}", allow_stdin=False)
    assert time.monotonic() - started < 1.0
    assert reply["content"]["status"] == "error"
    [err] = errors(outputs)
    assert err["ename"] == "ConsentRequired", err
    assert f"touch {marker}" in err["evalue"], err["evalue"]
    assert not marker.exists(), "a command needing consent ran where nobody could give it"
    with pytest.raises(Empty):
        kc.get_stdin_msg(timeout=0.3)


def test_commands_that_change_things_ask_by_default(kernel, tmp_path):
    km, kc = kernel
    victim = tmp_path / "victim"
    victim.write_text("keep me")

    question, reply, outputs = ask(kc, f"run rm -f {victim}", "n")
    assert question["prompt"].startswith(f"run `rm -f {victim}`?"), question["prompt"]
    assert [e["ename"] for e in errors(outputs)] == ["ConsentRequired"]
    assert victim.exists(), "refused, yet the file was removed"

    # Judged per simple command: a harmless `cd` first does not hide the `rm`.
    err = run_error(kc, f"run cd {tmp_path} && rm -f victim", **NO_STDIN)
    assert err["ename"] == "ConsentRequired", err
    assert victim.exists()

    # Words inside quotes are an argument, not a command: this only prints.
    outputs = run_ok(kc, "run echo 'rm -rf x'", **NO_STDIN)
    assert stream_text(outputs) == "rm -rf x\n"

    question, reply, outputs = ask(kc, f"run rm -f {victim}", "y")
    assert reply["content"]["status"] == "ok"
    assert not victim.exists(), "confirmed, yet the file is still there"


def test_consent_through_nbclient_fails_closed(tmp_path):
    from nbclient import NotebookClient

    marker = tmp_path / "nbclient-ran"
    nb = nbformat.read(notebook(tmp_path, f"run --confirm touch {marker}"), as_version=4)
    NotebookClient(nb, timeout=30, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    [out] = nb.cells[0].outputs
    assert out.output_type == "error" and out.ename == "ConsentRequired", out
    assert not marker.exists()


def test_headless_consent_needs_yes(tmp_path):
    marker, victim = tmp_path / "made", tmp_path / "victim"
    victim.write_text("x")
    path = notebook(tmp_path, f"run --confirm touch {marker}", f"run rm -f {victim}")
    out = tmp_path / "out.ipynb"

    proc = playbook_run(str(path), "-o", str(out), cwd=tmp_path, env=base_env())
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    assert not marker.exists() and victim.exists(), "a command ran without consent"
    assert "ConsentRequired" in proc.stdout + proc.stderr
    executed = nbformat.read(out, as_version=4)
    assert [o.get("ename") for o in executed.cells[0].outputs] == ["ConsentRequired"]

    proc = playbook_run(str(path), "--yes", "-o", str(out), cwd=tmp_path, env=base_env())
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"
    assert marker.exists() and not victim.exists(), "--yes did not let the commands run"
    executed = nbformat.read(out, as_version=4)
    for cell in executed.cells:
        texts = [o["data"]["text/plain"] for o in cell.outputs if "data" in o]
        assert any("approved in advance (--yes)" in t for t in texts), (cell.source, texts)


# --- policy -----------------------------------------------------------------------------------


def write_policy(directory: Path, text: str) -> Path:
    """directory/.playbook/policy.toml holding `text`."""
    path = directory / ".playbook" / "policy.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_denied_command_never_starts(tmp_path):
    policy = write_policy(tmp_path, 'deny = ["touch *"]\n')
    marker = tmp_path / "denied-ran"
    with started_kernel(env=base_env(), cwd=tmp_path) as (km, kc):
        reply, outputs = execute(kc, f"run echo started; touch {marker}", **NO_STDIN)
        assert reply["content"]["status"] == "error"
        [err] = errors(outputs)
        assert err["ename"] == "CommandDenied", err
        assert "`touch *`" in err["evalue"], f"the rule is not named: {err['evalue']}"
        assert str(policy.resolve()) in err["evalue"], f"the file is not named: {err['evalue']}"
        assert not marker.exists()
        assert stream_text(outputs) == "", "part of a denied command ran"

        assert stream_text(run_ok(kc, "run echo fine", **NO_STDIN)) == "fine\n"


def test_an_allow_list_denies_everything_else(tmp_path):
    policy = tmp_path / "team-policy.toml"
    policy.write_text('allow = ["echo *", "true"]\n')
    marker = tmp_path / "not-allowed-ran"
    with started_kernel(env=base_env(PLAYBOOK_POLICY=str(policy)), cwd=tmp_path) as (km, kc):
        assert stream_text(run_ok(kc, "run echo allowed && true", **NO_STDIN)) == "allowed\n"
        for command in (f"touch {marker}", f"echo first && touch {marker}"):
            reply, outputs = execute(kc, f"run {command}", **NO_STDIN)
            [err] = errors(outputs)
            assert err["ename"] == "CommandDenied", err
            assert "allow" in err["evalue"] and str(policy) in err["evalue"], err["evalue"]
            assert stream_text(outputs) == "", f"part of `{command}` ran"
        assert not marker.exists()


def test_a_policy_redefines_what_changes_things(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('mutating = ["deploy-tool *", "echo dangerous*"]\n')
    victim = tmp_path / "victim"
    victim.write_text("x")
    with started_kernel(env=base_env(PLAYBOOK_POLICY=str(policy)), cwd=tmp_path) as (km, kc):
        reply, outputs = execute(kc, "run echo dangerous thing", **NO_STDIN)
        [err] = errors(outputs)
        assert err["ename"] == "ConsentRequired", err
        assert stream_text(outputs) == ""
        # The file's list replaces the defaults: `rm` runs without a question here.
        run_ok(kc, f"run rm -f {victim}", **NO_STDIN)
        assert not victim.exists()


@pytest.mark.parametrize(
    "text, problem",
    [("allow = [\n", "not valid"), ('alow = ["echo *"]\n', "alow")],
    ids=["invalid-toml", "unknown-key"],
)
def test_a_broken_policy_fails_closed(tmp_path, text, problem):
    policy = write_policy(tmp_path, text)
    marker = tmp_path / "ran-under-a-broken-policy"
    with started_kernel(env=base_env(), cwd=tmp_path) as (km, kc):
        for command in ("echo hi", f"touch {marker}"):
            reply, outputs = execute(kc, f"run {command}", **NO_STDIN)
            [err] = errors(outputs)
            assert err["ename"] == "CommandDenied", err
            assert str(policy.resolve()) in err["evalue"], err["evalue"]
            assert problem in err["evalue"], err["evalue"]
            assert stream_text(outputs) == ""
        assert not marker.exists()

        # The kernel keeps serving everything else.
        run_ok(kc, 'finding info "the policy file is broken"', **NO_STDIN)
        assert get_reply(kc, kc.kernel_info(), timeout=10)["content"]["status"] == "ok"


@pytest.mark.parametrize("policy", [None, 'allow = ["*"]\nmutating = []\n'], ids=["no-policy", "permissive-policy"])
@pytest.mark.parametrize("command", ["rm -rf /", "rm -rf /*", "cd / && rm  -fr /"])
def test_wiping_the_root_is_always_denied(tmp_path, policy, command):
    # The denial is checked before anything is spawned. Should that ever regress, this test
    # must not wipe the machine: the kernel's PATH holds only `sh`, so the shell finds no `rm`.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to(shutil.which("sh"))
    env = base_env(PATH=str(bin_dir))
    if policy is not None:
        (tmp_path / "permissive.toml").write_text(policy)
        env["PLAYBOOK_POLICY"] = str(tmp_path / "permissive.toml")
    with started_kernel(env=env, cwd=tmp_path) as (km, kc):
        assert stream_text(run_ok(kc, "run command -v rm || echo no-rm", **NO_STDIN)) == "no-rm\n", (
            "the safety net is not in place: the kernel's shell finds `rm`"
        )
        err = run_error(kc, f"run {command}", **NO_STDIN)
        assert err["ename"] == "CommandDenied", err
        assert "never runs" in err["evalue"], err["evalue"]


# --- dry run ----------------------------------------------------------------------------------


def test_dry_run_shows_commands_without_starting_them(kernel, tmp_path):
    km, kc = kernel
    marker, checked, confirmed = tmp_path / "dry", tmp_path / "dry-check", tmp_path / "dry-confirm"
    run_ok(kc, "dry-run on", **NO_STDIN)

    outputs = run_ok(kc, f"run touch {marker}", **NO_STDIN)
    assert f"○ dry run: would run `touch {marker}`" in plain(outputs), plain(outputs)
    assert stream_text(outputs) == ""
    shown = plain(run_ok(kc, f'check "dry check": run touch {checked}', **NO_STDIN))
    assert f"would run `touch {checked}`" in shown, shown
    # A command that would need consent is shown too; nothing is asked.
    shown = plain(run_ok(kc, f"run --confirm touch {confirmed}", **NO_STDIN))
    assert f"would run `touch {confirmed}`" in shown, shown
    time.sleep(0.2)
    assert not marker.exists() and not checked.exists() and not confirmed.exists()

    # A check in a dry run records nothing.
    assert "dry check" not in plain(run_ok(kc, "findings", **NO_STDIN))

    run_ok(kc, "dry-run off", **NO_STDIN)
    run_ok(kc, f"run touch {marker}", **NO_STDIN)
    assert marker.exists(), "commands still do not run after `dry-run off`"


def test_headless_dry_run(tmp_path):
    made, victim = tmp_path / "made", tmp_path / "victim"
    victim.write_text("x")
    path = notebook(tmp_path, f"run touch {made}", f"run rm -f {victim}", f'check "made": run test -e {made}')
    out = tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "--dry-run", "-o", str(out), cwd=tmp_path, env=base_env())
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"
    assert not made.exists() and victim.exists(), "a dry run started a command"
    executed = nbformat.read(out, as_version=4)
    texts = [o["data"]["text/plain"] for c in executed.cells for o in c.outputs if "data" in o]
    assert any(f"would run `touch {made}`" in t for t in texts), texts
    assert any(f"would run `rm -f {victim}`" in t for t in texts), texts


# --- secrets ----------------------------------------------------------------------------------


def strings(value) -> list[str]:
    """Every string inside a message (keys and values, at any depth), ANSI escapes removed."""
    if isinstance(value, str):
        return [ANSI.sub("", value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return [str(value)]


def leaks(messages: list[dict], *values: str) -> list[str]:
    """Where any of `values` appears: in a message (any field), or in a cell's stream as a
    frontend shows it, its stream messages joined (a value may come in two messages)."""
    found = [
        f"{m['msg_type']}: {json.dumps(m['content'], ensure_ascii=False, default=str)[:300]}"
        for m in messages
        if any(v in s for s in strings(m) for v in values)
    ]
    streams: dict[tuple[str, str], str] = {}
    for m in messages:
        if m["msg_type"] == "stream":
            key = (m["parent_header"].get("msg_id"), m["content"]["name"])
            streams[key] = streams.get(key, "") + m["content"]["text"]
    found += [
        f"{name} as shown, joined from its stream messages: {text[:300]!r}"
        for (_, name), text in streams.items()
        if any(v in text for v in values)
    ]
    return found


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("file-s3cret-77\n")
    return path


SECRET_CASES = {
    # id: (cells after `secret tok from env:...`, where the mask must show, the values to hide)
    "echoed": (["run echo {{tok}}"], "stdout", MASK + "\n"),
    "echoed-on-stderr": (["run echo {{tok}} >&2"], "stderr", MASK + "\n"),
    "split-across-reads": (["run printf 'hunt'; sleep 0.2; printf 'er2'"], "stdout", MASK),
    "split-mid-line": (["run printf 'token: hun'; sleep 0.2; printf 'ter2.'"], "stdout", f"token: {MASK}."),
    # `printenv`, not `sh -c 'echo "$T"'`: code handed to a shell needs consent (issue 13).
    "passed-in-the-environment": (["run --env T={{tok}} printenv T"], "stdout", MASK + "\n"),
    "in-an-error": (["run --timeout 300ms sleep 5 # {{tok}}"], "error", MASK),
    "in-the-live-line": (["run sleep 1.3 # {{tok}}"], "display", MASK),
    "bare-name": (["tok"], "display", MASK),
    "bound-result": (["out = run echo {{tok}}", "out"], "display", MASK),
    "in-a-finding": (['finding info "the token is {{tok}}"'], "display", MASK),
    "source-token": (
        ["source p prometheus http://127.0.0.1:9 token env:PROM_TEST_TOKEN", "run printenv PROM_TEST_TOKEN"],
        "stdout",
        MASK + "\n",
    ),
    "file-secret": (["secret f from file:{file}", "run cat {file}"], "stdout", MASK + "\n"),
}


@pytest.mark.parametrize("case", list(SECRET_CASES), ids=list(SECRET_CASES))
def test_a_secret_appears_in_no_message(tmp_path, secret_file, case):
    cells, where, expected = SECRET_CASES[case]
    cells = [c.replace("{file}", str(secret_file)) for c in cells]
    hidden = (SECRET, "prom-t0ken-55", "file-s3cret-77")
    env = base_env(**{SECRET_VAR: SECRET, "PROM_TEST_TOKEN": "prom-t0ken-55"})
    seen: list[dict] = []
    with started_kernel(env=env, cwd=tmp_path) as (km, kc):
        for code in [f"secret tok from env:{SECRET_VAR}", *cells]:
            msg_id = kc.execute(code, **NO_STDIN)
            seen.append(get_reply(kc, msg_id, timeout=15))
            published = iopub_until_idle(kc, msg_id, timeout=15, everything=True)
            seen.extend(published)
        last = [m for m in published if m["parent_header"].get("msg_id") == msg_id]

    found = leaks(seen, *hidden)
    assert not found, "the secret's value was published:\n" + "\n".join(found)

    # Not vacuous: what would have shown the secret shows the mask.
    if where in ("stdout", "stderr"):
        assert stream_text(last, where) == expected, stream_text(last, where)
    elif where == "error":
        [err] = errors(last)
        assert expected in err["evalue"], err
    else:
        texts = [m["content"]["data"]["text/plain"] for m in last if "data" in m["content"]]
        assert any(expected in t for t in texts), texts


def test_a_secret_never_reaches_the_executed_notebook(tmp_path):
    path = notebook(
        tmp_path,
        f"secret tok from env:{SECRET_VAR}",
        "run echo {{tok}}; echo {{tok}} >&2",
        "run printf 'hunt'; sleep 0.2; printf 'er2'",
        "tok",
        "run --timeout 300ms sleep 5 # {{tok}}",
    )
    out = tmp_path / "out.ipynb"
    proc = playbook_run(str(path), "-o", str(out), cwd=tmp_path, env=base_env(**{SECRET_VAR: SECRET}))
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    executed = out.read_text()
    assert "CommandTimeout" in executed
    assert MASK in executed
    lines = [line.strip() for line in executed.splitlines() if SECRET in line]
    assert not lines, "the secret's value is in the executed notebook:\n" + "\n".join(lines)
    assert SECRET not in proc.stdout + proc.stderr, "the secret's value was printed by `playbook run`"


def test_a_missing_secret_is_an_error(kernel):
    km, kc = kernel
    err = run_error(kc, "secret tok from env:PLAYBOOK_TEST_NOT_SET", **NO_STDIN)
    assert err["ename"] == "SecretUnavailable", err
    assert "PLAYBOOK_TEST_NOT_SET" in err["evalue"], err["evalue"]


def test_a_secret_written_in_the_notebook_is_refused(kernel):
    km, kc = kernel
    err = run_error(kc, "secret tok from s3cr3t-literal", **NO_STDIN)
    assert err["ename"] == "ParseError", err
    assert "env:" in err["evalue"] and "file:" in err["evalue"], err["evalue"]
    caret_under(err, "secret tok from s3cr3t-literal", "s3cr3t-literal")


# --- where and with what a command runs -------------------------------------------------------


def test_cwd_and_env_reach_the_command(kernel, tmp_path):
    km, kc = kernel
    workdir = tmp_path / "work"
    workdir.mkdir()
    run_ok(kc, 'param region = "eu-west-1"', **NO_STDIN)
    outputs = run_ok(
        kc,
        f'run --cwd {workdir} --env GREETING=hello --env REGION={{{{region}}}} '
        'pwd; echo "$GREETING $REGION"; touch here',
        **NO_STDIN,
    )
    assert stream_text(outputs) == f"{workdir.resolve()}\nhello eu-west-1\n"
    assert (workdir / "here").exists(), "a relative path was not taken from --cwd"

    # Both apply to that one command only.
    outputs = run_ok(kc, "run printenv GREETING; pwd", **NO_STDIN)
    assert "hello" not in stream_text(outputs)
    assert stream_text(outputs).strip() != str(workdir.resolve())


def test_a_missing_cwd_is_an_error(kernel, tmp_path):
    km, kc = kernel
    missing = tmp_path / "no-such-dir"
    err = run_error(kc, f"run --cwd {missing} true", **NO_STDIN)
    assert err["ename"] == "CommandFailed", err
    assert str(missing) in err["evalue"], err["evalue"]
