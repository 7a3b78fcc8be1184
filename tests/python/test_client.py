"""The kernel as Jupyter clients use it: interrupt, restart, shutdown, abort on error, output
batching, robustness against malformed traffic, and whole notebooks through nbclient and
papermill.

Every test starts its own kernel through jupyter_client's KernelManager (kernel name
`playbook`, found through the kernelspec that conftest.py installs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
import zmq

from kernel_client import (
    assert_interrupted_within_a_second,
    KERNEL_NAME,
    assert_cells_ran,
    caret_under,
    errors,
    execute,
    get_reply,
    iopub_until_idle,
    kernel_pid,
    sleeps_under,
    still_running,
    stream_text,
    wait_for,
)


# --- interrupt --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "sleep 30",
        # a pipeline: the shell's children must stop too, not only the shell
        "sleep 30 | cat",
        # SIGTERM ignored (and inherited by sleep): the interrupt must still end it
        "trap '' TERM; sleep 30",
    ],
)
def test_interrupt_stops_running_command(kernel, command):
    km, kc = kernel
    kernel_pid = km.provisioner.process.pid
    msg_id = kc.execute(f"run {command}")

    running = wait_for(lambda: sleeps_under(kernel_pid), timeout=10)
    assert running, "`sleep 30` never started under the kernel"
    time.sleep(0.3)

    assert_interrupted_within_a_second(km, kc, msg_id)

    left = wait_for(lambda: not still_running(running), timeout=2.0)
    assert left, f"processes of the interrupted cell still run: {still_running(running)}"

    reply, outputs = execute(kc, "run echo alive")
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == "alive\n"


def test_interrupt_when_idle_is_harmless(kernel):
    km, kc = kernel
    km.interrupt_kernel()
    time.sleep(0.2)
    reply, outputs = execute(kc, "run echo still-here")
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == "still-here\n"


def test_control_and_heartbeat_answer_while_busy(kernel):
    """While a cell runs, the kernel still answers control requests and heartbeats."""
    km, kc = kernel
    msg_id = kc.execute("run sleep 2")
    time.sleep(0.3)

    request = kc.session.msg("kernel_info_request")
    kc.control_channel.send(request)
    started = time.monotonic()
    reply = get_reply(kc, request["header"]["msg_id"], timeout=1.0, channel="control")
    assert reply["msg_type"] == "kernel_info_reply"
    assert time.monotonic() - started < 0.5

    info = km.get_connection_info()
    ctx = zmq.Context()
    hb = ctx.socket(zmq.REQ)
    try:
        hb.setsockopt(zmq.LINGER, 0)
        hb.connect(f"{info['transport']}://{info['ip']}:{info['hb_port']}")
        hb.send(b"ping-while-busy")
        assert hb.poll(1000), "no heartbeat echo within 1 s"
        assert hb.recv() == b"ping-while-busy"
    finally:
        hb.close(linger=0)
        ctx.term()

    assert get_reply(kc, msg_id, timeout=10)["content"]["status"] == "ok"


# --- malformed traffic ------------------------------------------------------------------------

DELIM = b"<IDS|MSG>"


class Forger:
    """Builds wire messages for the kernel's session, correctly signed or not."""

    def __init__(self, key: bytes, scheme: str):
        assert scheme == "hmac-sha256", scheme
        self.key = key
        self.session = str(uuid.uuid4())
        self.unsigned_ids: list[str] = []

    def sign(self, frames: list[bytes]) -> bytes:
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for frame in frames:
            mac.update(frame)
        return mac.hexdigest().encode()

    def header(self, msg_type, **extra) -> tuple[str, bytes]:
        msg_id = str(uuid.uuid4())
        header = {
            "msg_id": msg_id,
            "session": self.session,
            "username": "flood",
            "date": datetime.now(timezone.utc).isoformat(),
            "msg_type": msg_type,
            "version": "5.3",
        }
        header.update(extra)
        return msg_id, json.dumps(header).encode()

    def signed(self, frames: list[bytes]) -> list[bytes]:
        return [DELIM, self.sign(frames), *frames]

    def variants(self, marker: Path):
        """Generators of malformed messages, each a function of the running index."""
        touch = json.dumps({"code": f"run touch {marker}", "silent": False}).encode()

        def bad_signature(i):
            msg_id, h = self.header("execute_request")
            self.unsigned_ids.append(msg_id)
            return [DELIM, b"%064x" % i, h, b"{}", b"{}", touch]

        def empty_signature(i):
            msg_id, h = self.header("execute_request")
            self.unsigned_ids.append(msg_id)
            return [DELIM, b"", h, b"{}", b"{}", touch]

        def tampered_content(i):
            msg_id, h = self.header("execute_request")
            self.unsigned_ids.append(msg_id)
            sig = self.sign([h, b"{}", b"{}", b'{"code": "run true"}'])
            return [DELIM, sig, h, b"{}", b"{}", touch]

        def non_hex_signature(i):
            msg_id, h = self.header("shutdown_request")
            self.unsigned_ids.append(msg_id)
            return [DELIM, b"zz" * 32, h, b"{}", b"{}", b'{"restart": false}']

        def forged_shutdown(i):
            msg_id, h = self.header("shutdown_request")
            self.unsigned_ids.append(msg_id)
            return [DELIM, b"0" * 64, h, b"{}", b"{}", b'{"restart": false}']

        def missing_frames(i):
            _, h = self.header("kernel_info_request")
            return [DELIM, self.sign([h]), h]

        def no_delimiter(i):
            _, h = self.header("kernel_info_request")
            return [h, b"{}", b"{}", b"{}"]

        def non_json_header(i):
            return self.signed([b"{not json", b"{}", b"{}", b"{}"])

        def invalid_utf8_header(i):
            return self.signed([b"\xff\xfe{\"msg_type\": \"x\"}", b"{}", b"{}", b"{}"])

        def header_not_object(i):
            return self.signed([b"[1, 2, 3]", b"{}", b"{}", b"{}"])

        def header_without_msg_type(i):
            h = json.dumps({"msg_id": str(uuid.uuid4()), "session": self.session}).encode()
            return self.signed([h, b"{}", b"{}", b"{}"])

        def signed_but_wrong_inside(msg_type, parent, content):
            def build(i):
                _, h = self.header(msg_type)
                return self.signed([h, parent, b"{}", content])
            return build

        def truncated_multipart(i):
            _, h = self.header("kernel_info_request")
            return [DELIM, self.sign([h, b"{}", b"{}", b"{}"]), h, b"{}"]

        def empty_frame(i):
            return [b""]

        def delimiter_only(i):
            return [DELIM]

        def many_frames(i):
            return [b"id"] * 300 + [DELIM] + [b"x"] * 300

        def garbage(i):
            return [os.urandom(64 + i % 512)]

        def huge_garbage(i):
            if i % 97 == 0:
                return [DELIM, b"0" * 64, os.urandom(1 << 20), b"{}", b"{}", b"{}"]
            return [os.urandom(4096)]

        return [
            bad_signature,
            empty_signature,
            tampered_content,
            non_hex_signature,
            forged_shutdown,
            missing_frames,
            no_delimiter,
            non_json_header,
            invalid_utf8_header,
            header_not_object,
            header_without_msg_type,
            # Signed and well framed, wrong inside: msg_type, parent header, content.
            *(
                signed_but_wrong_inside(*case)
                for case in [
                    (12345, b"{}", b"{}"),
                    ("frobnicate_request", b"{}", b"{}"),
                    ("execute_request", b"{}", b"[1, 2]"),
                    ("execute_request", b"{}", b'{"silent": false}'),
                    ("complete_request", b"{}", b'{"code": 7, "cursor_pos": "nine"}'),
                    ("kernel_info_request", b"\x00garbage", b"{}"),
                ]
            ),
            truncated_multipart,
            empty_frame,
            delimiter_only,
            many_frames,
            garbage,
            huge_garbage,
        ]


