"""Kernel subshells (JEP 91, protocol 5.5), as JupyterLab's "New Subshell Console" uses them.

During an incident a `run` can hold the notebook for minutes; a subshell console lets the engineer
probe and query meanwhile. The tests drive a real kernel through jupyter_client: subshells are made,
listed and deleted on control, a shell request carries its subshell in the header's
`subshell_id`, and each subshell runs its own requests in order, at the same time as the main shell
and the other subshells, on one shared session (bindings, findings, sources, journal).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kernel_client import (
    errors,
    get_reply,
    iopub_until_idle,
    kernel_pid,
    playbook_bin,
    processes_under,
    sleeps_under,
    started_kernel,
    still_running,
    stream_text,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
INCIDENT = REPO / "tests" / "fixtures" / "incident.om"


def sleeping(km, seconds: int) -> dict[int, int]:
    """The `sleep SECONDS` processes under the kernel."""
    return processes_under(kernel_pid(km), [b"sleep", str(seconds).encode()])


def control(kc, msg_type: str, **content) -> dict:
    """Sends a request on control and returns its reply's content."""
    request = kc.session.msg(msg_type, content)
    kc.control_channel.send(request)
    reply = get_reply(kc, request["header"]["msg_id"], timeout=5, channel="control")
    assert reply["msg_type"] == msg_type.replace("_request", "_reply"), reply
    return reply["content"]


def create(kc) -> str:
    content = control(kc, "create_subshell_request")
    assert content["status"] == "ok", content
    return content["subshell_id"]


def listed(kc) -> list[str]:
    content = control(kc, "list_subshell_request")
    assert content["status"] == "ok", content
    return content["subshell_id"]


def send(kc, code: str, subshell: str | None = None, **options) -> str:
    """Sends an execute_request to the main shell or to `subshell`; its msg_id."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": options.pop("user_expressions", {}),
        "allow_stdin": False,
        "stop_on_error": options.pop("stop_on_error", True),
    }
    request = kc.session.msg("execute_request", content)
    if subshell is not None:
        request["header"]["subshell_id"] = subshell
    kc.shell_channel.send(request)
    return request["header"]["msg_id"]


class Replies:
    """Shell replies by msg_id, whatever order they come in."""

    def __init__(self, kc):
        self.kc = kc
        self.seen: dict[str, tuple[float, dict]] = {}

    def wait(self, msg_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while msg_id not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no reply to {msg_id} within {timeout} s")
            try:
                msg = self.kc.get_shell_msg(timeout=remaining)
            except Exception:
                continue
            self.seen[msg["parent_header"]["msg_id"]] = (time.monotonic(), msg)
        return self.seen[msg_id][1]

    def arrived(self, msg_id: str) -> float:
        return self.seen[msg_id][0]

    def pending(self, msg_id: str, within: float) -> bool:
        """Whether no reply to msg_id comes within `within` seconds."""
        try:
            self.wait(msg_id, within)
        except AssertionError:
            return True
        return False


@pytest.fixture
def kernel(tmp_path):
    env = {**os.environ, "SUBSHELL_SECRET": "hunter2-in-a-subshell"}
    with started_kernel(cwd=tmp_path, env=env) as (km, kc):
        yield km, kc, tmp_path


@pytest.fixture
def web():
    """A real HTTP server on 127.0.0.1, in a thread: what the probe in a subshell reaches."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_kernel_info_says_5_5_with_subshells_on_shell_and_control(kernel):
    _, kc, _ = kernel
    on_shell = kc.kernel_info(reply=True, timeout=5)["content"]
    on_control = control(kc, "kernel_info_request")
    for info in (on_shell, on_control):
        assert info["protocol_version"] == "5.5", info
        assert "kernel subshells" in info["supported_features"], info
    assert on_control["implementation"] == "playbook"


def test_subshells_are_created_listed_and_deleted(kernel):
    _, kc, _ = kernel
    assert listed(kc) == []
    first, second = create(kc), create(kc)
    assert first != second
    assert sorted(listed(kc)) == sorted([first, second])
    assert control(kc, "delete_subshell_request", subshell_id=first) == {"status": "ok"}
    assert listed(kc) == [second]
    again = control(kc, "delete_subshell_request", subshell_id=first)
    assert again["status"] == "error" and first in again["evalue"], again

    # A request for a subshell that is not there is answered with an error, busy and idle
    # around it, as a client waits for.
    # An id of another JSON type names no subshell either: it is not taken for the main shell.
    for gone in (first, "no-such-subshell", "", 42, {"id": second}, [second]):
        msg_id = send(kc, "run echo never", subshell=gone)
        reply = get_reply(kc, msg_id, timeout=5)
        assert reply["content"]["status"] == "error", reply
        assert reply["content"]["ename"] == "UnknownSubshellError", reply
        assert iopub_until_idle(kc, msg_id, timeout=5) == []
    assert listed(kc) == [second]
    # The kernel goes on serving, in the main shell and in the subshell left.
    for subshell in (None, second):
        msg_id = send(kc, "run echo still here", subshell=subshell)
        assert get_reply(kc, msg_id, timeout=10)["content"]["status"] == "ok"
        assert "still here" in stream_text(iopub_until_idle(kc, msg_id))


