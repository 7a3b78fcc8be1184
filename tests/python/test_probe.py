"""Synthetic probes against servers this module starts: `probe URL [expect STATUS] [within D]
[header K=V]... [insecure]`, `NAME = probe ...` and `check "TITLE": probe ...`.

The servers (http_stub.StubServer, answering as `answer` says) listen on 127.0.0.1 on random
ports, in threads of this process:
- plain HTTP (fixture `site`): /ok (200, a body of OK_BYTES), /fail (500), /slow (200 after 2 s),
  /moved (301 to /ok), /headers (200, records the request's headers);
- https with a self-signed certificate made here, valid CERT_DAYS days (fixture `tls_site`),
  with a self-signed CA certificate as its own (`ca_tls_site`), and with an expired one
  (`expired_tls_site`);
- a port where nothing listens (fixture `closed_port`): connection refused.

A probe that fails is not an error: the cell shows a `✗ FAIL` line and its reply is `ok`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
import time

import pytest

from http_stub import StubReply, StubServer, free_port
from kernel_client import bundles, errors, execute, run_ok

OK_BYTES = 3482  # shown as 3.4 KB
CERT_DAYS = 30
SLOW_SECONDS = 2


# --- servers ----------------------------------------------------------------------------------


def answer(request) -> StubReply:
    """What every test site answers, by path."""
    if request.path in ("/ok", "/headers"):
        return StubReply(200, b"x" * OK_BYTES, "text/plain")
    if request.path == "/fail":
        return StubReply(500, b"internal error\n", "text/plain")
    if request.path == "/slow":
        return StubReply(200, b"finally\n", "text/plain", delay=SLOW_SECONDS)
    if request.path == "/moved":
        return StubReply(301, b"", "text/plain", headers=[("Location", "/ok")])
    return StubReply(404, b"not found\n", "text/plain")


def self_signed(tmp_path, name: str, not_before: dt.datetime, not_after: dt.datetime, ca: bool):
    """A TLS server context with a self-signed P-256 certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def site():
    server = StubServer(answer)
    yield server
    server.stop()


def tls_stub(tmp_path_factory, name: str, not_before, not_after, ca: bool):
    """A stub serving `answer` over TLS with a self-signed certificate valid between the two
    times, stopped when the fixture that yields from it ends."""
    context = self_signed(tmp_path_factory.mktemp(f"tls-{name}"), name, not_before, not_after, ca=ca)
    server = StubServer(answer, tls=context)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory):
    yield from tls_stub(
        tmp_path_factory, "valid", now() - dt.timedelta(hours=1), now() + dt.timedelta(days=CERT_DAYS), ca=False
    )


@pytest.fixture(scope="module")
def ca_tls_site(tmp_path_factory):
    """The self-signed certificate that `openssl req -x509` makes by default: a CA's."""
    yield from tls_stub(
        tmp_path_factory, "ca", now() - dt.timedelta(hours=1), now() + dt.timedelta(days=CERT_DAYS), ca=True
    )


@pytest.fixture(scope="module")
def expired_tls_site(tmp_path_factory):
    yield from tls_stub(
        tmp_path_factory, "expired", now() - dt.timedelta(days=40), now() - dt.timedelta(days=3, hours=1), ca=False
    )


@pytest.fixture
def closed_port() -> int:
    """A port that was just free: nothing listens there, so connecting is refused."""
    return free_port()


# --- helpers ----------------------------------------------------------------------------------


def shown(kc, code: str, timeout: float = 30) -> str:
    """Run `code`, assert it succeeded with one display, and return that display's text/plain
    (after checking that text/html says the same verdict)."""
    displays = bundles(run_ok(kc, code, timeout=timeout))
    assert len(displays) == 1, f"{code!r} showed {len(displays)} outputs: {displays}"
    [bundle] = displays
    text, html = bundle["text/plain"], bundle.get("text/html", "")
    verdict = text.split(" ", 2)[:2]
    assert verdict in (["✓", "PASS"], ["✗", "FAIL"]), f"not a pass/fail line: {text!r}"
    assert " ".join(verdict) in html, f"text/html does not say {verdict}: {html!r}"
    return text