def test_malformed_message_flood(kernel, tmp_path):
    km, kc = kernel
    info = km.get_connection_info()
    forger = Forger(km.session.key, info["signature_scheme"])
    marker = tmp_path / "executed-unsigned-code"
    variants = forger.variants(marker)

    ctx = zmq.Context()
    sockets = []
    try:
        for port in (info["shell_port"], info["control_port"]):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 0)
            s.setsockopt(zmq.SNDTIMEO, 10_000)
            s.connect(f"{info['transport']}://{info['ip']}:{port}")
            sockets.append(s)

        for i in range(1000):
            frames = variants[i % len(variants)](i)
            try:
                sockets[i % 2].send_multipart(frames)
            except zmq.Again:
                pytest.fail(f"kernel stopped reading its sockets after {i} malformed messages")

        try:
            reply, outputs = execute(kc, "run echo ok", timeout=30)
        except AssertionError as e:
            raise AssertionError(
                f"{e} after the flood; kernel process alive: {km.is_alive()}; "
                f"executed unsigned code: {marker.exists()}"
            ) from None
        assert reply["content"]["status"] == "ok"
        assert stream_text(outputs) == "ok\n"

        msg_id = kc.kernel_info()
        info_reply = get_reply(kc, msg_id, timeout=10)
        assert info_reply["content"]["status"] == "ok"
        assert info_reply["content"]["language_info"]["name"] == "playbook"

        # Nothing unsigned may have been acted on.
        assert km.is_alive(), "a forged shutdown_request stopped the kernel"
        assert not marker.exists(), "the kernel executed an execute_request with a bad signature"
        answered = []
        for s in sockets:
            while s.poll(100):
                frames = s.recv_multipart()
                if DELIM in frames:
                    parts = frames[frames.index(DELIM) + 2 :]
                    try:
                        parent = json.loads(parts[1])
                    except (IndexError, ValueError):
                        continue
                    if parent.get("msg_id") in forger.unsigned_ids:
                        answered.append(json.loads(parts[0]).get("msg_type"))
        assert not answered, f"the kernel replied to badly signed requests: {answered[:5]}"
    finally:
        for s in sockets:
            s.close(linger=0)
        ctx.term()