def test_a_probe_and_a_query_in_a_subshell_answer_while_a_command_holds_the_main_shell(kernel, web):
    km, kc, _ = kernel
    replies = Replies(kc)
    # The session is shared: a source declared in the main shell is the subshell's too.
    setup = send(kc, f"source m file {INCIDENT}\nwindow 2026-11-20T10:00:00Z .. 2026-11-20T11:00:00Z")
    assert replies.wait(setup, 15)["content"]["status"] == "ok"
    iopub_until_idle(kc, setup)

    long = send(kc, "held = run sleep 10; echo main done")
    wait_for(lambda: sleeping(km, 10), timeout=5)
    sub = create(kc)
    started = time.monotonic()
    probe = send(kc, f"up = probe {web}", subshell=sub)
    assert replies.wait(probe, 5)["content"]["status"] == "ok"
    query = send(kc, "errors = query sum(rate(http_requests_total[5m]))", subshell=sub)
    assert replies.wait(query, 5)["content"]["status"] == "ok"
    answered = time.monotonic() - started
    assert answered < 5, f"the subshell took {answered:.1f} s"
    assert long not in replies.seen, "the main shell's command was still running"
    assert still_running(sleeping(km, 10))

    outputs = iopub_until_idle(kc, probe)
    assert not errors(outputs), outputs

    # Once the command ends, every binding is there for both shells.
    main = replies.wait(long, 20)
    assert main["content"]["status"] == "ok", main
    for subshell in (None, sub):
        msg_id = send(kc, "", subshell=subshell, user_expressions={n: n for n in ("held", "up", "errors")})
        content = replies.wait(msg_id, 10)["content"]
        shown = {name: answer["status"] for name, answer in content["user_expressions"].items()}
        assert shown == {"held": "ok", "up": "ok", "errors": "ok"}, content
        assert "main done" in content["user_expressions"]["held"]["data"]["text/plain"]


def test_each_subshell_runs_its_own_requests_in_order(kernel):
    _, kc, _ = kernel
    replies = Replies(kc)
    sub = create(kc)
    first = send(kc, "run sleep 1; echo first", subshell=sub)
    second = send(kc, "run echo second", subshell=sub)
    main = send(kc, "run echo main")
    assert replies.wait(main, 5)["content"]["status"] == "ok"
    assert first not in replies.seen and second not in replies.seen, "main waited for the subshell"
    replies.wait(second, 10)
    replies.wait(first, 10)
    assert replies.arrived(first) < replies.arrived(second)
    counts = [replies.seen[m][1]["content"]["execution_count"] for m in (first, second)]
    assert counts[0] < counts[1], counts


def test_an_error_aborts_only_its_own_subshell_queue(kernel):
    _, kc, _ = kernel
    replies = Replies(kc)
    sub = create(kc)
    failing = send(kc, "run --timeout 500ms sleep 5\nnever = run echo never", subshell=sub)
    queued = send(kc, "run echo after the failure", subshell=sub)
    main = send(kc, "run sleep 1; echo main")
    assert replies.wait(failing, 10)["content"]["status"] == "error"
    assert replies.wait(queued, 10)["content"]["status"] == "aborted"
    assert replies.wait(main, 10)["content"]["status"] == "ok"
    later = send(kc, "run echo the subshell serves again", subshell=sub)
    assert replies.wait(later, 10)["content"]["status"] == "ok"


def test_an_interrupt_reaches_every_shell(kernel):
    km, kc, _ = kernel
    replies = Replies(kc)
    subs = [create(kc), create(kc)]
    running = [send(kc, "run sleep 30")] + [send(kc, "run sleep 30", subshell=s) for s in subs]
    wait_for(lambda: len(sleeps_under(kernel_pid(km))) == 3, timeout=10)
    sleeping = sleeps_under(kernel_pid(km))
    sent = time.monotonic()
    assert control(kc, "interrupt_request") == {"status": "ok"}
    for msg_id in running:
        content = replies.wait(msg_id, 5)["content"]
        assert content["status"] == "error" and content["ename"] == "Interrupted", content
    assert time.monotonic() - sent < 3
    wait_for(lambda: not still_running(sleeping), timeout=5)


