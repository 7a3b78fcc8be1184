"""The embedded source beside Prometheus 2.42, on the same 1M samples, in one run.

Generates an OpenMetrics file of 1,000,000 samples (100 counter series x 10,000 points, 15 s
apart), loads it into a real Prometheus (`promtool tsdb create-blocks-from openmetrics`, then
`prometheus` on loopback) and into playbook's file source, and times, for each:
- two range queries over the whole span at a 60 s step (about 1,670 steps): the rate of issue 6,
  `sum by (code) (rate(requests_total[5m]))`, and the subquery of issue 15,
  `max_over_time(sum by (code) (rate(requests_total[5m]))[1h:1m])`: Prometheus through its HTTP
  API (median of N, after a warm-up); playbook through `playbook run --journal`, reading each
  query's own duration from the journal (median of N runs); and whether both answered the same
  series and values (within 1e-9, relative);
- loading: playbook's whole `source` step (file read, parse, index), from its wall clock minus
  the query; Prometheus's `promtool` block creation for reference;
- memory: the peak RSS of a run that loads the file, less that of a run that loads nothing, against
  the raw 16 bytes a sample.

Targets (issue 6): the query within 2x of Prometheus (issue 15: at or below Prometheus's time); 1M samples loaded in under 1 s; memory under
3x the raw sample bytes. Needs Debian's prometheus package. Run: `bench/run --embedded`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SERIES, POINTS, STEP = 100, 10_000, 15
START = 1_790_000_000
QUERIES = {
    "range query": "sum by (code) (rate(requests_total[5m]))",
    "subquery": "max_over_time(sum by (code) (rate(requests_total[5m]))[1h:1m])",
}


def write_samples(path: Path) -> None:
    with path.open("w") as f:
        f.write("# HELP requests_total Requests answered.\n# TYPE requests_total counter\n")
        for s in range(SERIES):
            labels = f'instance="i{s}",code="{200 + s % 5}"'
            value = 0.0
            for p in range(POINTS):
                value += 1 + (s * 7 + p * 13) % 11
                f.write(f"requests_total{{{labels}}} {value} {START + p * STEP}\n")
        f.write("# EOF\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prometheus_times(samples: Path, work: Path, runs: int, end: int) -> tuple[dict, dict, float]:
    blocks = work / "tsdb"
    started = time.perf_counter()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(samples), str(blocks)],
                   check=True, capture_output=True)
    backfill = time.perf_counter() - started
    (work / "prometheus.yml").write_text("")
    port = free_port()
    server = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={blocks}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        times, answers = {}, {}
        for name, query in QUERIES.items():
            form = urllib.parse.urlencode({"query": query, "start": START, "end": end, "step": 60}).encode()
            times[name] = []
            for i in range(runs + 1):
                t = time.perf_counter()
                answer = json.load(urllib.request.urlopen(base + "/api/v1/query_range", data=form, timeout=60))
                if i:
                    times[name].append(time.perf_counter() - t)
                assert answer["status"] == "success", answer
            answers[name] = answer["data"]["result"]
        return times, answers, backfill
    finally:
        server.terminate()
        server.wait()


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process. The peak is read from the child's
    own VmHWM while it runs: `ru_maxrss` of a child on Linux starts from its parent's at fork."""
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while child.poll() is None:
        try:
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    wall = time.perf_counter() - t
    assert child.returncode == 0, f"{cmd} exited {child.returncode}"
    return wall, peak


def playbook_times(binary: str, samples: Path, work: Path, runs: int, end: int) -> tuple[dict, dict, list[float], int]:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "playbook", "display_name": "Playbook", "language": "playbook"}
    window = f"window {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(START))} .. {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(end))} step 60s"
    queries = "\n".join(f"q{i} = query {query}" for i, query in enumerate(QUERIES.values()))
    nb.cells = [nbformat.v4.new_code_cell(f"source f file {samples}\n{window}\n{queries}")]
    nbformat.write(nb, work / "embedded.ipynb")
    times = {name: [] for name in QUERIES}
    answers, loads = {}, []
    for i in range(runs + 1):
        journal = work / f"run{i}.jsonl"
        wall, _ = run_measured([binary, "run", str(work / "embedded.ipynb"), "-o", str(work / "out.ipynb"),
                                "--journal", str(journal)])
        steps = [json.loads(l) for l in journal.read_text().splitlines() if '"step":"query"' in l]
        if i:
            for name, step in zip(QUERIES, steps):
                times[name].append(step["ms"] / 1000)
                answers[name] = step["result"]["result"]
            loads.append(wall - sum(step["ms"] for step in steps) / 1000)
    # The samples' memory: peak RSS of a run that loads the file and asks one instant query,
    # less that of a run that loads nothing.
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"source f file {samples}\nquery instant count(requests_total)")]
    nbformat.write(nb, work / "load.ipynb")
    nb.cells = [nbformat.v4.new_code_cell("param x = 1")]
    nbformat.write(nb, work / "empty.ipynb")
    _, loaded = run_measured([binary, "run", str(work / "load.ipynb"), "-o", str(work / "o.ipynb")])
    _, empty = run_measured([binary, "run", str(work / "empty.ipynb"), "-o", str(work / "o.ipynb")])
    return times, answers, loads, loaded - empty


def same_answer(ours: list, theirs: list) -> bool:
    """The same series, with the same points, values within 1e-9 (relative)."""
    def points(result: list) -> dict:
        return {json.dumps(s["metric"], sort_keys=True): [(t, float(v)) for t, v in s["values"]] for s in result}
    a, b = points(ours), points(theirs)
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and all(
            ta == tb and abs(va - vb) <= 1e-9 * max(1.0, abs(va), abs(vb)) for (ta, va), (tb, vb) in zip(a[k], b[k]))
        for k in a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "playbook"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="embedded-bench-"))
    try:
        samples = work / "samples.om"
        write_samples(samples)
        end = START + (POINTS - 1) * STEP
        ours, our_answers, loads, peak = playbook_times(args.bin, samples, work, args.runs, end)
        theirs, their_answers, backfill = prometheus_times(samples, work, args.runs, end)
        med = statistics.median
        raw = SERIES * POINTS * 16
        print(f"{SERIES * POINTS:,} samples ({samples.stat().st_size / 1e6:.0f} MB of OpenMetrics text); "
              f"step 60 s; medians of {args.runs}; {os.cpu_count()} cores")
        print()
        print("| figure | playbook (embedded) | Prometheus 2.42 | same answer | at or below Prometheus |")
        print("| --- | --- | --- | --- | --- |")
        for name, query in QUERIES.items():
            ratio = med(ours[name]) / med(theirs[name])
            same = same_answer(our_answers[name], their_answers[name])
            print(f"| {name} `{query}` | {med(ours[name]) * 1000:.1f} ms | {med(theirs[name]) * 1000:.1f} ms | "
                  f"{'yes' if same else 'NO'} | {'met' if ratio <= 1 else 'MISSED'} ({ratio:.2f}x) |")
        print()
        print("| figure | playbook (embedded) | Prometheus 2.42 | target |")
        print("| --- | --- | --- | --- |")
        print(f"| load 1M samples | {med(loads) * 1000:.0f} ms (whole run less the query) | "
              f"{backfill * 1000:.0f} ms (promtool backfill) | < 1 s: {'met' if med(loads) < 1 else 'MISSED'} |")
        print(f"| memory of the loaded samples | {peak / 2**20:.1f} MiB ({peak / raw:.2f}x the raw {raw / 2**20:.1f} MiB) | | "
              f"< 3x: {'met' if peak < 3 * raw else 'MISSED'} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
