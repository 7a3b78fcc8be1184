#!/usr/bin/env python3
"""Side-by-side benchmark of the playbook kernel and ipykernel.

Run it through `bench/run`, which builds playbook and prepares a venv; see
docs/benchmarks.md for what is measured and how.

Both kernels are driven by the same raw client: pyzmq sockets plus
jupyter_client.session.Session for signing and framing (hmac-sha256), so the
client adds the same small overhead to both sides.  Measured:

1. launch: wall time from Popen to the first kernel_info_reply on shell;
2. trivial execute round trip: execute_request sent -> execute_reply on shell
   and status idle on iopub both received;
3. 10 MB of command output: execute_request sent -> idle, all stream text
   received (and counted);
4. idle RSS of the kernel process after kernel_info and a few executes.
"""

from __future__ import annotations

import argparse
import gc
import hmac
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from importlib import metadata
from pathlib import Path

import zmq
from jupyter_client.session import Session

ROOT = Path(__file__).resolve().parent.parent

# 100,000 lines of 99 'x' + '\n' = exactly 10,000,000 bytes of stdout.
TEN_MB_BYTES = 10_000_000
TEN_MB_CMD = "yes " + "x" * 99 + " | head -n 100000"

IPYKERNEL_10MB_CODE = f"""\
import os, subprocess, sys
p = subprocess.Popen({TEN_MB_CMD!r}, shell=True, stdout=subprocess.PIPE)
fd = p.stdout.fileno()
while True:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    sys.stdout.write(chunk.decode())
rc = p.wait()
"""


class KernelFailure(Exception):
    """The kernel died, timed out or answered wrongly."""


class KernelKind:
    def __init__(self, name, argv, trivial_code, bulk_code, bulk_note, env=None):
        self.name = name
        self.argv = argv  # function: connection file path -> argv list
        self.trivial_code = trivial_code
        self.bulk_code = bulk_code
        self.bulk_note = bulk_note
        self.env = env or {}


