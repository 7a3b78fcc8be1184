"""Scripted HTTP(S) servers on loopback ports, in threads of the test process.

One server class serves every test that needs a web server of its own: the Prometheus stand-ins
of the metrics tests (prometheus.api_success answers like the API), the metadata scrape target
of the real Prometheus (prometheus.py), and the sites the probe tests look at (test_probe.py).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A loopback port that was free a moment ago: bound, then released. Nothing listens there
    until something binds it again, so connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubRequest:
    """A request as the server received it: method, path, query (and form) parameters, and
    headers with lower-case names."""

    def __init__(self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]):
        self.method = method
        self.path = path
        self.params = params
        self.headers = headers

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.params}"


class StubReply:
    """What to answer: a status, a body (bytes, text, or a dict or list sent as JSON), its
    content type, extra headers, and a delay before answering."""

    def __init__(self, status: int = 200, body: object = b"", content_type: str = "application/json",
                 delay: float = 0.0, headers: list[tuple[str, str]] | None = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.delay = delay
        self.headers = headers or []


class StubServer:
    """An HTTP server on a loopback port whose answers `respond(StubRequest) -> StubReply`
    scripts; with `tls` (a server SSLContext) it speaks https. It records every request;
    `request_seen` is set at each one. A reply's delay is slept in small steps, so `stop()`
    returns quickly even while a reply is being held back."""

    def __init__(self, respond, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[StubRequest] = []
        self.request_seen = threading.Event()
        self.stopping = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                parsed = urllib.parse.urlsplit(self.path)
                params = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    body = self.rfile.read(length).decode("utf-8", "replace")
                    if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                        for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items():
                            params.setdefault(k, []).extend(v)
                request = StubRequest(self.command, parsed.path, params,
                                      {k.lower(): v for k, v in self.headers.items()})
                stub.requests.append(request)
                stub.request_seen.set()
                reply = respond(request)
                deadline = time.monotonic() + reply.delay
                while time.monotonic() < deadline and not stub.stopping.is_set():
                    time.sleep(0.02)
                body = reply.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up and hung up (a timeout or an interrupt): expected

            do_GET = handle_any  # noqa: N815
            do_POST = handle_any  # noqa: N815

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                # A client that rejects the certificate, or speaks plain http to the https port,
                # ends the handshake: expected in the TLS tests, not a failure of the server.
                if tls is None:
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            # The handshake happens in the request's thread, not in the accept loop.
            self.server.socket = tls.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self.server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def api_requests(self, endpoint: str) -> list[StubRequest]:
        """The requests made to /api/v1/ENDPOINT."""
        return [r for r in self.requests if r.path.rstrip("/") == f"/api/v1/{endpoint}"]

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
