"""Replaying a recorded 20-step investigation: `playbook run --replay` beside papermill + ipykernel.

The playbook notebook has 20 steps (commands, params, findings, a check) and is recorded once with
`playbook run --journal`; the timed runs replay it (no command runs). The peer is papermill
executing an equivalent 20-cell Python notebook (a subprocess call in place of each command, a
dict append in place of each finding) on ipykernel, the usual way to run a notebook headless.
Both are timed as a user would: wall clock of the whole command, from start to exit, including
process start and writing the executed notebook. Median, min and max of N runs each.

It also times `playbook run --resume`: a 20-step run that stopped at step 15 (a command refused
without --yes), resumed with 14 steps answered from its journal and 6 run live, beside the same 6
steps run alone, each resume on a fresh copy of the stopped run's journal (the copy not timed).

Run it with `bench/run --replay` (or `python bench/replay_bench.py --bin target/release/playbook`).
`--before OTHER_BIN` also times another build of playbook (say, the one before a change) in the
same run, alternating with the first, each replaying a journal it recorded itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

PLAYBOOK_STEPS = (
    ["param service = \"checkout\""]
    + [f"s{i} = run echo step {i} of {{{{service}}}}" for i in range(1, 16)]
    + [
        "check \"the last step said its number\": run test \"$(echo 15)\" = 15",
        "finding info \"steps ran for {{service}}\" evidence s1, s15",
        "finding low \"nothing unusual\"",
        "findings",
    ]
)

PYTHON_CELLS = (
    ["service = 'checkout'\nimport subprocess\nfindings = []"]
    + [
        f"s{i} = subprocess.run(['echo', 'step {i} of ' + service], capture_output=True, text=True)\nprint(s{i}.stdout, end='')"
        for i in range(1, 16)
    ]
    + [
        "assert subprocess.run(['test', '15', '=', '15']).returncode == 0",
        "findings.append(('info', 'steps ran for ' + service))",
        "findings.append(('low', 'nothing unusual'))",
        "findings",
    ]
)


# Steps 15 to 20 read nothing the steps before them bind, so that they also run alone.
RESUMED_STEPS = (
    ["param service = \"checkout\""]
    + [f"s{i} = run echo step {i} of {{{{service}}}}" for i in range(1, 14)]
    + [
        "s14 = run --confirm echo step 14",
        "s15 = run echo step 15",
        "check \"the last step said its number\": run test \"$(echo 15)\" = 15",
        "finding info \"the last steps ran\" evidence s14, s15",
        "finding low \"nothing unusual\"",
        "findings",
    ]
)


def resume_figures(binary: str, work: Path, env: dict, runs: int) -> tuple[list[float], list[float]]:
    """Times resuming the run stopped at step 15, and the last 6 steps alone."""
    nbformat.write(notebook(RESUMED_STEPS, "playbook", "playbook"), work / "resumed.ipynb")
    nbformat.write(notebook(RESUMED_STEPS[14:], "playbook", "playbook"), work / "last-six.ipynb")
    stopped = work / "stopped.jsonl"
    proc = subprocess.run([binary, "run", "resumed.ipynb", "-o", "stopped.ipynb", "--journal", str(stopped)],
                          cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 2 or "[cell 15 of 20" not in proc.stderr:
        sys.exit(f"the run to resume did not stop at step 15 ({proc.returncode}):\n{proc.stderr[-2000:]}")
    alone = [binary, "run", "last-six.ipynb", "-o", "six.ipynb", "--yes"]
    resumed, six = [], []
    for i in range(runs):
        journal = work / f"resume-{i}.jsonl"
        shutil.copy(stopped, journal)
        resumed.append(timed([binary, "run", "resumed.ipynb", "-o", "r.ipynb", "--yes", "--resume", str(journal)], work, env))
        six.append(timed(alone, work, env))
    return resumed, six


def notebook(cells: list[str], kernel: str, language: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": language}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms (min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "playbook"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--before", help="another playbook binary to time beside --bin, in the same run")
    args = ap.parse_args()
    assert len(PLAYBOOK_STEPS) == 20 and len(PYTHON_CELLS) == 20

    work = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    env = dict(os.environ, IPYTHONDIR=str(work / "ipython"), JUPYTER_PLATFORM_DIRS="1")
    try:
        nbformat.write(notebook(PLAYBOOK_STEPS, "playbook", "playbook"), work / "steps.ipynb")
        nbformat.write(notebook(PYTHON_CELLS, "python3", "python"), work / "steps-py.ipynb")
        def recorded(binary: str, name: str) -> list[str]:
            """Records the steps with `binary`; returns the command that replays them."""
            journal = work / f"{name}.jsonl"
            timed([binary, "run", "steps.ipynb", "-o", "recorded.ipynb", "--journal", str(journal)], work, env)
            return [binary, "run", "steps.ipynb", "-o", "replayed.ipynb", "--replay", str(journal)]

        replay = recorded(args.bin, "steps")
        replay_before = recorded(args.before, "steps-before") if args.before else None
        papermill = [sys.executable, "-m", "papermill", "steps-py.ipynb", "out-py.ipynb", "-k", "python3", "--no-progress-bar"]
        timed(papermill, work, env)  # warm-up: bytecode and the IPython profile
        ours, before, theirs = [], [], []
        for _ in range(args.runs):
            ours.append(timed(replay, work, env))
            if replay_before:
                before.append(timed(replay_before, work, env))
            theirs.append(timed(papermill, work, env))
        print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
              f"Linux {platform.release()}, Python {platform.python_version()}")
        print()
        print("| 20-step notebook, whole command | median (min, max) |")
        print("| --- | --- |")
        print(f"| playbook run --replay | {summary(ours)} |")
        if before:
            print(f"| playbook run --replay, {args.before} | {summary(before)} |")
        print(f"| papermill + ipykernel | {summary(theirs)} |")
        ratio = statistics.median(theirs) / statistics.median(ours)
        met = "met" if statistics.median(ours) < 0.1 else "MISSED"
        print(f"\nplaybook replay is {ratio:.0f}x faster; target under 100 ms: {met}")

        resumed, six = resume_figures(args.bin, work, env, args.runs)
        print()
        print("| 20-step run stopped at step 15, whole command | median (min, max) |")
        print("| --- | --- |")
        print(f"| playbook run --resume (14 answered, 6 live) | {summary(resumed)} |")
        print(f"| the 6 live steps alone | {summary(six)} |")
        more = (statistics.median(resumed) - statistics.median(six)) * 1000
        met = "met" if more < 20 else "MISSED"
        print(f"\nresuming costs {more:.1f} ms more than the 6 steps alone; target under 20 ms: {met}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