def test_deleting_a_busy_subshell_stops_what_it_runs_and_refuses_what_it_queued(kernel):
    km, kc, _ = kernel
    replies = Replies(kc)
    sub = create(kc)
    # Without stop_on_error, the interrupted cell would not keep the next from running.
    busy = send(kc, "run sleep 30", subshell=sub, stop_on_error=False)
    queued = send(kc, "run echo queued", subshell=sub, stop_on_error=False)
    main = send(kc, "run sleep 30")
    wait_for(lambda: len(sleeps_under(kernel_pid(km))) == 2, timeout=10)
    assert control(kc, "delete_subshell_request", subshell_id=sub) == {"status": "ok"}
    content = replies.wait(busy, 5)["content"]
    assert content["status"] == "error", content
    assert content["ename"] == "Interrupted", content
    refused = replies.wait(queued, 5)["content"]
    assert refused["status"] == "error", refused
    assert refused["ename"] == "UnknownSubshellError", refused
    assert iopub_until_idle(kc, queued, timeout=5) == []
    assert sub not in listed(kc)
    # The main shell was not interrupted: its command still runs.
    assert replies.pending(main, within=1)
    assert len(still_running(sleeps_under(kernel_pid(km)))) == 1
    assert control(kc, "interrupt_request") == {"status": "ok"}
    assert replies.wait(main, 5)["content"]["status"] == "error"


def test_a_subshell_masks_the_sessions_secrets_and_asks_consent_as_the_main_shell_does(kernel):
    km, kc, workdir = kernel
    replies = Replies(kc)
    declared = send(kc, "secret token from env:SUBSHELL_SECRET")
    assert replies.wait(declared, 5)["content"]["status"] == "ok"
    long = send(kc, "run sleep 10")
    wait_for(lambda: sleeping(km, 10), timeout=5)
    sub = create(kc)
    # A secret the main shell read, printed whole, then in two halves written apart in time
    # (two reads of the pipe that join into the whole), in a subshell.
    shown = send(
        kc,
        "run echo {{token}}; printf %s {{token}} | cut -c1-8 | tr -d '\\n'; sleep 0.3; printf %s {{token}} | cut -c9-",
        subshell=sub,
    )
    assert replies.wait(shown, 10)["content"]["status"] == "ok"
    outputs = iopub_until_idle(kc, shown)
    text = json.dumps([o["content"] for o in outputs])
    assert "hunter2" not in text and "in-a-subshell" not in text, text
    assert stream_text(outputs).count("••••••") == 2, stream_text(outputs)
    # A command that needs consent, where nobody can answer (no stdin): it does not run.
    marker = workdir / "consented"
    refused = send(kc, f"run --confirm touch {marker}", subshell=sub)
    content = replies.wait(refused, 10)["content"]
    assert content["status"] == "error" and content["ename"] == "ConsentRequired", content
    assert not marker.exists()
    control(kc, "interrupt_request")
    replies.wait(long, 5)


def test_the_journal_records_each_step_with_its_subshell_in_the_order_steps_ended(kernel, web):
    km, kc, workdir = kernel
    replies = Replies(kc)
    sub = create(kc)
    long = send(kc, "run sleep 2; echo slow")
    wait_for(lambda: sleeping(km, 2), timeout=5)
    quick = send(kc, f'probe {web}\nfinding info "seen from the subshell"', subshell=sub)
    assert replies.wait(quick, 5)["content"]["status"] == "ok"
    assert replies.wait(long, 10)["content"]["status"] == "ok"
    after = send(kc, 'finding info "after both"')
    assert replies.wait(after, 5)["content"]["status"] == "ok"
    kc.shutdown()
    wait_for(lambda: not km.is_alive(), timeout=10)

    journals = list((workdir / ".playbook" / "journal").glob("*.jsonl"))
    assert len(journals) == 1, journals
    lines = [json.loads(line) for line in journals[0].read_text().splitlines()]
    steps = [(line["step"], line.get("subshell")) for line in lines if line["step"] != "end"]
    # A finding is stamped by the session's clock, itself a recorded step.
    assert steps == [
        ("probe", sub),
        ("clock", sub),
        ("finding", sub),
        ("run", None),
        ("clock", None),
        ("finding", None),
    ], steps
    # The lines written by two shells at once form one intact, signed chain.
    report = subprocess.run(
        [str(playbook_bin()), "report", str(journals[0])],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=workdir,
    )
    assert report.returncode == 0, report.stdout + report.stderr

    # The subshell is part of the signed line: changing or removing it breaks the journal there.
    original = journals[0].read_text()
    probe_line = next(i for i, line in enumerate(lines) if line.get("subshell"))
    for forged in (
        original.replace(f'"subshell":"{sub}"', '"subshell":"main"', 1),
        original.replace(f',"subshell":"{sub}"', "", 1),
    ):
        assert forged != original
        journals[0].write_text(forged)
        broken = subprocess.run(
            [str(playbook_bin()), "report", str(journals[0])],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=workdir,
        )
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert f"line {probe_line + 1}" in broken.stdout + broken.stderr, broken.stdout