def parse(session, frames):
    """Verify the HMAC signature and parse header, parent_header and content.
    A lean stand-in for Session.deserialize (which also converts every date
    string and costs ~3x more per message): it keeps the client's share of a
    round trip small, and it is the same for both kernels."""
    _, msg_list = session.feed_identities(frames)
    if len(msg_list) < 5:
        raise KernelFailure(f"malformed message: {len(msg_list)} frames after the delimiter")
    if not hmac.compare_digest(msg_list[0], session.sign(msg_list[1:5])):
        raise KernelFailure("message with an invalid HMAC signature")
    return {"header": json.loads(msg_list[1]), "parent_header": json.loads(msg_list[2]),
            "content": json.loads(msg_list[4])}


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Kernel:
    """One kernel process and the raw sockets talking to it."""

    def __init__(self, kind: KernelKind, ctx: zmq.Context, workdir: Path):
        self.kind = kind
        self.ctx = ctx
        self.workdir = workdir
        key = uuid.uuid4().hex
        shell, iopub, stdin, control, hb = free_ports(5)
        self.ports = dict(shell=shell, iopub=iopub, stdin=stdin, control=control, hb=hb)
        self.conn_file = workdir / f"kernel-{uuid.uuid4().hex[:12]}.json"
        self.conn_file.write_text(json.dumps({
            "transport": "tcp",
            "ip": "127.0.0.1",
            "shell_port": shell,
            "iopub_port": iopub,
            "stdin_port": stdin,
            "control_port": control,
            "hb_port": hb,
            "key": key,
            "signature_scheme": "hmac-sha256",
            "kernel_name": kind.name,
        }))
        self.session = Session(key=key.encode(), signature_scheme="hmac-sha256",
                               username="bench")
        self.log_path = workdir / (self.conn_file.stem + ".log")
        self.proc = None
        self.sockets = []
        self.shell = self.iopub = self.control = None
        self.poller = None
        self.saw_welcome = False

    # -- process -----------------------------------------------------------
    def start(self):
        env = dict(os.environ)
        env.update(self.kind.env)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.kind.argv(str(self.conn_file)), cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)

    def log_tail(self, n=1500):
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-n:].decode(errors="replace").strip()

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise KernelFailure(f"{self.kind.name} exited with code {self.proc.returncode}; "
                                f"its output ends with:\n{self.log_tail()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                if self.control is None:
                    self.control = self._socket(zmq.DEALER, "control")
                self.session.send(self.control, "shutdown_request", {"restart": False})
                self.proc.wait(timeout=5)
            except Exception:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        for s in self.sockets:
            s.close(linger=0)
        self.sockets = []
        if getattr(self, "_log", None):
            self._log.close()

    # -- sockets -----------------------------------------------------------
    def _socket(self, kind, channel):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RECONNECT_IVL, 1)  # connect-before-bind: retry every 1 ms
        if kind == zmq.SUB:
            s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(f"tcp://127.0.0.1:{self.ports[channel]}")
        self.sockets.append(s)
        return s

    def connect_shell(self):
        self.shell = self._socket(zmq.DEALER, "shell")
        return self.shell

    def recv(self, sock):
        """One message (non-blocking); None when nothing is waiting."""
        try:
            frames = sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        return parse(self.session, frames)

    def wait_reply(self, sock, msg_id, timeout):
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                self.check_alive()
                raise KernelFailure(f"{self.kind.name}: no reply to {msg_id} within {timeout} s")
            if sock.poll(min(100, max(1, int(left * 1000)))):
                m = self.recv(sock)
                if m is not None and m["parent_header"].get("msg_id") == msg_id:
                    return m
            else:
                self.check_alive()

    def ready(self, timeout=60.0):
        """Start the process, connect shell + iopub and make sure the iopub
        subscription is in place (iopub_welcome, or any iopub message caused
        by a kernel_info_request), then drain everything."""
        self.start()
        self.iopub = self._socket(zmq.SUB, "iopub")
        self.connect_shell()
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        deadline = time.perf_counter() + timeout
        got_iopub = False
        while not got_iopub:
            if time.perf_counter() > deadline:
                raise KernelFailure(f"{self.kind.name}: no iopub message within {timeout} s")
            self.check_alive()
            self.session.send(self.shell, "kernel_info_request", {})
            end = time.perf_counter() + 0.2
            while not got_iopub and time.perf_counter() < end:
                if self.iopub.poll(20):
                    m = self.recv(self.iopub)
                    if m is not None:
                        got_iopub = True
                        if m["header"]["msg_type"] == "iopub_welcome":
                            self.saw_welcome = True
        # Subscription is live: one more kernel_info round trip that must
        # complete on both channels, then drain leftovers.
        msg = self.session.msg("kernel_info_request", {})
        self.session.send(self.shell, msg)
        self.kernel_info = self._await_both(msg["header"]["msg_id"], "kernel_info_reply",
                                            timeout)[0]["content"]
        time.sleep(0.05)
        for s in (self.shell, self.iopub):
            while self.recv(s) is not None:
                pass

    def _await_both(self, msg_id, reply_type, timeout):
        """Wait for the shell reply and iopub status idle of msg_id.
        Returns (reply, iopub message type counts, stream byte counts,
        stream message count)."""
        deadline = time.perf_counter() + timeout
        reply, idle = None, False
        types = Counter()
        stream_bytes = Counter()
        while reply is None or not idle:
            left = deadline - time.perf_counter()
            if left <= 0:
                self.check_alive()
                raise KernelFailure(
                    f"{self.kind.name}: after {timeout} s got reply={reply is not None} "
                    f"idle={idle}; iopub messages seen for this request: {dict(types)}")
            events = dict(self.poller.poll(min(100, max(1, int(left * 1000)))))
            if not events:
                self.check_alive()
                continue
            if self.shell in events:
                while (m := self.recv(self.shell)) is not None:
                    if (m["parent_header"].get("msg_id") == msg_id
                            and m["header"]["msg_type"] == reply_type):
                        reply = m
            if self.iopub in events:
                while (m := self.recv(self.iopub)) is not None:
                    if m["parent_header"].get("msg_id") != msg_id:
                        continue
                    t = m["header"]["msg_type"]
                    types[t] += 1
                    if t == "status" and m["content"].get("execution_state") == "idle":
                        idle = True
                    elif t == "stream":
                        stream_bytes[m["content"].get("name")] += len(
                            m["content"].get("text", "").encode())
        return reply, types, stream_bytes

    def execute(self, code, timeout=60.0):
        """Returns (seconds, reply, iopub type counts, stream bytes)."""
        msg = self.session.msg("execute_request", {
            "code": code, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        t0 = time.perf_counter()
        self.session.send(self.shell, msg)
        reply, types, stream_bytes = self._await_both(msg["header"]["msg_id"],
                                                      "execute_reply", timeout)
        dt = time.perf_counter() - t0
        status = reply["content"].get("status")
        if status != "ok":
            c = reply["content"]
            raise KernelFailure(f"{self.kind.name}: execute of {code[:60]!r} replied {status}: "
                                f"{c.get('ename')}: {c.get('evalue')}")
        return dt, reply, types, stream_bytes

    def rss_mib(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        kib = lambda k: int(fields[k].split()[0])  # noqa: E731
        return kib("VmRSS") / 1024, kib("VmHWM") / 1024


# -- measurements -----------------------------------------------------------

def measure_launch(kind, ctx, workdir, timeout):
    k = Kernel(kind, ctx, workdir)
    msg = k.session.msg("kernel_info_request", {})
    msg_id = msg["header"]["msg_id"]
    try:
        t0 = time.perf_counter()
        k.start()
        shell = k.connect_shell()
        k.session.send(shell, msg)
        reply = k.wait_reply(shell, msg_id, timeout)
        dt = time.perf_counter() - t0
        if reply["header"]["msg_type"] != "kernel_info_reply":
            raise KernelFailure(f"{kind.name}: expected kernel_info_reply, got "
                                f"{reply['header']['msg_type']}")
        return dt, reply["content"]
    finally:
        k.stop()


def percentile(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def session_metrics(kind, ctx, workdir, args, log):
    """One kernel: idle RSS, trivial round trips, 10 MB output."""
    out = {}
    k = Kernel(kind, ctx, workdir)
    try:
        k.ready()
        out["iopub_welcome"] = k.saw_welcome
        out["kernel_info"] = k.kernel_info
        # idle RSS: after kernel_info and a few executes, settled 1 s
        for _ in range(5):
            k.execute(kind.trivial_code)
        time.sleep(1.0)
        out["rss_mib"], out["hwm_mib"] = k.rss_mib()
        log(f"  {kind.name}: idle RSS {out['rss_mib']:.1f} MiB")

        # trivial round trips
        for _ in range(args.warmups):
            k.execute(kind.trivial_code)
        times = []
        types = None
        gc.collect()
        gc.disable()
        try:
            for _ in range(args.executes):
                dt, _, types, _ = k.execute(kind.trivial_code)
                times.append(dt)
        finally:
            gc.enable()
        out["rt"] = times
        out["rt_iopub_types"] = dict(types)
        log(f"  {kind.name}: round trip median {statistics.median(times) * 1e3:.3f} ms, "
            f"p99 {percentile(times, 99) * 1e3:.3f} ms over {len(times)}")

        # 10 MB of output
        bulk = []
        for i in range(args.bulk_runs):
            dt, _, types, sb = k.execute(kind.bulk_code, timeout=120)
            got = sb.get("stdout", 0)
            bulk.append({"seconds": dt, "stdout_bytes": got, "stderr_bytes": sb.get("stderr", 0),
                         "stream_messages": types.get("stream", 0),
                         "iopub_types": dict(types)})
            log(f"  {kind.name}: 10 MB run {i + 1}: {dt:.3f} s, {got} stdout bytes in "
                f"{types.get('stream', 0)} stream messages")
            if got < TEN_MB_BYTES:
                raise KernelFailure(f"{kind.name}: 10 MB test received only {got} stdout "
                                    f"bytes (expected >= {TEN_MB_BYTES}); iopub: {dict(types)}")
        out["bulk"] = bulk
    except KernelFailure as e:
        out["error"] = str(e)
        log(f"  {kind.name}: FAILED: {e}")
    finally:
        k.stop()
    return out


def client_overhead(n=2000):
    """Client-side cost of one trivial round trip, no kernel involved: build,
    sign and frame an execute_request, then verify and parse four replies
    (execute_reply, status busy, execute_input, status idle)."""
    s = Session(key=uuid.uuid4().hex.encode(), signature_scheme="hmac-sha256", username="bench")
    req = s.msg("execute_request", {"code": "pass", "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False,
                                    "stop_on_error": True})
    replies = [s.serialize(s.msg(t, c, parent=req)) for t, c in (
        ("status", {"execution_state": "busy"}),
        ("execute_input", {"code": "pass", "execution_count": 1}),
        ("execute_reply", {"status": "ok", "execution_count": 1, "user_expressions": {}}),
        ("status", {"execution_state": "idle"}))]
    t0 = time.perf_counter()
    for _ in range(n):
        s.serialize(req)
        for frames in replies:
            parse(s, frames)
    return (time.perf_counter() - t0) / n


# -- report -------------------------------------------------------------------

def machine_info(args, playbook_version):
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cores = str(len(os.sched_getaffinity(0)))

    def ver(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "load_at_start": args.load_at_start, "load_at_end": load,
        "cores": cores, "cpu": cpu, "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ipykernel": ver("ipykernel"), "ipython": ver("ipython"),
        "jupyter_client": ver("jupyter_client"), "pyzmq": ver("pyzmq"),
        "libzmq": zmq.zmq_version(), "playbook": playbook_version,
    }


def fmt_ms(s):
    ms = s * 1e3
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 1000 else f"{s:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "playbook"),
                    help="playbook binary (default: target/release/playbook in the repo)")
    ap.add_argument("--launches", type=int, default=10, help="timed launches per kernel (>= 5)")
    ap.add_argument("--executes", type=int, default=500,
                    help="timed trivial executes per kernel (>= 200)")
    ap.add_argument("--warmups", type=int, default=20, help="untimed executes before timing")
    ap.add_argument("--bulk-runs", type=int, default=3, help="runs of the 10 MB test")
    ap.add_argument("--kernels", default="playbook,ipykernel",
                    help="comma-separated subset of playbook,ipykernel")
    ap.add_argument("--json", metavar="PATH", help="also write raw results as JSON")
    args = ap.parse_args()
    if args.launches < 5:
        ap.error("--launches must be at least 5")
    if args.executes < 200:
        ap.error("--executes must be at least 200")
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    bin_path = Path(args.bin).resolve()
    selected = [s.strip() for s in args.kernels.split(",") if s.strip()]
    ipython_dir = None

    kinds = {}
    if "playbook" in selected:
        if not os.access(bin_path, os.X_OK):
            sys.exit(f"playbook binary not found or not executable: {bin_path} "
                     "(build it with `cargo build --release --locked`, or use bench/run)")
        kinds["playbook"] = KernelKind(
            "playbook", lambda f: [str(bin_path), "kernel", "--connection-file", f],
            trivial_code="param x = 1",
            bulk_code=f"run {TEN_MB_CMD}",
            bulk_note=f"cell `run {TEN_MB_CMD}`")
    workroot = Path(tempfile.mkdtemp(prefix="playbook-bench-"))
    if "ipykernel" in selected:
        ipython_dir = workroot / "ipython"  # stock profile: no user startup files
        ipython_dir.mkdir()
        kinds["ipykernel"] = KernelKind(
            "ipykernel", lambda f: [sys.executable, "-m", "ipykernel_launcher", "-f", f],
            trivial_code="pass",
            bulk_code=IPYKERNEL_10MB_CODE,
            bulk_note="Python cell: subprocess.Popen of the same shell command, its stdout "
                      "copied to sys.stdout in 64 KiB chunks as it arrives (streaming)",
            env={"IPYTHONDIR": str(ipython_dir), "JUPYTER_PLATFORM_DIRS": "1"})
    if not kinds:
        ap.error("--kernels selects nothing")

    try:
        args.load_at_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if float(args.load_at_start.split()[0]) > 0.5:
            log(f"warning: load average is {args.load_at_start} before the benchmark; "
                "other work on this machine makes the figures (p99 above all) noisy")
    except (OSError, ValueError):
        args.load_at_start = "unknown"

    playbook_version = "n/a"
    if "playbook" in kinds:
        try:
            r = subprocess.run([str(bin_path), "--version"], capture_output=True, text=True,
                               timeout=10)
            playbook_version = (r.stdout.strip() or r.stderr.strip() or "unknown").splitlines()[0]
        except (OSError, subprocess.TimeoutExpired) as e:
            playbook_version = f"unknown ({e})"

    ctx = zmq.Context()
    results = {name: {"launch": [], "errors": []} for name in kinds}
    try:
        # 1. launches: one untimed warm-up each (page cache, .pyc, profile dir),
        #    then interleaved timed launches, each kernel stopped before the next.
        log(f"launch: 1 warm-up + {args.launches} timed launches per kernel, interleaved")
        for i in range(args.launches + 1):
            for name, kind in kinds.items():
                if len(results[name]["errors"]) >= 2:
                    continue
                try:
                    dt, info = measure_launch(kind, ctx, workroot, timeout=60)
                    if i > 0:
                        results[name]["launch"].append(dt)
                    results[name]["kernel_info"] = info
                    log(f"  {name} launch {i or 'warm-up'}: {fmt_ms(dt)}")
                except KernelFailure as e:
                    results[name]["errors"].append(f"launch: {e}")
                    log(f"  {name} launch FAILED: {e}")

        # 2-4. one kernel each: idle RSS, round trips, 10 MB output.
        log(f"execute: {args.warmups} warm-ups + {args.executes} timed trivial executes, "
            f"then {args.bulk_runs} x 10 MB output")
        for name, kind in kinds.items():
            r = session_metrics(kind, ctx, workroot, args, log)
            if "error" in r:
                results[name]["errors"].append(r.pop("error"))
            results[name].update(r)
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(workroot, ignore_errors=True)

    if playbook_version.startswith("unknown") and "kernel_info" in results.get("playbook", {}):
        playbook_version = results["playbook"]["kernel_info"].get(
            "implementation_version", playbook_version)
    machine = machine_info(args, playbook_version)
    machine["client_overhead_s"] = client_overhead()
    report(results, machine, kinds, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "results": results,
                                               "ten_mb_command": TEN_MB_CMD}, indent=2,
                                              default=str))
    return 1 if any(r["errors"] for r in results.values()) else 0


def report(results, machine, kinds, args):
    pb = results.get("playbook", {})
    ip = results.get("ipykernel", {})

    def launch(r):
        v = r.get("launch") or []
        if not v:
            return None, "failed" if r else "not run"
        return statistics.median(v), (f"{fmt_ms(statistics.median(v))} "
                                      f"({fmt_ms(min(v))}–{fmt_ms(max(v))})")

    def rt(r, p=None):
        v = r.get("rt")
        if not v:
            return None, "failed" if r else "not run"
        x = statistics.median(v) if p is None else percentile(v, p)
        return x, fmt_ms(x)

    def bulk(r):
        v = r.get("bulk")
        if not v:
            return None, "failed" if r else "not run"
        secs = [b["seconds"] for b in v]
        m = statistics.median(secs)
        return m, f"{fmt_ms(m)} ({fmt_ms(min(secs))}–{fmt_ms(max(secs))})"

    def rss(r):
        v = r.get("rss_mib")
        if v is None:
            return None, "failed" if r else "not run"
        return v, f"{v:.1f} MiB"

    def ratio(a, b, word):
        if a is None or b is None or a == 0:
            return "–"
        return f"{b / a:.1f}x {word}"

    def verdict(ok):
        return "n/a" if ok is None else ("**met**" if ok else "**MISSED**")

    rows = []
    a, sa = launch(pb)
    b, sb = launch(ip)
    rows.append((f"launch → first kernel_info_reply, median (min–max) of {args.launches}",
                 sa, sb, ratio(a, b, "faster"),
                 "≥20x faster: " + verdict(None if a is None or b is None else b / a >= 20)))
    a, sa = rt(pb)
    b, sb = rt(ip)
    rows.append((f"trivial execute round trip, median of {args.executes}", sa, sb,
                 ratio(a, b, "faster"),
                 "≥10x faster: " + verdict(None if a is None or b is None else b / a >= 10)))
    a, sa = rt(pb, 99)
    b, sb = rt(ip, 99)
    rows.append((f"trivial execute round trip, p99 of {args.executes}", sa, sb,
                 ratio(a, b, "faster"),
                 "p99 < 2 ms: " + verdict(None if a is None else a < 0.002)))
    a, sa = bulk(pb)
    b, sb = bulk(ip)
    rows.append((f"10 MB command output → idle, median (min–max) of {args.bulk_runs}",
                 sa, sb, ratio(a, b, "faster"),
                 "< 1 s: " + verdict(None if a is None else a < 1.0)))
    a, sa = rss(pb)
    b, sb = rss(ip)
    rows.append(("idle RSS (VmRSS, after kernel_info + 5 executes, settled 1 s)", sa, sb,
                 ratio(a, b, "smaller"),
                 "< 15 MiB: " + verdict(None if a is None else a < 15)))

    m = machine
    print()
    print(f"machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, {m['kernel']}; "
          f"Python {m['python']}, ipykernel {m['ipykernel']} (IPython {m['ipython']}), "
          f"jupyter_client {m['jupyter_client']}, pyzmq {m['pyzmq']} (libzmq {m['libzmq']}); "
          f"playbook: {m['playbook']}; load average {m['load_at_start']} at start, "
          f"{m['load_at_end']} at end")
    print()
    print("| metric | playbook | ipykernel | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("trivial cells: playbook `param x = 1`, ipykernel `pass`")
    print(f"client-side cost included in every round trip (sign/frame the request, verify/parse "
          f"4 messages, no I/O): {m['client_overhead_s'] * 1e6:.0f} µs")
    print(f"10 MB command: `{TEN_MB_CMD}` ({TEN_MB_BYTES:,} bytes of stdout)")
    for name, kind in kinds.items():
        r = results[name]
        print(f"  {name}: {kind.bulk_note}")
        for b in r.get("bulk", []):
            print(f"    {b['stdout_bytes']:,} stdout bytes in {b['stream_messages']} stream "
                  f"messages, {fmt_ms(b['seconds'])}")
    for name in kinds:
        r = results[name]
        extra = []
        if "iopub_welcome" in r:
            extra.append(f"iopub_welcome {'received' if r['iopub_welcome'] else 'not sent'}")
        if "rt_iopub_types" in r:
            extra.append(f"iopub per trivial execute {r['rt_iopub_types']}")
        if "hwm_mib" in r:
            extra.append(f"peak RSS before the round trips {r['hwm_mib']:.1f} MiB")
        if extra:
            print(f"{name}: " + "; ".join(extra))
        for e in r["errors"]:
            print(f"{name} ERROR: {e}")


if __name__ == "__main__":
    sys.exit(main())
