"""Cells, files and servers that try to crash, freeze or flood the kernel: characters pasted from
documents, figures that overflow, windows and subqueries of absurd size, special files where a
metrics file, a secret or a journal is expected, a server whose answer never ends, and a heavy
query that must stay interruptible. Each case: a clear error (or a bounded answer), then the
kernel is alive and answers an execute."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from kernel_client import (
    REPO,
    assert_interrupted_within_a_second,
    execute,
    get_reply,
    kernel_pid,
    notebook,
    playbook_run,
    rss_bytes,
    run_error,
    run_ok,
    started_kernel,
    wait_for,
)

INCIDENT = REPO / "tests" / "fixtures" / "incident.om"
HUGE = "18446744073709551615"

# Inputs that once killed the kernel (exit 101), each with the error it must give instead (None:
# it runs) and words its message must hold.
PANICKED = [
    ("window now\u22122h .. now", "ParseError", ["\u2212", "-"]),
    (f"window last {HUGE}ms{HUGE}ms", "ParseError", []),
    # A timeout longer than any command runs is no timeout: the command runs.
    (f"run --timeout {HUGE}ms{HUGE}ms true", None, []),
    ("window now-13000000000000000000s .. now+13000000000000000000s", "ParseError", []),
    (f"window now .. now+1{'0' * 19}ms", "ParseError", []),
]


def alive(kc) -> None:
    """The kernel answers an execute after whatever came before."""
    outputs = run_ok(kc, "finding info \"still serving\"")
    assert any("still serving" in str(m["content"]) for m in outputs)


@pytest.mark.parametrize("cell, ename, words", PANICKED)
def test_inputs_that_panicked_are_errors_through_is_complete_and_execute(kernel, cell, ename, words):
    km, kc = kernel
    msg_id = kc.is_complete(cell)
    reply = get_reply(kc, msg_id, timeout=5)
    assert reply["content"]["status"] in ("invalid", "complete"), reply["content"]
    if ename is None:
        run_ok(kc, cell)
        return alive(kc)
    err = run_error(kc, cell)
    assert err["ename"] == ename, err
    for word in words:
        assert word in err["evalue"], err["evalue"]
    assert km.is_alive()
    alive(kc)


def test_inputs_that_panicked_are_errors_headless(tmp_path):
    for cell, ename, _ in PANICKED:
        path = notebook(tmp_path, cell, name="panic.ipynb")
        done = playbook_run(str(path), cwd=tmp_path, timeout=30)
        assert done.returncode == (0 if ename is None else 2), (cell, done.returncode, done.stderr)
        assert (ename or "all cells passed") in done.stdout + done.stderr, (cell, done.stdout, done.stderr)
        assert "panicked at" not in done.stderr, done.stderr


def test_absurd_steps_answer_at_once(kernel):
    km, kc = kernel
    run_ok(kc, f"source m file {INCIDENT}")
    # A step longer than the window reads one point of it.
    run_ok(kc, f"window now-1h .. now step {HUGE}ms\nquery vector(1)", timeout=10)
    # A subquery of billions of steps is refused, not run.
    err = run_error(kc, "query instant max_over_time(vector(1)[1000y:1ms])", timeout=10)
    assert err["ename"] == "UnsupportedInEmbeddedEngine", err
    assert "subquery of more than" in err["evalue"]
    alive(kc)


@pytest.fixture
def special_files(tmp_path):
    """A FIFO with no writer, a directory, and a sparse file of 2 GiB (no disk used)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse.om"
    with open(sparse, "wb") as f:
        f.truncate(2 << 30)
    return {"/dev/zero": "a device", str(fifo): "a FIFO", str(tmp_path): "a directory",
            str(sparse): "it has 2048.0 MiB, over the {cap}"}


@pytest.mark.parametrize("statement, ename, cap", [
    ("source f file {path}", "SourceError", "1024.0 MiB"),
    ("secret s from file:{path}", "SecretUnavailable", "64.0 KiB"),
    ("replay {path}", None, "1024.0 MiB"),
])
def test_special_files_are_refused_at_once(kernel, special_files, statement, ename, cap):
    km, kc = kernel
    pid = kernel_pid(km)
    for path, why in special_files.items():
        why = why.format(cap=cap)
        started = time.monotonic()
        err = run_error(kc, statement.format(path=path), timeout=10)
        assert time.monotonic() - started < 2, f"{statement} {path} took too long"
        if ename:
            assert err["ename"] == ename, err
        assert why in err["evalue"], err["evalue"]
        assert rss_bytes(pid) < 200 << 20, f"{path}: the kernel holds {rss_bytes(pid) >> 20} MiB"
    alive(kc)


def test_the_file_cap_is_configurable_and_named(tmp_path):
    env = {**os.environ, "PLAYBOOK_MAX_FILE_BYTES": "1000"}
    with started_kernel(env=env) as (km, kc):
        err = run_error(kc, f"source m file {INCIDENT}")
        size = INCIDENT.stat().st_size
        assert "over the 1000 B" in err["evalue"] and "PLAYBOOK_MAX_FILE_BYTES" in err["evalue"], err
        assert f"it has {size / 1048576:.1f} MiB" in err["evalue"], err
        alive(kc)