def passes(text: str) -> bool:
    return text.startswith("✓ PASS")


LATENCY = r"\d+(\.\d+)? (ms|s)\b"


# --- plain probes -----------------------------------------------------------------------------


def test_a_200_passes_with_status_latency_and_size(kernel, site):
    km, kc = kernel
    url = f"http://127.0.0.1:{site.port}/ok"
    text = shown(kc, f"probe {url}")
    assert passes(text), text
    assert f"GET {url}" in text, text
    assert re.search(rf"\b200 in {LATENCY}", text), f"no status and latency: {text}"
    assert "3.4 KB" in text, f"the body's size ({OK_BYTES} bytes) is not shown: {text}"
    assert "certificate" not in text, f"plain http has no certificate: {text}"

    text = shown(kc, f"probe {url} expect 200 within 5s")
    assert passes(text), text


def test_an_unexpected_status_fails_naming_both(kernel, site):
    km, kc = kernel
    url = f"http://127.0.0.1:{site.port}/fail"
    text = shown(kc, f"probe {url} expect 200")
    assert text.startswith("✗ FAIL"), text
    assert re.search(r"expected 200\b.*\b500\b", text), f"both statuses are not named: {text}"
    assert re.search(LATENCY, text), f"a failed answer still has a latency: {text}"

    # Without `expect`, any 2xx passes and anything else fails.
    text = shown(kc, f"probe {url}")
    assert text.startswith("✗ FAIL") and "500" in text, text
    # Expecting the 500 makes it pass.
    assert passes(shown(kc, f"probe {url} expect 500"))


def test_a_redirect_is_not_followed(kernel, site):
    km, kc = kernel
    url = f"http://127.0.0.1:{site.port}/moved"
    before = len(site.requests)
    text = shown(kc, f"probe {url}")
    assert text.startswith("✗ FAIL") and "301" in text, text
    assert "/ok" in text, f"the redirect's target is not shown: {text}"
    assert [r.path for r in site.requests[before:]] == ["/moved"], "the redirect was followed"
    assert passes(shown(kc, f"probe {url} expect 301"))


def test_within_gives_up_on_a_slow_answer(kernel, site):
    km, kc = kernel
    url = f"http://127.0.0.1:{site.port}/slow"
    started = time.monotonic()
    text = shown(kc, f"probe {url} within 500ms")
    took = time.monotonic() - started
    assert text.startswith("✗ FAIL"), text
    assert re.search(r"no answer within 500 ms|too slow", text), text
    assert took < 1.5, f"the probe waited {took:.1f} s on a 500 ms budget (the server takes {SLOW_SECONDS} s)"

    # With a budget it can meet, the same endpoint passes, and the latency shows the wait.
    text = shown(kc, f"probe {url} within 5s")
    assert passes(text), text
    assert re.search(r"200 in 2\.\d\d s", text), text


def test_connection_refused(kernel, closed_port):
    km, kc = kernel
    text = shown(kc, f"probe http://127.0.0.1:{closed_port}/health")
    assert text.startswith("✗ FAIL"), text
    assert "connection refused" in text, text


def test_unknown_host(kernel):
    km, kc = kernel
    # .invalid never resolves (RFC 6761); no resolver is asked anything it could answer.
    text = shown(kc, "probe http://nosuch.invalid/health within 5s")
    assert text.startswith("✗ FAIL"), text
    assert re.search(r"DNS|resolve", text), text


def test_a_header_reaches_the_server(kernel, site):
    km, kc = kernel
    before = len(site.requests)
    text = shown(kc, f"probe http://127.0.0.1:{site.port}/headers header X-Probe=1 header X-Team=sre")
    assert passes(text), text
    [request] = site.requests[before:]
    path, headers = request.path, request.headers
    assert path == "/headers"
    assert headers.get("x-probe") == "1", headers
    assert headers.get("x-team") == "sre", headers


# --- TLS --------------------------------------------------------------------------------------


