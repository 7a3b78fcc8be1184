"""The embedded log engine on a large file, beside `rg` and `jq` on the same file (issue 16's
figures).

Generates (once, kept in target/bench-logs/) a JSON-lines file of about 1 GB: 4,000,000 lines
over four hours, four services, 1% of checkout's lines errors that say "error". Then, each with
`playbook run` (times of steps from the journal; declaring the source is the whole run less an
empty run; peak RSS from the child's VmHWM):
- declaring the source (`source big logs FILE format json label service`), which reads the
  file once to index it;
- `sum(count_over_time({service="checkout"} |= "error" [1m]))` over the four hours, step 1m,
  beside `rg -c error FILE`;
- `sum(count_over_time({service="checkout"} | json | level="error" [1m]))`, beside `jq`
  counting the same lines;
- `logs {service="checkout"}` (1M lines match; the newest 1,000 kept, every match counted into
  the volume chart), and `sum(count_over_time({service="checkout"} [1m]))`, which reads the same
  lines without either: the difference is the cost of the volume chart and the lines kept.

Each query is judged alone, as it is met in an investigation (the source declared once, then
queried again and again), and with the declaration, as one query on a file never seen before.

Targets: the first query within 2x of rg, the second at least 5x faster than jq, memory under
200 MB whatever the file's size, the volume of 1M matching lines in under 200 ms.
Needs `rg` (ripgrep) and `jq` on PATH. Run: `bench/run --logs [--lines N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from embedded_bench import run_measured
from limits_bench import run, step_ms

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_795_168_800  # 2026-11-20T10:00:00Z
SPAN = 4 * 3600
SERVICES = ["checkout", "cart", "search", "payments"]


def generate(path: Path, lines: int) -> None:
    stamp = path.with_suffix(".lines")
    if path.exists() and stamp.exists() and stamp.read_text() == str(lines):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for i in range(lines):
            at = T0 + SPAN * i / lines
            service = SERVICES[i % 4]
            error = service == "checkout" and i % 400 == 0
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
            msg = ("error: payment failed: upstream payments-api:443: connection refused" if error
                   else f"GET /api/{service}/items/{i % 9973} 200 in {i % 97} ms")
            out.write(json.dumps({
                "ts": ts, "level": "error" if error else "info", "service": service,
                "instance": f"{service}-{'ab'[i % 2]}:8080", "msg": msg,
                "trace_id": f"{i * 2654435761 % 2**64:016x}", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            }) + "\n")
    stamp.write_text(str(lines))


def timed(cmd: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["bash", "-c", cmd], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "playbook"))
    ap.add_argument("--lines", type=int, default=4_000_000)
    args = ap.parse_args()
    for tool in ("rg", "jq"):
        if shutil.which(tool) is None:
            raise SystemExit(f"logs_bench: `{tool}` is not on PATH (Debian: apt-get install ripgrep jq)")
    big = ROOT / "target" / "bench-logs" / "big.jsonl"
    generate(big, args.lines)
    size = big.stat().st_size
    os.environ["PLAYBOOK_MAX_FILE_BYTES"] = str(max(size * 2, 1 << 30))
    work = Path(tempfile.mkdtemp(prefix="logs-bench-"))
    try:
        empty, _, _ = run(args.bin, work, "empty", "param x = 1")
        source = f"source big logs {big} format json label service"
        loaded, peak, _ = run(args.bin, work, "load", source)
        window = (f"window {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(T0))} .. "
                  f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(T0 + SPAN))} step 1m")
        filtered = 'sum(count_over_time({service="checkout"} |= "error" [1m]))'
        parsed = 'sum(count_over_time({service="checkout"} | json | level="error" [1m]))'
        counted = 'sum(count_over_time({service="checkout"} [1m]))'
        _, peak_all, journal = run(args.bin, work, "queries", f"{source}\n{window}\n"
                                   f"a = query {filtered}\nb = query {parsed}\n"
                                   f'c = logs {{service="checkout"}}\nd = query {counted}')
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        steps = {r["step"]: r["ms"] / 1000 for r in records if r["step"] in ("logs",)}
        queries = [r["ms"] / 1000 for r in records if r["step"] == "query"]
        rg = timed(f"rg -c error {big}", 3)
        jq = timed(f"jq -c 'select(.service == \"checkout\" and .level == \"error\")' {big} | wc -l", 1)
        load = loaded - empty
        volume = steps["logs"] - queries[2]
        met = lambda ok: "met" if ok else "MISSED"  # noqa: E731
        rows = [
            ("declare the source (index the file)", f"{load:.2f} s, peak RSS {peak / 2**20:.0f} MiB",
             "", "", "", ""),
            (f"`{filtered}`", f"{queries[0]:.3f} s; with the declaration {queries[0] + load:.2f} s",
             f"rg -c error: {rg:.3f} s", "within 2x of rg", met(queries[0] <= 2 * rg),
             met(queries[0] + load <= 2 * rg)),
            (f"`{parsed}`", f"{queries[1]:.2f} s; with the declaration {queries[1] + load:.2f} s",
             f"jq: {jq:.2f} s", "5x faster than jq", met(queries[1] * 5 <= jq),
             met((queries[1] + load) * 5 <= jq)),
            (f"`logs {{service=\"checkout\"}}` ({args.lines // 4:,} lines match)",
             f"{steps['logs'] * 1000:.0f} ms, of which the volume and the lines kept "
             f"{volume * 1000:.0f} ms (less `{counted}`: {queries[2] * 1000:.0f} ms)",
             "", "volume under 200 ms", met(volume < 0.2), ""),
            ("peak RSS of the whole run", f"{peak_all / 2**20:.0f} MiB", "", "under 200 MB",
             met(peak_all < 200e6), ""),
        ]
        print(f"playbook {args.bin}; {os.cpu_count()} cores; {big} ({size / 1e9:.2f} GB, {args.lines:,} lines); "
              f"an empty run takes {empty * 1000:.0f} ms; load average {os.getloadavg()[0]:.2f}")
        print()
        print("| figure | playbook (embedded) | peer | target | met (the query) | met (with the declaration) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for row in rows:
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