def test_a_key_file_that_is_no_file_is_refused_at_once(tmp_path, special_files):
    """PLAYBOOK_JOURNAL_KEY_FILE is read whole too: a device, a FIFO or a huge file is refused."""
    path = notebook(tmp_path, "run true", name="keyed.ipynb")
    for key_file, why in special_files.items():
        env = {**os.environ, "PLAYBOOK_JOURNAL_KEY_FILE": key_file}
        started = time.monotonic()
        done = playbook_run(str(path), "--journal", str(tmp_path / "j.jsonl"), cwd=tmp_path, env=env, timeout=30)
        assert time.monotonic() - started < 5, f"{key_file} took too long"
        assert done.returncode == 2, (key_file, done.returncode, done.stderr)
        assert key_file in done.stderr and why.format(cap="4.0 KiB") in done.stderr, done.stderr
        assert "panicked at" not in done.stderr, done.stderr


def test_a_journal_that_is_no_file_is_refused_at_once(tmp_path):
    path = notebook(tmp_path, "run true", name="journaled.ipynb")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for journal, why in {"/dev/zero": "a device", str(fifo): "a FIFO"}.items():
        started = time.monotonic()
        done = playbook_run(str(path), "--journal", journal, cwd=tmp_path, timeout=30)
        assert time.monotonic() - started < 5, f"{journal} took too long"
        assert done.returncode == 2, (journal, done.returncode, done.stderr)
        assert journal in done.stderr and why in done.stderr, done.stderr


class EndlessServer:
    """Answers every request with 200 and a body that never ends (no length, no chunking:
    bytes until the client hangs up), or with a length it announces but never sends."""

    def __init__(self, announce: int | None = None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.announce = announce
        self.sent = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        with conn:
            conn.recv(65536)
            length = f"Content-Length: {self.announce}\r\n" if self.announce else ""
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            chunk = b'{"status":"success","data":{"resultType":"matrix","result":[' + b" " * 65536
            try:
                conn.sendall(head.encode())
                if self.announce:
                    return
                while True:
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def test_an_endless_answer_is_cut_at_max_answer(kernel):
    km, kc = kernel
    server = EndlessServer()
    try:
        run_ok(kc, f"source p prometheus {server.url} max-answer 8MiB")
        err = run_error(kc, "query up", timeout=20)
        assert err["ename"] == "SourceError", err
        assert "larger than 8.0 MiB" in err["evalue"] and "max-answer" in err["evalue"], err
        assert server.sent < 64 << 20, f"the kernel read {server.sent >> 20} MiB"
        assert rss_bytes(kernel_pid(km)) < 200 << 20
        alive(kc)
    finally:
        server.close()


def test_an_answer_announced_over_the_default_cap_is_refused_before_reading(kernel):
    km, kc = kernel
    server = EndlessServer(announce=1 << 30)
    try:
        run_ok(kc, f"source p prometheus {server.url}")
        started = time.monotonic()
        err = run_error(kc, "query up", timeout=10)
        assert time.monotonic() - started < 2
        assert "larger than 256.0 MiB" in err["evalue"], err
        alive(kc)
    finally:
        server.close()


def heavy_metrics(directory: Path, series: int = 1000, minutes: int = 180) -> Path:
    """`series` counters scraped every minute for `minutes`, ending 2026-11-20T12:00:00Z."""
    end = 1_795_176_000
    lines = ["# TYPE heavy counter"]
    for i in range(series):
        labels = f'heavy_total{{pod="p{i}",code="{200 + i % 5}"}}'
        lines.extend(f"{labels} {m * (i % 7 + 1)} {end - (minutes - m) * 60}"
                     for m in range(minutes + 1))
    lines.append("# EOF")
    path = directory / "heavy.om"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_heavy_query_is_interruptible_and_the_kernel_answers_meanwhile(kernel, tmp_path):
    km, kc = kernel
    path = heavy_metrics(tmp_path)
    run_ok(kc, f"source h file {path}\nwindow 2026-11-20T09:00:00Z .. 2026-11-20T12:00:00Z step 1s",
           timeout=60)
    msg_id = kc.execute("query sum by (code) (rate(heavy_total[5m]))")
    time.sleep(0.5)
    # Still running: the control channel answers kernel_info at once.
    started = time.monotonic()
    control = kc.control_channel
    request = kc.session.msg("kernel_info_request")
    control.send(request)
    reply = get_reply(kc, request["header"]["msg_id"], timeout=1.0, channel="control")
    assert reply["content"]["status"] == "ok"
    assert time.monotonic() - started < 0.5
    assert_interrupted_within_a_second(km, kc, msg_id)
    alive(kc)


def test_memory_is_returned_after_a_100_mb_cell(kernel):
    km, kc = kernel
    pid = kernel_pid(km)
    run_ok(kc, "finding info \"warm\"")
    idle = rss_bytes(pid)
    reply, _ = execute(kc, "# " + "x" * (100 << 20), timeout=60)
    assert reply["content"]["status"] == "ok"
    after = wait_for(lambda: rss_bytes(pid) - idle < 50 << 20 and rss_bytes(pid), timeout=2)
    assert after, f"{(rss_bytes(pid) - idle) >> 20} MiB more than idle after a 100 MB cell"
    alive(kc)