# --- restart and shutdown ---------------------------------------------------------------------


def test_restart_gives_fresh_state(kernel):
    km, kc = kernel
    reply, outputs = execute(kc, "param restart_marker = 1\nrestart_marker")
    assert reply["content"]["status"] == "ok"
    old = km.provisioner.process

    km.restart_kernel(now=False)
    assert old.poll() == 0, f"the old kernel exited with {old.poll()} on a restart request"
    assert km.provisioner.process.pid != old.pid
    kc.wait_for_ready(timeout=20)

    reply, outputs = execute(kc, "run echo again")
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == "again\n"

    reply, outputs = execute(kc, "restart_marker")
    assert reply["content"]["status"] == "error"
    [err] = errors(outputs)
    assert "restart_marker" in err["evalue"]


def test_execution_count_restarts_after_restart(kernel):
    km, kc = kernel
    execute(kc, "run true")
    execute(kc, "run true")
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=20)
    reply, _ = execute(kc, "run true")
    assert reply["content"]["execution_count"] == 1


def test_shutdown_exits_cleanly(kernel):
    km, kc = kernel
    proc = km.provisioner.process
    started = time.monotonic()
    km.shutdown_kernel(now=False)
    elapsed = time.monotonic() - started
    assert proc.poll() == 0, f"kernel exit status {proc.poll()} after shutdown_request"
    # jupyter_client sends SIGTERM after 2.5 s; a clean exit comes well before that.
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f} s"


def test_shutdown_request_from_client(kernel):
    km, kc = kernel
    proc = km.provisioner.process
    msg_id = kc.shutdown()
    reply = get_reply(kc, msg_id, timeout=5, channel="control")
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is False
    assert proc.wait(timeout=3) == 0


