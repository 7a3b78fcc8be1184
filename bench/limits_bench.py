"""What the embedded source costs on inputs at the edge of its limits (issue 12's figures).

Generates, in a temporary folder: 1,000,000 series of one sample each; 100 series of 10,000
samples each (1M samples in all: the issue's "100 series of 1M samples" read as 1M samples, since
100M samples are 4.5 GB of text, over the 1 GiB file cap, and 1.6 GB as raw floats);
100,000 series of 10 samples. Times, with `playbook run` (the whole run less a
run that loads nothing; peak RSS from the child's own VmHWM):
- loading each of the first two files (`source f file ...`);
- an instant query touching all 100,000 series of the third (`sum by (code) (m)`), read from the
  journal's own duration of the step;
- `1+1+...` of 100,000 terms, which the engine refuses (its parser's cost is quadratic in depth).

Targets: each load under 2 s and 400 MB RSS; the query under 1 s; the chain under 100 ms.
Run: `bench/run --limits`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat

from embedded_bench import run_measured

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000


def write(path: Path, series: int, points: int, name: str = "m") -> Path:
    with path.open("w") as f:
        f.write(f"# TYPE {name} gauge\n")
        for s in range(series):
            labels = f'{name}{{instance="i{s}",code="{200 + s % 5}"}}'
            for p in range(points):
                f.write(f"{labels} {(s + p) % 97} {T0 + p * 15}\n")
        f.write("# EOF\n")
    return path


def run(binary: str, work: Path, name: str, cell: str, ok: bool = True) -> tuple[float, int, Path]:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "playbook", "display_name": "Playbook", "language": "playbook"}
    nb.cells = [nbformat.v4.new_code_cell(cell)]
    path = work / f"{name}.ipynb"
    nbformat.write(nb, path)
    journal = work / f"{name}.jsonl"
    cmd = [binary, "run", str(path), "-o", str(work / "out.ipynb"), "--journal", str(journal)]
    if ok:
        wall, peak = run_measured(cmd)
    else:
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        wall, peak = time.perf_counter() - started, 0
    return wall, peak, journal


def step_ms(journal: Path, step: str) -> float:
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        if record.get("step") == step:
            return record["ms"]
    raise AssertionError(f"no {step} step in {journal}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "playbook"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="limits-bench-"))
    try:
        wide = write(work / "wide.om", 1_000_000, 1)
        deep = write(work / "deep.om", 100, 10_000)
        many = write(work / "many.om", 100_000, 10)
        empty_wall, _, _ = run(args.bin, work, "empty", "param x = 1")
        rows = []
        for label, path in [("1M series x 1 sample", wide), ("100 series x 10,000 samples", deep)]:
            wall, peak, _ = run(args.bin, work, path.stem, f"source f file {path}")
            load, rss = wall - empty_wall, peak
            rows.append((f"load {label} ({path.stat().st_size / 1e6:.0f} MB)",
                         f"{load * 1000:.0f} ms, peak RSS {rss / 2**20:.0f} MiB",
                         "< 2 s, < 400 MB", load < 2 and rss < 400e6))
        window = f"window {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(T0))} .. " \
                 f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(T0 + 135))}"
        _, _, journal = run(args.bin, work, "query", f"source f file {many}\n{window}\n"
                            "q = query instant sum by (code) (m)")
        query = step_ms(journal, "query") / 1000
        rows.append(("instant query over 100,000 series", f"{query * 1000:.0f} ms", "< 1 s", query < 1))
        chain = "+".join(["1"] * 100_000)
        wall, _, _ = run(args.bin, work, "chain", f"source f file {many}\nquery instant {chain}", ok=False)
        base, _, _ = run(args.bin, work, "nochain", f"source f file {many}")
        refused = max(wall - base, 0)
        rows.append(("`1+1+...` of 100,000 terms (refused: over 2,000 operators)",
                     f"{refused * 1000:.0f} ms", "< 100 ms", refused < 0.1))
        print(f"playbook {args.bin}; {os.cpu_count()} cores; an empty run takes {empty_wall * 1000:.0f} ms")
        print()
        print("| figure | playbook (embedded) | target | met |")
        print("| --- | --- | --- | --- |")
        for name, value, target, met in rows:
            print(f"| {name} | {value} | {target} | {'met' if met else 'MISSED'} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