def test_a_self_signed_certificate_fails_unless_insecure(kernel, tls_site):
    km, kc = kernel
    url = f"https://127.0.0.1:{tls_site.port}/ok"
    text = shown(kc, f"probe {url}")
    assert text.startswith("✗ FAIL"), text
    assert "TLS" in text and re.search(r"not trusted|self-signed", text), text
    assert "insecure" in text, f"the reason does not say how to accept the certificate: {text}"

    text = shown(kc, f"probe {url} insecure")
    assert passes(text), text
    assert re.search(rf"\b200 in {LATENCY}", text), text
    days = re.search(r"certificate valid (\d+) more days", text)
    assert days, f"the certificate's days left are not shown: {text}"
    assert int(days.group(1)) in (CERT_DAYS - 1, CERT_DAYS), text


def test_a_self_signed_ca_certificate_fails_unless_insecure(kernel, ca_tls_site):
    km, kc = kernel
    url = f"https://127.0.0.1:{ca_tls_site.port}/ok"
    text = shown(kc, f"probe {url}")
    assert text.startswith("✗ FAIL"), text
    assert "TLS" in text and re.search(r"not trusted|self-signed", text), text
    assert passes(shown(kc, f"probe {url} insecure"))


def test_an_expired_certificate(kernel, expired_tls_site):
    km, kc = kernel
    url = f"https://127.0.0.1:{expired_tls_site.port}/ok"
    text = shown(kc, f"probe {url}")
    assert text.startswith("✗ FAIL"), text
    assert "TLS" in text and "expired" in text, text

    # `insecure` accepts it, and the line still says it has expired.
    text = shown(kc, f"probe {url} insecure")
    assert passes(text), text
    assert re.search(r"certificate expired 3 days ago", text), text


def test_plain_http_to_a_tls_port(kernel, tls_site):
    km, kc = kernel
    text = shown(kc, f"probe http://127.0.0.1:{tls_site.port}/ok within 5s")
    assert text.startswith("✗ FAIL"), text


# --- bound probes and checks ------------------------------------------------------------------


def test_a_bound_probe_shows_again(kernel, site):
    km, kc = kernel
    url = f"http://127.0.0.1:{site.port}/ok"
    first = shown(kc, f"health = probe {url} expect 200")
    assert passes(first), first
    again = shown(kc, "health")
    assert again.startswith("✓ PASS") and url in again, again


def test_checks_pass_and_fail_and_join_the_findings(kernel, site, closed_port):
    km, kc = kernel
    ok, fail = f"http://127.0.0.1:{site.port}/ok", f"http://127.0.0.1:{site.port}/fail"

    text = shown(kc, f'check "api answers": probe {ok} expect 200 within 2s')
    assert text.startswith("✓ PASS api answers"), text
    assert re.search(rf"200 in {LATENCY}", text), text

    text = shown(kc, f'check "api healthy": probe {fail} expect 200')
    assert text.startswith("✗ FAIL api healthy"), text
    assert re.search(r"expected 200\b.*\b500\b", text), text

    text = shown(kc, f'check "old api gone": probe http://127.0.0.1:{closed_port}/')
    assert text.startswith("✗ FAIL old api gone"), text
    assert "connection refused" in text, text

    reply, outputs = execute(kc, "findings")
    assert reply["content"]["status"] == "ok", reply
    [listing] = bundles(outputs)
    lines = listing["text/plain"].splitlines()
    for title, verdict in [("api answers", "PASS"), ("api healthy", "FAIL"), ("old api gone", "FAIL")]:
        [line] = [line for line in lines if title in line]
        assert verdict in line, listing["text/plain"]
    assert "3 checks: 2 failed, 1 passed" in lines[0], lines[0]


def test_a_probe_with_a_bad_option_is_a_parse_error(kernel, site):
    km, kc = kernel
    reply, outputs = execute(kc, f"probe http://127.0.0.1:{site.port}/ok expect ok")
    assert reply["content"]["status"] == "error", reply
    [err] = errors(outputs)
    assert err["ename"] == "ParseError", err
    assert "not an HTTP status" in err["evalue"], err
