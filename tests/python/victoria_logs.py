"""A real VictoriaLogs single-node server for the tests, loaded with
tests/fixtures/incident-logs.jsonl.

Debian does not package it: the tests use the binary that `PLAYBOOK_VICTORIA_LOGS` names
(.ci/run sets it when it finds one). Without it the tests that need it are skipped, saying why.
The fixture is ingested through `/insert/jsonline` with `service` and `instance` as the stream's
fields, `ts` as the time and `msg` as the message, then flushed so that it is searchable.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from victoria_metrics import VictoriaServer

ENV = "PLAYBOOK_VICTORIA_LOGS"


def binary() -> str | None:
    path = os.environ.get(ENV)
    return path if path and os.access(path, os.X_OK) else None


class VictoriaLogs(VictoriaServer):
    def __init__(self, workdir: Path, logs: Path):
        super().__init__("victoria-logs", binary(), workdir)
        params = urllib.parse.urlencode(
            {"_stream_fields": "service,instance", "_time_field": "ts", "_msg_field": "msg"}
        )
        # Without the Content-Type VictoriaLogs drops the body and still answers 200.
        self.post(f"/insert/jsonline?{params}", logs.read_bytes(),
                  headers={"Content-Type": "application/stream+json"})
        self.flush()
