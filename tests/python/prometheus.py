"""A real Prometheus for the tests, loaded with tests/fixtures/incident.om.

`promtool tsdb create-blocks-from openmetrics` turns the fixture into TSDB blocks once per
session (`build_blocks`); every `PrometheusServer` copies those blocks into its own data
directory and serves them on a free loopback port, until `stop()`.

Backfilled blocks hold samples but no metadata (HELP, TYPE), which Prometheus only learns by
scraping. So each server scrapes one target: a small HTTP server in this process (an
http_stub.StubServer) that serves tests/fixtures/metadata.prom, the fixture's HELP and TYPE
lines without samples. That adds Prometheus's own per-target series (`up`, `scrape_*`, with
labels `job` and `instance`) at the current time, far from the fixture's November 2026 data.

Uses the binaries of Debian's `prometheus` package (2.42): /usr/bin/prometheus and
/usr/bin/promtool (or PROMETHEUS_BIN / PROMTOOL_BIN).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from http_stub import StubReply, StubRequest, StubServer, free_port
from kernel_client import REPO

FIXTURES = REPO / "tests" / "fixtures"
INCIDENT_OM = FIXTURES / "incident.om"
METADATA_PROM = FIXTURES / "metadata.prom"

# The fixture's timeline (see tests/fixtures/README.md).
INCIDENT_START = "2026-11-20T10:00:00Z"
INCIDENT_END = "2026-11-20T12:00:00Z"
BASELINE_START = "2026-11-13T10:00:00Z"
BASELINE_END = "2026-11-13T12:00:00Z"


def binary(name: str, env: str) -> str:
    path = os.environ.get(env) or shutil.which(name) or f"/usr/bin/{name}"
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"`{name}` not found: install Debian's prometheus package "
            f"(apt-get install prometheus; bash .ci/run does) or set {env}"
        )
    return path


def unix(rfc3339: str) -> float:
    return datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def build_blocks(dest: Path, data: Path = INCIDENT_OM) -> Path:
    """TSDB blocks of `data` (OpenMetrics, the incident fixture unless told) in `dest`
    (created), made by promtool."""
    proc = subprocess.run(
        [binary("promtool", "PROMTOOL_BIN"), "tsdb", "create-blocks-from", "openmetrics",
         str(data), str(dest)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"promtool failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    blocks = [p for p in dest.iterdir() if (p / "meta.json").is_file()]
    if not blocks:
        raise RuntimeError(f"promtool wrote no blocks:\n{proc.stdout}\n{proc.stderr}")
    return dest


def metadata_target() -> StubServer:
    """Serves tests/fixtures/metadata.prom as a scrape target on a loopback port."""
    body = METADATA_PROM.read_bytes()
    return StubServer(lambda request: StubReply(200, body, "text/plain; version=0.0.4; charset=utf-8"))


class PrometheusServer:
    """A Prometheus process serving a copy of `blocks` on 127.0.0.1; `url` is its base URL."""

    def __init__(self, blocks: Path, workdir: Path, ready_timeout: float = 30) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        shutil.copytree(blocks, self.data)
        self.target = metadata_target()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: metadata\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.target.port}']\n"
        )
        self.log_path = workdir / "prometheus.log"
        self.process = None
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [
                        binary("prometheus", "PROMETHEUS_BIN"),
                        f"--config.file={config}",
                        f"--storage.tsdb.path={self.data}",
                        "--storage.tsdb.retention.time=100y",
                        f"--web.listen-address=127.0.0.1:{self.port}",
                        "--log.level=warn",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                )
            try:
                self.wait_ready(ready_timeout)
                return
            except RuntimeError:
                if self.process.poll() is None or "address already in use" not in self.log():
                    self.stop()
                    raise
        self.stop()
        raise RuntimeError(f"Prometheus could not bind a port:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ready = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {self.process.returncode}:\n{self.log()}")
            try:
                if not ready:
                    with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                        ready = r.status == 200
                # Ready to serve queries; wait for the first scrape of the metadata too.
                if ready and self.api("metadata", metric="http_requests_total"):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Prometheus not ready within {timeout} s:\n{self.log()}")

    def api(self, path: str, **params) -> object:
        """GET /api/v1/PATH?params and return `data` (raises on an error status)."""
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"/api/v1/{path}: {body}")
        return body["data"]

    def query_range(self, expr: str, start: str, end: str, step: float) -> list[dict]:
        """The matrix of a range query: [{"metric": labels, "values": [(t, float)...]}...]."""
        data = self.api("query_range", query=expr, start=unix(start), end=unix(end), step=step)
        assert data["resultType"] == "matrix", data
        return [
            {"metric": s["metric"], "values": [(float(t), float(v)) for t, v in s["values"]]}
            for s in data["result"]
        ]

    def query(self, expr: str, at: str) -> list[dict]:
        data = self.api("query", query=expr, time=unix(at))
        assert data["resultType"] == "vector", data
        return [{"metric": s["metric"], "value": float(s["value"][1])} for s in data["result"]]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.target.stop()


# --- answers for stand-ins of a Prometheus server (http_stub.StubServer), for faults and for ---
# --- what the kernel sends ------------------------------------------------------------------


def api_success(request: StubRequest, warnings: list[str] | None = None) -> StubReply:
    """A plausible successful Prometheus API answer to `request`: one series `up{job="stub"}`
    at 1 for range and instant queries, and small lists for the label and metadata endpoints."""
    path = request.path
    if path.endswith("/query_range"):
        start, end = float(request.param("start")), float(request.param("end"))
        step = float(request.param("step"))
        n = min(int((end - start) // step) + 1, 11_000)
        data = {
            "resultType": "matrix",
            "result": [{"metric": {"__name__": "up", "job": "stub"},
                        "values": [[start + i * step, "1"] for i in range(n)]}],
        }
    elif path.endswith("/query"):
        t = float(request.param("time") or time.time())
        data = {"resultType": "vector",
                "result": [{"metric": {"__name__": "up", "job": "stub"}, "value": [t, "1"]}]}
    elif path.endswith("/labels"):
        data = ["__name__", "job"]
    elif "/label/" in path and path.endswith("/values"):
        data = ["up"] if "/label/__name__/" in path else ["stub"]
    elif path.endswith("/metadata"):
        data = {"up": [{"type": "gauge", "help": "1 if the target is up.", "unit": ""}]}
    elif path.endswith("/series"):
        data = [{"__name__": "up", "job": "stub"}]
    else:
        return StubReply(404, "404 page not found\n", "text/plain; charset=utf-8")
    body = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return StubReply(200, body)


def incident_notebook(prometheus_url: str):
    """notebooks/incident-5xx.ipynb with its parameters cell pointing at `prometheus_url`, the
    way papermill would inject it (papermill has no translator for this kernel's language)."""
    import re

    import nbformat

    nb = nbformat.read(REPO / "notebooks" / "incident-5xx.ipynb", as_version=4)
    [cell] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    source, n = re.subn(r'(?m)^param prometheus = .*$', f'param prometheus = "{prometheus_url}"',
                        cell.source)
    assert n == 1, f"no `param prometheus = ...` line in the parameters cell:\n{cell.source}"
    cell.source = source
    return nb