def test_shutdown_while_command_runs(kernel):
    km, kc = kernel
    proc = km.provisioner.process
    kc.execute("run sleep 30")
    running = wait_for(lambda: sleeps_under(proc.pid), timeout=10)
    assert running, "`sleep 30` never started under the kernel"

    started = time.monotonic()
    km.shutdown_kernel(now=False)
    elapsed = time.monotonic() - started
    assert proc.poll() == 0, f"kernel exit status {proc.poll()} after shutdown_request"
    assert elapsed < 2.0, f"shutdown took {elapsed:.2f} s"
    left = wait_for(lambda: not still_running(running), timeout=2.0)
    assert left, f"the running command outlived the kernel: {still_running(running)}"


# --- execution semantics ----------------------------------------------------------------------


def test_stop_on_error_aborts_queued_cells(kernel):
    km, kc = kernel
    # The first cell keeps the kernel busy, so the rest are queued when the error happens.
    ids = [
        kc.execute("run sleep 0.5"),
        kc.execute("frobnicate"),
        kc.execute("run echo second"),
        kc.execute("run echo third"),
    ]
    replies = [get_reply(kc, i, timeout=15) for i in ids]
    assert [r["content"]["status"] for r in replies] == ["ok", "error", "aborted", "aborted"]

    # Only what was queued is aborted: the next cell runs.
    after = kc.execute("run echo after")
    assert get_reply(kc, after, timeout=15)["content"]["status"] == "ok"
    published = iopub_until_idle(kc, after, timeout=15, everything=True)
    assert stream_text([m for m in published if m["parent_header"].get("msg_id") == after]) == (
        "after\n"
    )
    aborted_output = [
        m["msg_type"]
        for m in published
        if m["parent_header"].get("msg_id") in ids[2:] and m["msg_type"] != "status"
    ]
    assert not aborted_output, f"aborted cells produced output: {aborted_output}"


def test_stop_on_error_false_keeps_going(kernel):
    km, kc = kernel
    ids = [
        kc.execute("run sleep 0.3"),
        kc.execute("frobnicate", stop_on_error=False),
        kc.execute("run echo next"),
    ]
    replies = [get_reply(kc, i, timeout=15) for i in ids]
    assert [r["content"]["status"] for r in replies] == ["ok", "error", "ok"]


def test_stdout_is_batched(kernel):
    km, kc = kernel
    reply, outputs = execute(kc, "run seq 1 100000", timeout=30)
    assert reply["content"]["status"] == "ok"
    streams = [m for m in outputs if m["msg_type"] == "stream"]
    assert len(streams) < 200, f"{len(streams)} stream messages for 100,000 lines"
    expected = "".join(f"{n}\n" for n in range(1, 100001))
    assert stream_text(outputs) == expected


def test_stdout_streams_while_command_runs(kernel):
    km, kc = kernel
    sent = time.monotonic()
    msg_id = kc.execute("run echo first; sleep 1.5; echo second")
    first_seen = None
    text = ""
    while "second" not in text:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id or msg["msg_type"] != "stream":
            continue
        text += msg["content"]["text"]
        if first_seen is None and "first" in text:
            first_seen = time.monotonic() - sent
    assert first_seen is not None and first_seen < 1.0, (
        f"first line shown {first_seen} s after execute; the command sleeps 1.5 s after it"
    )
    assert text == "first\nsecond\n"
    assert get_reply(kc, msg_id, timeout=10)["content"]["status"] == "ok"


def test_invalid_utf8_output(kernel):
    km, kc = kernel
    reply, outputs = execute(kc, "run printf '\\377\\376 ok\\n'")
    assert reply["content"]["status"] == "ok"
    assert " ok" in stream_text(outputs)
    reply, outputs = execute(kc, "run echo next")
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == "next\n"


