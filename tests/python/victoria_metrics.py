"""A real VictoriaMetrics single-node server for the tests, loaded with tests/fixtures/incident.om.

Debian does not package it: the tests use the binary that `PLAYBOOK_VICTORIA_METRICS` names
(.ci/run sets it when it finds one). Without it the tests that need it are skipped, saying why.
The fixture's samples (OpenMetrics, timestamps in seconds) are imported through
`/api/v1/import/prometheus` (timestamps in milliseconds), then flushed so they are searchable.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

from http_stub import free_port
from prometheus import INCIDENT_OM

ENV = "PLAYBOOK_VICTORIA_METRICS"


def binary() -> str | None:
    path = os.environ.get(ENV)
    return path if path and os.access(path, os.X_OK) else None


def prometheus_text(openmetrics: Path) -> bytes:
    """The fixture's samples as Prometheus text with millisecond timestamps."""
    lines = []
    for line in openmetrics.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        series, value, seconds = line.rsplit(" ", 2)
        lines.append(f"{series} {value} {round(float(seconds) * 1000)}")
    return ("\n".join(lines) + "\n").encode()


class VictoriaServer:
    """A Victoria* single-node server started on a free loopback port with its data in
    `workdir`, ready once `/health` answers; `stop` ends it. VictoriaLogs starts the same way."""

    def __init__(self, name: str, executable: str, workdir: Path, ready_timeout: float = 30, args=()):
        self.log_path = workdir / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-storageDataPath={workdir / 'data'}",
                    "-retentionPeriod=100y",
                    *args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not become ready")
                time.sleep(0.1)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST", headers=headers or {})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert r.status in (200, 204), r.status

    def flush(self) -> None:
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class VictoriaMetrics(VictoriaServer):
    def __init__(self, workdir: Path):
        super().__init__("victoria-metrics", binary(), workdir, args=["-search.latencyOffset=1s"])
        self.post("/api/v1/import/prometheus", prometheus_text(INCIDENT_OM))
        self.flush()
