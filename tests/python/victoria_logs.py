"""A real VictoriaLogs single-node server for the tests, loaded with
tests/fixtures/incident-logs.jsonl.

Debian does not package it: the tests use the binary that `PLAYBOOK_VICTORIA_LOGS` names
(.ci/run sets it when it finds one). Without it the tests that need it are skipped, saying why.
The fixture is ingested through `/insert/jsonline` with `service` and `instance` as the stream's
fields, `ts` as the time and `msg` as the message, then flushed so that it is searchable.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from http_stub import free_port

ENV = "PLAYBOOK_VICTORIA_LOGS"


def binary() -> str | None:
    path = os.environ.get(ENV)
    return path if path and os.access(path, os.X_OK) else None


class VictoriaLogs:
    def __init__(self, workdir: Path, logs: Path, ready_timeout: float = 30):
        self.log_path = workdir / "victoria-logs.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    binary(),
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-storageDataPath={workdir / 'data'}",
                    "-retentionPeriod=100y",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"VictoriaLogs exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("VictoriaLogs did not become ready")
                time.sleep(0.1)
        params = urllib.parse.urlencode(
            {"_stream_fields": "service,instance", "_time_field": "ts", "_msg_field": "msg"}
        )
        request = urllib.request.Request(
            f"{self.url}/insert/jsonline?{params}",
            data=logs.read_bytes(),
            method="POST",
            # Without it VictoriaLogs drops the body and still answers 200.
            headers={"Content-Type": "application/stream+json"},
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            assert r.status in (200, 204), r.status
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
