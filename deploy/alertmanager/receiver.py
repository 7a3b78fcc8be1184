#!/usr/bin/env python3
"""An Alertmanager webhook receiver that starts a playbook Job for each firing alert.

    python3 receiver.py --template job.yaml --routes routes.json [--listen 0.0.0.0:8080]
                        [--token-file FILE] [--print]

Alertmanager POSTs its webhook JSON to /alerts. For each firing alert whose `alertname` has a
route in routes.json, the receiver renders the Job template (deploy/job.yaml, through
deploy/render.py, which must sit beside this file) with the route's notebook and parameters and
the alert's labels as `-p NAME=VALUE`, and creates the Job through the Kubernetes API with the
pod's service account. Resolved alerts and alerts without a route start nothing.

What of an alert reaches the Job, as labels can carry any text (a label's value may come from a
request path or a user agent):
- a label becomes a parameter only if its name is one `playbook run -p` accepts (a letter or
  `_`, then letters, digits, `_`; names starting with `__` are left out), the route lets that
  label through (`labels`, when the route lists them), and the route does not set that
  parameter itself (`params` of the route always win: a label cannot point a run at another
  Prometheus, with the run's token);
- its value must be at most 256 characters, without control characters (newlines included),
  and without `"` or `\\`: a notebook inserts a parameter into a PromQL or LogQL string as
  written (`service="{{service}}"`), so a quote in a label could rewrite the query;
- it is passed as one argv element `NAME=VALUE`, with no shell anywhere, and `$` doubled so
  that Kubernetes does not expand `$(VAR)` in it with the container's environment.
A label that fails any of these is left out (and logged by name, never by value).

The Job is named after the route, the alert's fingerprint and its start, so a notification
that Alertmanager repeats finds the Job already there (409) and starts nothing new.

--print: create nothing; answer (and print on stdout) the Jobs that would be created. That is
how it is tested without a cluster.

Standard library only, and PyYAML for the template (render.py).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import re
import ssl
import sys
import unicodedata
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# render.py: beside this file (as the ConfigMap mounts them), or in deploy/ (this repository).
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import render  # noqa: E402

PATH = "/alerts"
MAX_BODY = 1024 * 1024
MAX_ALERTS = 50
MAX_VALUE = 256
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")

log = logging.getLogger("playbook-receiver")


def load_routes(path: str | Path) -> dict[str, dict]:
    """routes.json: {"routes": [{"alertname", "notebook", "params"?, "labels"?, "tags"?}]}."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    routes = {}
    for route in doc["routes"]:
        name = route["alertname"]
        if name in routes:
            raise ValueError(f"two routes for alertname {name}")
        # Checked now, not at the first alert: a bad route stops the receiver from starting.
        render.playbook_args(route["notebook"], route.get("params", {}), route.get("tags"))
        for label in route.get("labels", []):
            if not render.PARAM_NAME.match(label):
                raise ValueError(f"route {name}: label {label!r} is not a parameter name")
        routes[name] = route
    return routes


def value_ok(value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_VALUE or '"' in value or "\\" in value:
        return False
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)


def params_for(route: dict, labels: dict) -> tuple[dict[str, str], list[str]]:
    """The parameters of the Job for an alert with `labels`, and the labels left out."""
    params = dict(route.get("params", {}))
    allowed = route.get("labels")
    dropped = []
    for name in sorted(labels, key=str):
        value = labels[name]
        if (
            not isinstance(name, str)
            or not render.PARAM_NAME.match(name)
            or name.startswith("__")
            or (allowed is not None and name not in allowed)
            or name in route.get("params", {})
            or not value_ok(value)
        ):
            dropped.append(name if isinstance(name, str) else repr(name))
            continue
        params[name] = value
    return params, dropped


def slug(text: str, size: int) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:size].strip("-") or "alert"


def job_for(template: dict, route: dict, alert: dict) -> tuple[dict, list[str]]:
    labels = alert.get("labels") or {}
    if not isinstance(labels, dict):
        raise ValueError("the alert's labels are not an object")
    params, dropped = params_for(route, labels)
    fingerprint = str(alert.get("fingerprint", ""))
    if not re.fullmatch(r"[0-9a-f]{1,64}", fingerprint):
        # Alertmanager always sends one; without it, the labels identify the alert.
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    started = str(alert.get("startsAt", ""))[:64]
    digest = hashlib.sha256(f"{route['notebook']}\0{fingerprint}\0{started}".encode()).hexdigest()[:10]
    name = f"playbook-{slug(route['alertname'], 30)}-{digest}"
    annotations = {
        "playbook/alertname": route["alertname"],
        "playbook/fingerprint": fingerprint,
    }
    job = render.render(template, route["notebook"], params, route.get("tags"), name, annotations)
    return job, dropped


