"""Helpers shared by the test modules: where the kernel is, starting one through jupyter_client,
executing cells and reading what they published, the processes a kernel started, and notebooks
run by nbclient or `playbook run`.

Plain functions, no fixtures: the `kernel` fixture (conftest.py) is built on `started_kernel`.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path
from queue import Empty

import nbformat

REPO = Path(__file__).resolve().parents[2]
KERNEL_NAME = "playbook"
# An ANSI escape sequence (tracebacks are coloured).
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def playbook_bin() -> Path:
    """The kernel binary under test: `PLAYBOOK_BIN`, else target/release/playbook."""
    override = os.environ.get("PLAYBOOK_BIN")
    path = Path(override) if override else REPO / "target" / "release" / "playbook"
    return path.resolve()


# --- kernels ----------------------------------------------------------------------------------


@contextlib.contextmanager
def started_kernel(env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None):
    """A fresh playbook kernel through jupyter_client, as (KernelManager, client with channels
    started), shut down on leaving. `env` replaces the kernel's whole environment (pass
    `{**os.environ, ...}` to add to it); `cwd` is its working directory."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    options = {}
    if env is not None:
        options["env"] = env
    if cwd is not None:
        options["cwd"] = str(cwd)
    km.start_kernel(**options)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=20)
        yield km, kc
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def kernel_pid(km) -> int:
    """The process id of the kernel a KernelManager started."""
    return km.provisioner.process.pid


# --- messages ---------------------------------------------------------------------------------


def get_reply(kc, msg_id: str, timeout: float, channel: str = "shell") -> dict:
    """The reply to msg_id on the shell (or control) channel, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    get = kc.get_shell_msg if channel == "shell" else kc.get_control_msg
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {channel} reply to {msg_id} within {timeout} s")
        try:
            msg = get(timeout=remaining)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def iopub_until_idle(kc, msg_id: str, timeout: float = 15, everything: bool = False) -> list[dict]:
    """IOPub messages up to the `idle` status of msg_id, or fail after `timeout` seconds.

    By default only the messages caused by msg_id, status messages left out. With
    `everything=True`, every message read on the way, whatever its parent and type (statuses
    included, the final idle too): for checks on what other requests published meanwhile."""
    deadline = time.monotonic() + timeout
    out = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no idle status for {msg_id} within {timeout} s")
        try:
            msg = kc.get_iopub_msg(timeout=remaining)
        except Empty:
            continue
        ours = msg["parent_header"].get("msg_id") == msg_id
        idle = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        if everything:
            out.append(msg)
        elif ours and msg["msg_type"] != "status":
            out.append(msg)
        if ours and idle:
            return out


def execute(kc, code: str, timeout: float = 15, **options) -> tuple[dict, list[dict]]:
    """Execute `code`; return its execute_reply and its IOPub messages (statuses left out).
    `options` go to `kc.execute` (e.g. allow_stdin=False, stop_on_error=False)."""
    msg_id = kc.execute(code, **options)
    reply = get_reply(kc, msg_id, timeout)
    outputs = iopub_until_idle(kc, msg_id, timeout)
    return reply, outputs


def stream_text(outputs: list[dict], name: str = "stdout") -> str:
    """The text of every `stream` message on `name` (stdout or stderr), joined."""
    return "".join(
        m["content"]["text"]
        for m in outputs
        if m["msg_type"] == "stream" and m["content"]["name"] == name
    )


def errors(outputs: list[dict]) -> list[dict]:
    """The content of every `error` message."""
    return [m["content"] for m in outputs if m["msg_type"] == "error"]


def bundles(outputs: list[dict]) -> list[dict]:
    """The data of every display_data and execute_result, in order."""
    return [
        m["content"]["data"]
        for m in outputs
        if m["msg_type"] in ("display_data", "execute_result")
    ]


def plain(outputs: list[dict]) -> str:
    """The text/plain of every display_data and execute_result, one per line."""
    return "\n".join(b.get("text/plain", "") for b in bundles(outputs))


def complete(kc, code: str, cursor_pos: int | None = None) -> dict:
    """The content of a complete_reply for `code`, the cursor at its end unless given; asserts
    the reply is ok."""
    msg_id = kc.complete(code, len(code) if cursor_pos is None else cursor_pos)
    reply = get_reply(kc, msg_id, timeout=15)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]


def run_ok(kc, code: str, timeout: float = 30, **options) -> list[dict]:
    """Execute `code`, assert it succeeded, and return its output messages. `options` go to
    `kc.execute`."""
    reply, outputs = execute(kc, code, timeout=timeout, **options)
    errs = errors(outputs)
    assert reply["content"]["status"] == "ok" and not errs, (
        f"{code!r} failed: {[(e['ename'], e['evalue']) for e in errs]}"
    )
    return outputs


def run_error(kc, code: str, timeout: float = 30, **options) -> dict:
    """Execute `code`, assert it failed with exactly one error output, and return that.
    `options` go to `kc.execute`."""
    reply, outputs = execute(kc, code, timeout=timeout, **options)
    assert reply["content"]["status"] == "error", f"{code!r} did not fail: {bundles(outputs)}"
    [err] = errors(outputs)
    assert reply["content"]["ename"] == err["ename"]
    return err


def caret_under(err: dict, statement: str, token: str) -> None:
    """The traceback shows `statement` with a caret under the first character of `token`."""
    lines = ANSI.sub("", "\n".join(err["traceback"])).split("\n")
    at = [n for n, line in enumerate(lines) if statement in line]
    assert at, "the statement is not in the traceback:\n" + "\n".join(lines)
    source = lines[at[0]]
    assert at[0] + 1 < len(lines) and "^" in lines[at[0] + 1], "\n".join(lines)
    caret = lines[at[0] + 1].index("^")
    expected = source.index(statement) + statement.index(token)
    assert caret == expected, (
        f"the caret is at column {caret}, `{token}` at {expected}:\n" + "\n".join(lines)
    )


def wait_for(predicate, timeout: float, interval: float = 0.02):
    """Call `predicate` until it returns something true or `timeout` seconds pass; return its
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# --- processes --------------------------------------------------------------------------------