@pytest.mark.parametrize(
    "first, expected",
    [
        ("\\342\\202", "\u20ac euro\n"),
        # an invalid byte earlier in the same read must not spoil the cut character
        ("\\377 \\342\\202", "\ufffd \u20ac euro\n"),
    ],
    ids=["split", "split-after-invalid-byte"],
)
def test_utf8_split_across_reads(kernel, first, expected):
    """A character whose bytes arrive in two writes is shown whole, not as U+FFFD."""
    km, kc = kernel
    reply, outputs = execute(kc, f"run printf '{first}'; sleep 0.3; printf '\\254 euro\\n'")
    assert reply["content"]["status"] == "ok"
    assert stream_text(outputs) == expected


def test_parse_error_points_at_line_and_column(kernel):
    km, kc = kernel
    bad_line = 'finding bogus "x"'
    reply, outputs = execute(kc, f"run echo fine\n{bad_line}")
    assert reply["content"]["status"] == "error"
    [err] = errors(outputs)
    assert err["ename"] == "ParseError"
    assert re.search(r"line 2\b|\b2:\d+", err["evalue"], re.IGNORECASE), err["evalue"]

    # The caret points at the unknown severity.
    caret_under(err, bad_line, "bogus")


# --- whole notebooks --------------------------------------------------------------------------


def check_first_response(nb) -> None:
    code_cells = assert_cells_ran(nb)
    for cell in code_cells:
        if re.search(r"(^|=\s*)run ", cell.source, re.MULTILINE):
            stdout = "".join(
                o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"
            )
            assert stdout.strip(), f"{cell.source!r} printed nothing on stdout"
    markdown = [
        out
        for cell in code_cells
        for out in cell.outputs
        if out.output_type in ("display_data", "execute_result") and "text/markdown" in out.data
    ]
    assert markdown, "no finding was rendered as text/markdown"


def test_notebook_with_nbclient(repo_root, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(repo_root / "notebooks" / "first-response.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    check_first_response(nb)


def test_notebook_with_papermill(repo_root, tmp_path):
    import papermill

    out = tmp_path / "first-response.out.ipynb"
    papermill.execute_notebook(
        str(repo_root / "notebooks" / "first-response.ipynb"),
        str(out),
        kernel_name=KERNEL_NAME,
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=60,
    )
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill.exception is not True
    check_first_response(nb)


def test_usage_request_counts_the_kernel_and_what_it_started(kernel):
    """jupyter-resource-usage asks `usage_request` on control, as ipykernel answers it: the
    kernel's memory and CPU with its children's, and the host's. Checked against psutil."""
    import psutil

    km, kc = kernel
    # A child that holds 300 MB and keeps one CPU busy for 4 s.
    burn = 'import time; x = b"a" * 300_000_000; t = time.time(); exec("while time.time() - t < 4: pass")'
    msg_id = kc.execute(f"run python3 -c '{burn}'", allow_stdin=True)
    assert kc.get_stdin_msg(timeout=10)["msg_type"] == "input_request"  # python3 -c asks first
    kc.input("yes")

    def usage() -> dict:
        request = kc.session.msg("usage_request")
        kc.control_channel.send(request)
        reply = get_reply(kc, request["header"]["msg_id"], timeout=2.0, channel="control")
        assert reply["msg_type"] == "usage_reply", reply
        return reply["content"]

    time.sleep(1.0)
    usage()  # the first sets where CPU time is counted from, as psutil's cpu_percent(None)
    time.sleep(1.0)
    content = usage()
    kernel = psutil.Process(kernel_pid(km))
    assert content["pid"] == kernel.pid
    ours = sum(p.memory_info().rss for p in [kernel, *kernel.children(recursive=True)])
    assert content["kernel_memory"] >= 300_000_000, content
    assert abs(content["kernel_memory"] - ours) < 0.2 * ours, (content["kernel_memory"], ours)
    assert 50 <= content["kernel_cpu"] <= 250, content
    assert content["cpu_count"] == psutil.cpu_count(logical=True)
    memory = content["host_virtual_memory"]
    assert memory["total"] == psutil.virtual_memory().total
    assert 0 < memory["percent"] < 100
    assert get_reply(kc, msg_id, timeout=15)["content"]["status"] == "ok"