class Cluster:
    """The Kubernetes API, as the pod's service account."""

    def __init__(self, namespace: str | None):
        self.base = "https://{}:{}".format(
            os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        )
        self.namespace = namespace or (SERVICE_ACCOUNT / "namespace").read_text().strip()
        self.tls = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))

    def create_job(self, job: dict) -> str:
        """"created", or "exists" when a Job of that name is already there."""
        token = (SERVICE_ACCOUNT / "token").read_text().strip()  # read each time: it rotates
        request = urllib.request.Request(
            f"{self.base}/apis/batch/v1/namespaces/{self.namespace}/jobs",
            data=json.dumps(job).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=10):
                return "created"
        except urllib.error.HTTPError as e:
            if e.code == HTTPStatus.CONFLICT:
                return "exists"
            raise RuntimeError(f"the API answered {e.code} for job {job['metadata']['name']}") from None


class Receiver(BaseHTTPRequestHandler):
    server_version = "playbook-receiver"
    # Set on the class by serve().
    template: dict = {}
    routes: dict = {}
    token: str | None = None
    cluster: Cluster | None = None  # None: --print

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self.answer(HTTPStatus.OK, {"ok": True})
        else:
            self.answer(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self):
        if self.path != PATH:
            return self.answer(HTTPStatus.NOT_FOUND, {"error": "not found"})
        if self.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return self.answer(HTTPStatus.UNAUTHORIZED, {"error": "a bearer token is needed"})
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.answer(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is needed"})
        if not 0 < size <= MAX_BODY:
            return self.answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"at most {MAX_BODY} bytes"})
        try:
            payload = json.loads(self.rfile.read(size))
            alerts = payload["alerts"]
            if not isinstance(alerts, list):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self.answer(HTTPStatus.BAD_REQUEST, {"error": "not an Alertmanager webhook payload"})
        if len(alerts) > MAX_ALERTS:
            return self.answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"at most {MAX_ALERTS} alerts"})

        jobs, skipped, outcome = [], [], {}
        for alert in alerts:
            if not isinstance(alert, dict):
                skipped.append({"why": "not an alert"})
                continue
            labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
            alertname = labels.get("alertname")
            if alert.get("status") != "firing":
                skipped.append({"alertname": alertname, "why": "not firing"})
                continue
            route = self.routes.get(alertname) if isinstance(alertname, str) else None
            if route is None:
                skipped.append({"alertname": alertname, "why": "no route"})
                continue
            try:
                job, dropped = job_for(self.template, route, alert)
            except ValueError as e:
                skipped.append({"alertname": alertname, "why": str(e)})
                continue
            if dropped:
                log.info("alert %s: labels left out: %s", alertname, ", ".join(dropped))
            jobs.append(job)

        if self.cluster is None:
            for job in jobs:
                print(json.dumps(job), flush=True)
            return self.answer(HTTPStatus.OK, {"jobs": jobs, "skipped": skipped})
        try:
            for job in jobs:
                name = job["metadata"]["name"]
                outcome[name] = self.cluster.create_job(job)
                log.info("job %s: %s", name, outcome[name])
        except (RuntimeError, OSError) as e:
            log.error("%s", e)
            # Alertmanager sends the notification again: what was created is found then (409).
            return self.answer(HTTPStatus.BAD_GATEWAY, {"error": str(e), "jobs": outcome})
        return self.answer(HTTPStatus.OK, {"jobs": outcome, "skipped": skipped})


def serve(args) -> None:
    Receiver.template = render.load(args.template)
    Receiver.routes = load_routes(args.routes)
    Receiver.token = Path(args.token_file).read_text().strip() if args.token_file else None
    Receiver.cluster = None if args.print else Cluster(args.namespace)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Receiver)
    server.daemon_threads = True
    # The port actually bound (with :0, the one the system chose), for whoever started us.
    print(f"listening on {server.server_address[0]}:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = Path(__file__).resolve().parent
    beside = here / "job.yaml"
    template = beside if beside.exists() else here.parent / "job.yaml"
    parser.add_argument("--template", default=str(template), help="the Job template (job.yaml)")
    parser.add_argument("--routes", default=str(here / "routes.json"))
    parser.add_argument("--listen", default="0.0.0.0:8080", help="HOST:PORT")
    parser.add_argument("--namespace", help="where the Jobs go (default: the pod's own)")
    parser.add_argument("--token-file", help="require `Authorization: Bearer <this file's text>`")
    parser.add_argument("--print", action="store_true", help="create nothing: answer the Jobs instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    serve(args)


if __name__ == "__main__":
    main()
