"""Commands cannot outlive their cell (issue 13): what a command leaves running (a background job,
a double fork, a `setsid` child) is stopped when its step ends, is interrupted, or the kernel or a
headless run is stopped; `run --leave-running` keeps it, with consent.

Each process the tests start is a `sleep` with a marker argument of its own, found in /proc.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time

import nbformat
import pytest

from kernel_client import (
    descendants,
    errors,
    get_reply,
    iopub_until_idle,
    kernel_pid,
    notebook,
    plain,
    playbook_bin,
    playbook_run,
    process_table,
    run_ok,
    started_kernel,
    wait_for,
)

_serial = itertools.count(1)


def marker() -> str:
    """A `sleep` argument no other process has: 1000 seconds and a fraction of our own."""
    return f"1000.{os.getpid()}{next(_serial):03d}"


def alive(mark: str) -> list[int]:
    """The pids of running processes (zombies count as ended) with `mark` among their arguments."""
    return [
        pid
        for pid, p in process_table().items()
        if p["state"] != "Z" and mark.encode() in p["argv"]
    ]


def leaves_three(mark: str, double_fork: str) -> str:
    """A command that leaves three sleeps running: a background job, a double fork, a `setsid`
    child (the last two holding the command's output open)."""
    return f"sleep {mark} >/dev/null 2>&1 & {double_fork}; setsid sleep {mark} & echo started"


def test_what_a_cell_leaves_running_is_stopped_when_it_ends():
    mark = marker()
    with started_kernel() as (km, kc):
        # A subshell sent to the background is a double fork the policy reads as it is.
        outputs = run_ok(kc, "run " + leaves_three(mark, f"(sleep {mark} &)"))
        assert alive(mark) == []
        assert "✓ exit 0" in plain(outputs)
        assert "; stopped 3 processes the command left running" in plain(outputs)
        # The kernel reaped them: no zombie accumulates under it.
        table = process_table()
        pid = kernel_pid(km)
        assert [p for p in table.values() if p["ppid"] == pid and p["state"] == "Z"] == []


def test_interrupt_stops_what_left_the_process_group():
    mark, running = marker(), marker()
    with started_kernel() as (km, kc):
        msg_id = kc.execute(f"run setsid sleep {mark} >/dev/null 2>&1 & sleep {running}")
        assert wait_for(lambda: alive(running), timeout=10)
        assert len(alive(mark)) == 1
        km.interrupt_kernel()
        reply = get_reply(kc, msg_id, timeout=5)
        assert reply["content"]["ename"] == "Interrupted"
        [err] = errors(iopub_until_idle(kc, msg_id))
        assert "; it was stopped, and stopped 1 process the command left running" in err["evalue"]
        assert alive(mark) == [] and alive(running) == []


@pytest.mark.parametrize("how", ["SIGTERM", "shutdown_request"])
def test_a_kernel_shut_down_mid_command_leaves_nothing_running(how):
    mark, running = marker(), marker()
    with started_kernel() as (km, kc):
        pid = kernel_pid(km)
        kc.execute(f"run setsid sleep {mark} >/dev/null 2>&1 & sleep {running}")
        assert wait_for(lambda: alive(running), timeout=10)
        tree = descendants(pid, process_table())
        if how == "SIGTERM":
            os.kill(pid, signal.SIGTERM)
        else:
            kc.shutdown()
        km.provisioner.process.wait(timeout=10)
        assert alive(mark) == [] and alive(running) == []
        assert [p for p in tree if p in alive_pids()] == []


def alive_pids() -> set[int]:
    return {pid for pid, p in process_table().items() if p["state"] != "Z"}


@pytest.mark.parametrize(
    "sig, status, said",
    [
        (signal.SIGTERM, 143, "stopped by SIGTERM"),
        (signal.SIGHUP, 129, "stopped by SIGHUP"),
        (signal.SIGINT, 2, "stopped at an error"),
    ],
)
def test_a_headless_run_stopped_by_a_signal_leaves_nothing_and_writes_what_ran(
    tmp_path, sig, status, said
):
    mark, running = marker(), marker()
    nb = notebook(
        tmp_path,
        "run echo first",
        # `sh -c` is code the policy cannot read: --yes consents to it.
        "run " + leaves_three(mark, f"sh -c 'sleep {mark} &'") + f"; sleep {running}",
        "run echo never",
    )
    out, journal = tmp_path / "out.ipynb", tmp_path / "journal.jsonl"
    proc = subprocess.Popen(
        [str(playbook_bin()), "run", str(nb), "--yes", "-o", str(out), "--journal", str(journal)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: alive(running) and len(alive(mark)) == 3, timeout=10)
        tree = descendants(proc.pid, process_table())
        assert len(tree) >= 5, tree
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, stderr
    assert said in stderr
    assert tree & alive_pids() == set(), "a process of the run's tree is still running"

    cells = nbformat.read(out, as_version=4).cells
    assert cells[0].outputs[0]["text"] == "first\n"
    assert [o["ename"] for o in cells[1].outputs if o["output_type"] == "error"] == ["Interrupted"]
    assert cells[2].execution_count is None and cells[2].outputs == []
    steps = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [s["input"].get("command") for s in steps if s["step"] == "run"] == ["echo first"]


def test_leave_running_keeps_the_process_and_needs_consent(tmp_path):
    mark = marker()
    # Its output left open: the step still ends.
    nb = notebook(tmp_path, f"run --leave-running setsid sleep {mark} &")

    refused = playbook_run(str(nb), "-o", str(tmp_path / "refused.ipynb"))
    assert refused.returncode == 2
    assert "ConsentRequired" in refused.stdout + refused.stderr
    assert alive(mark) == []

    done = playbook_run(str(nb), "--yes", "-o", str(tmp_path / "out.ipynb"))
    left = alive(mark)
    try:
        assert done.returncode == 0, done.stderr
        assert "; left 1 process running (--leave-running)" in done.stdout
        assert len(left) == 1
        # It outlived the run: still running a moment later.
        time.sleep(0.2)
        assert alive(mark) == left
    finally:
        for pid in left:
            os.kill(pid, signal.SIGKILL)
