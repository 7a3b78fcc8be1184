"""Re-records notebooks/journals/NAME.jsonl, the journals shipped beside the notebooks, so that
`playbook run notebooks/NAME.ipynb --replay notebooks/journals/NAME.jsonl` shows the notebook's
outputs with no server at all.

    cargo build --release && python3 tests/python/record_journals.py

Each notebook runs with its parameters' defaults against the test fixture's Prometheus
(prometheus.py), served on 127.0.0.1:9090: the port the defaults name, so that the recorded
steps (the readiness probe's URL among them) are the ones a replay with the defaults asks for.
Port 9090 must be free. test_journal.py checks that each journal verifies, replays with the
expected exit status, and still matches its notebook run live.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import prometheus
from kernel_client import REPO, playbook_bin

PORT = 9090
# The notebooks with a shipped journal, and the exit status of their run on the fixture's data.
NOTEBOOKS = {"incident-5xx": 1, "release-readiness": 0, "post-deploy-verification": 1}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="playbook-journals-"))
    blocks = prometheus.build_blocks(work / "blocks")
    prometheus.free_port = lambda: PORT  # the server binds the port the defaults name
    server = prometheus.PrometheusServer(blocks, work / "server")
    status = 0
    try:
        journals = REPO / "notebooks" / "journals"
        journals.mkdir(exist_ok=True)
        for name, expected in NOTEBOOKS.items():
            journal = journals / f"{name}.jsonl"
            journal.unlink(missing_ok=True)
            proc = subprocess.run(
                [str(playbook_bin()), "run", str(REPO / "notebooks" / f"{name}.ipynb"),
                 "--journal", str(journal), "-o", str(work / f"{name}.out.ipynb")],
                cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
            )
            verdict = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            print(f"{name}: exit {proc.returncode}: {verdict}")
            if proc.returncode != expected:
                print(f"  expected exit {expected}:\n{proc.stderr}", file=sys.stderr)
                status = 1
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