def process_table() -> dict[int, dict]:
    """pid -> {state, ppid, pgrp, start, argv} for every process visible in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry)] = {
            "state": rest[0].decode(),
            "ppid": int(rest[1]),
            "pgrp": int(rest[2]),
            "start": int(rest[19]),
            "argv": cmdline.split(b"\0")[:-1],
        }
    return table


def descendants(root: int, table: dict[int, dict]) -> set[int]:
    """The pids of every process below `root` in `table` (children, their children...)."""
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, p in table.items() if p["ppid"] in frontier} - found
        found |= frontier
    return found


def processes_under(kernel_pid: int, argv: list[bytes]) -> dict[int, int]:
    """Processes descending from the kernel whose command line is exactly `argv`:
    pid -> start time."""
    table = process_table()
    return {
        pid: table[pid]["start"]
        for pid in descendants(kernel_pid, table)
        if table[pid]["argv"] == argv
    }


def sleeps_under(kernel_pid: int) -> dict[int, int]:
    """`sleep 30` processes descending from the kernel: pid -> start time."""
    return processes_under(kernel_pid, [b"sleep", b"30"])


def still_running(procs: dict[int, int]) -> dict[int, int]:
    """The processes of `procs` that still run (zombies count as ended)."""
    table = process_table()
    return {
        pid: start
        for pid, start in procs.items()
        if pid in table and table[pid]["start"] == start and table[pid]["state"] != "Z"
    }


def group_members(pgrp: int) -> dict[int, dict]:
    """The processes of process group `pgrp` that have not ended (zombies count as ended: a
    zombie runs nothing and only waits for its parent to collect its exit status)."""
    return {
        pid: p
        for pid, p in process_table().items()
        if p["pgrp"] == pgrp and p["state"] != "Z"
    }


def rss_bytes(pid: int) -> int:
    """The resident memory of process `pid` (VmRSS of /proc/PID/status), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                value, unit = line.split()[1:3]
                assert unit == "kB", line
                return int(value) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


# --- notebooks --------------------------------------------------------------------------------


def notebook(
    directory: Path,
    *cells: str,
    tags: dict[int, list[str]] | None = None,
    name: str = "playbook.ipynb",
) -> Path:
    """Write a notebook for the playbook kernel holding `cells` as code cells (cell i tagged
    `tags[i]`) to directory/name, and return its path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Playbook", "language": "playbook"}
    for i, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    path = Path(directory) / name
    nbformat.write(nb, path)
    return path


def playbook_run(
    *args: str,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """`playbook run ARGS...` to its end, with nothing on stdin; output captured as text."""
    return subprocess.run(
        [str(playbook_bin()), "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )


def assert_cells_ran(nb) -> list:
    """Every code cell of an executed notebook ran (it has an execution count) and none shows
    an error; the notebook names the playbook kernel. Returns the code cells."""
    assert nb.metadata.kernelspec.name == KERNEL_NAME
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.execution_count is not None, cell.source
        for out in cell.outputs:
            assert out.output_type != "error", f"{cell.source!r} failed: {out.get('evalue')}"
    return code_cells


def assert_interrupted_within_a_second(km, kc, msg_id: str) -> None:
    """Interrupts the running request as JupyterLab does, and checks that its reply comes within
    1 s as an `Interrupted` error, with exactly that one error output."""
    started = time.monotonic()
    km.interrupt_kernel()
    reply = get_reply(kc, msg_id, timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    outputs = iopub_until_idle(kc, msg_id, timeout=5)
    assert [e["ename"] for e in errors(outputs)] == ["Interrupted"]
