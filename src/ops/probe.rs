//! Synthetic probes: one HTTP GET, judged against an expectation, as a canary would.
//!
//! A probe never fails as a step: an unreachable host, a timeout or a certificate problem is a
//! failed result whose `reason` says what happened in words a person on call can act on. A
//! canary reports failure; it does not crash the playbook that runs it.
//!
//! Every probe uses a client of its own, so each one opens a fresh connection: its latency
//! includes DNS, connect and the TLS handshake, and an https probe always sees the certificate.

use std::time::{Duration, Instant};

/// How long a probe waits for an answer when the spec sets no `within`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Reading the body stops here: a probe counts bytes, it does not download files.
pub const BODY_CAP: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub url: String,
    /// The status that passes; `None`: any 2xx.
    pub expect: Option<u16>,
    /// A latency budget: an answer slower than this fails. It is also how long the probe waits
    /// for an answer ([`DEFAULT_TIMEOUT`] when `None`).
    pub within: Option<Duration>,
    pub headers: Vec<(String, String)>,
    /// Accept invalid certificates: self-signed, expired, or for another host.
    pub insecure: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub url: String,
    /// `None` when no HTTP answer came.
    pub status: Option<u16>,
    /// Time to the response headers (DNS, connect and TLS included; the body is not), or until
    /// the probe gave up when no answer came.
    pub latency: Duration,
    /// The body's length as read, at most [`BODY_CAP`].
    pub body_bytes: u64,
    /// https only: whole days until the server certificate's notAfter; negative once expired.
    pub cert_days_left: Option<i64>,
    pub passed: bool,
    /// One line that reads well on its own: "200 in 12 ms", "expected 200, got 503 Service
    /// Unavailable (120 ms)", "connection refused by 127.0.0.1:8080", "no answer within 2 s".
    pub reason: String,
}

/// Probes endpoints. Recording, replay and dry-run wrap this trait; the engine sees only it.
#[async_trait::async_trait(?Send)]
pub trait Prober {
    /// Sends the probe and judges the answer. Never fails: every problem is a failed result.
    /// Dropping the future abandons the request.
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, super::NotRecorded>;
}

/// The real prober: one HTTP GET over a fresh connection.
///
/// Redirects are not followed: a probe reports what the URL itself answers, so a 301 is
/// visible (it fails unless the probe expects it) instead of being silently replaced by the
/// answer of another URL.
pub struct Http;

#[async_trait::async_trait(?Send)]
impl Prober for Http {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, super::NotRecorded> {
        Ok(self.send(spec).await)
    }
}

impl Http {
    async fn send(&self, spec: &ProbeSpec) -> ProbeResult {
        let budget = spec.within.unwrap_or(DEFAULT_TIMEOUT);
        let mut result = ProbeResult {
            url: spec.url.clone(),
            status: None,
            latency: Duration::ZERO,
            body_bytes: 0,
            cert_days_left: None,
            passed: false,
            reason: String::new(),
        };
        let client = match client(spec.insecure) {
            Ok(client) => client,
            Err(e) => {
                result.reason = format!("cannot set up an HTTP client: {}", root_cause(&e));
                return result;
            }
        };
        let mut request = client.get(&spec.url);
        for (name, value) in &spec.headers {
            match header(name, value) {
                Ok((name, value)) => request = request.header(name, value),
                Err(problem) => {
                    result.reason = format!("cannot send the request: {problem}");
                    return result;
                }
            }
        }

        let started = Instant::now();
        let answer = tokio::time::timeout(budget, request.send()).await;
        result.latency = super::elapsed_ms(started);
        let response = match answer {
            Err(_) => {
                result.reason = format!("no answer within {}", budget_text(budget));
                return result;
            }
            Ok(Err(e)) => {
                result.reason = transport_reason(&e, &spec.url);
                return result;
            }
            Ok(Ok(response)) => response,
        };

        let status = response.status();
        result.status = Some(status.as_u16());
        result.cert_days_left = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|tls| tls.peer_certificate())
            .and_then(|der| days_left(der, chrono::Utc::now().timestamp()));
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);

        // The body gets a budget of its own once the headers are in: latency is time to
        // headers, but a body that never ends must not hold the playbook.
        let (body_bytes, body_problem) = read_body(response, budget).await;
        result.body_bytes = body_bytes;

        let verdict = judge(&Answer {
            status: status.as_u16(),
            latency: result.latency,
            location: location.as_deref(),
            body_problem: body_problem.as_deref(),
            expect: spec.expect,
            within: spec.within,
        });
        result.passed = verdict.0;
        result.reason = verdict.1;
        result
    }
}

fn client(insecure: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .danger_accept_invalid_certs(insecure)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("playbook/", env!("CARGO_PKG_VERSION"), " (probe)"))
        .build()
}

/// A header as the request carries it, or what is wrong with it.
fn header(
    name: &str,
    value: &str,
) -> Result<(reqwest::header::HeaderName, reqwest::header::HeaderValue), String> {
    let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
    let value = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header `{name}` holds a character HTTP forbids"))?;
    Ok((name, value))
}

/// Counts the body's bytes, up to [`BODY_CAP`], for at most `budget`. The problem, if any, is
/// said as the end of a sentence: "but the body ...".
async fn read_body(mut response: reqwest::Response, budget: Duration) -> (u64, Option<String>) {
    let mut bytes = 0u64;
    let reading = async {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    bytes += chunk.len() as u64;
                    if bytes >= BODY_CAP {
                        return None;
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(root_cause(&e)),
            }
        }
    };
    let problem = match tokio::time::timeout(budget, reading).await {
        Ok(None) => None,
        Ok(Some(cause)) => Some(format!("the body broke off: {cause}")),
        Err(_) => Some(format!(
            "the body was still arriving after {}",
            budget_text(budget)
        )),
    };
    (bytes.min(BODY_CAP), problem)
}

/// What came back, and what was expected of it.
struct Answer<'a> {
    status: u16,
    latency: Duration,
    location: Option<&'a str>,
    body_problem: Option<&'a str>,
    expect: Option<u16>,
    within: Option<Duration>,
}

/// Whether an answer passes, and the line that says why.
fn judge(answer: &Answer) -> (bool, String) {
    let status = status_text(answer.status);
    let took = latency_text(answer.latency);
    let status_ok = match answer.expect {
        Some(expected) => answer.status == expected,
        None => (200..300).contains(&answer.status),
    };
    let over_budget = answer.within.filter(|&budget| answer.latency > budget);
    if !status_ok {
        let expected = match answer.expect {
            Some(expected) => expected.to_string(),
            None => "a 2xx status".to_owned(),
        };
        let mut got = status;
        if let (300..=399, Some(location)) = (answer.status, answer.location) {
            got.push_str(&format!(" → {location}"));
        }
        let mut notes = vec![took];
        if let Some(budget) = over_budget {
            notes.push(format!("over the {} budget", budget_text(budget)));
        }
        if (300..=399).contains(&answer.status) {
            notes.push("redirects are not followed".to_owned());
        }
        return (
            false,
            format!("expected {expected}, got {got} ({})", notes.join("; ")),
        );
    }
    if let Some(budget) = over_budget {
        return (
            false,
            format!(
                "{} in {took}: too slow, over the {} budget",
                answer.status,
                budget_text(budget)
            ),
        );
    }
    if let Some(problem) = answer.body_problem {
        return (false, format!("{} in {took}, but {problem}", answer.status));
    }
    (true, format!("{} in {took}", answer.status))
}

/// `503 Service Unavailable`, or only the number for a status without a standard name.
fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(name) => format!("{status} {name}"),
        None => status.to_string(),
    }
}

/// A measured time: `0.4 ms`, `12 ms`, `1.25 s`.
pub fn latency_text(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A budget as a person wrote it: `500 ms`, `2 s`, `1.5 s`.
fn budget_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{} s", ms as f64 / 1000.0)
    }
}

/// Whole days from `now` (Unix seconds) to the certificate's notAfter, rounded down, so a
/// certificate that expires in 30 days minus a minute has 29 left and an expired one has a
/// negative count. `None` when the DER is not a certificate.
fn days_left(der: &[u8], now: i64) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    Some((not_after - now).div_euclid(86_400))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The reason for a request that got no HTTP answer.
fn transport_reason(e: &reqwest::Error, url: &str) -> String {
    let mut messages = Vec::new();
    let mut io_kind = None;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        messages.push(err.to_string());
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            io_kind = io_kind.or(Some(io.kind()));
        }
        cause = err.source();
    }
    let failure = Failure {
        messages: &messages,
        io_kind,
        builder: e.is_builder(),
        timeout: e.is_timeout(),
    };
    failure.reason(&authority(url))
}

/// `host:port` of a URL, for messages; the URL itself when it does not parse.
fn authority(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// What is known of a request that failed before an answer: every message of its error chain,
/// outermost first, and the kind of the I/O error in it, if any. Kept apart from `reqwest`
/// so that the classification is tested without a network.
struct Failure<'a> {
    messages: &'a [String],
    io_kind: Option<std::io::ErrorKind>,
    builder: bool,
    timeout: bool,
}

impl Failure<'_> {
    fn has(&self, needle: &str) -> bool {
        self.messages.iter().any(|m| m.contains(needle))
    }

    fn find(&self, needle: &str) -> Option<&str> {
        self.messages
            .iter()
            .find_map(|m| m.find(needle).map(|at| &m[at + needle.len()..]))
    }

    fn root(&self) -> &str {
        self.messages.last().map_or("unknown error", String::as_str)
    }

    fn reason(&self, authority: &str) -> String {
        use std::io::ErrorKind;
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host);
        if self.builder {
            if self.has("URL scheme is not allowed") {
                return "cannot probe this URL: only http:// and https:// URLs can be probed"
                    .into();
            }
            return format!("cannot send the request: {}", self.root());
        }
        if self.timeout {
            return "no answer in time".into();
        }
        if let Some(detail) = self.find("invalid peer certificate: ") {
            return format!("TLS: {}", certificate_problem(detail));
        }
        if self.has("dns error") {
            return format!("DNS: cannot resolve {host} ({})", self.root());
        }
        match self.io_kind {
            Some(ErrorKind::ConnectionRefused) => {
                return format!("connection refused by {authority}")
            }
            Some(ErrorKind::ConnectionReset) => return format!("connection reset by {authority}"),
            Some(ErrorKind::TimedOut) => return format!("connecting to {authority} timed out"),
            _ => {}
        }
        if let Some(alert) = self.find("received fatal alert: ") {
            return format!("TLS handshake failed: the server sent the alert {alert}");
        }
        if self.has("InvalidContentType") || self.has("corrupt message") {
            return format!(
                "TLS handshake failed: {authority} does not answer in TLS (is it plain http://?)"
            );
        }
        if let Some(detail) = self.find("peer is incompatible: ") {
            return format!(
                "TLS handshake failed: no TLS version or cipher suite in common ({detail})"
            );
        }
        if self.has("invalid HTTP version") || self.has("invalid HTTP status") {
            return format!(
                "the answer from {authority} is not HTTP (is it https://?): {}",
                self.root()
            );
        }
        if self.has("connection closed before message completed") {
            return format!("{authority} closed the connection without answering");
        }
        if self.has("tcp connect error") {
            return format!("cannot connect to {authority}: {}", self.root());
        }
        format!("no answer from {authority}: {}", self.root())
    }
}

/// Rustls says what is wrong with a certificate as `CertificateError`'s text; this says it for
/// a person, and how to go on.
fn certificate_problem(detail: &str) -> String {
    const ACCEPT: &str = "add `insecure` to accept it";
    if detail.contains("UnknownIssuer") {
        return format!(
            "certificate is not trusted (self-signed, or issued by an unknown CA); {ACCEPT}"
        );
    }
    if detail.contains("CaUsedAsEndEntity") {
        return format!(
            "certificate is not trusted (self-signed: the server presents a CA certificate as its own); {ACCEPT}"
        );
    }
    if detail.starts_with("certificate expired") || detail == "Expired" {
        let ago = seconds_in(detail, " seconds ago)")
            .map(|s| format!(" {} ago", age_text(s)))
            .unwrap_or_default();
        return format!("certificate expired{ago}; {ACCEPT}");
    }
    if detail.starts_with("certificate not valid yet") || detail == "NotValidYet" {
        let until = seconds_in(detail, " seconds in future)")
            .map(|s| format!(" (valid in {})", age_text(s)))
            .unwrap_or_default();
        return format!("certificate is not valid yet{until}; {ACCEPT}");
    }
    if let Some(rest) = detail.strip_prefix("certificate not valid for name ") {
        return format!("{}; {ACCEPT}", wrong_host(rest));
    }
    if detail.contains("Revoked") {
        return "certificate has been revoked".into();
    }
    if detail.contains("BadSignature") {
        return format!("certificate signature is invalid; {ACCEPT}");
    }
    format!("invalid certificate ({detail}); {ACCEPT}")
}

/// The number of seconds just before `suffix`, as rustls writes `(123 seconds ago)`.
fn seconds_in(detail: &str, suffix: &str) -> Option<u64> {
    let head = &detail[..detail.find(suffix)?];
    let start = head.rfind('(')? + 1;
    head[start..].trim().parse().ok()
}

/// `3 days`, `1 day`, `5 hours`, `12 minutes`.
fn age_text(seconds: u64) -> String {
    let (n, unit) = if seconds >= 86_400 {
        (seconds / 86_400, "day")
    } else if seconds >= 3_600 {
        (seconds / 3_600, "hour")
    } else {
        ((seconds / 60).max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// From rustls' `"x.test"; certificate is only valid for DnsName("a.test") or DnsName("b.test")`.
fn wrong_host(rest: &str) -> String {
    let expected = rest
        .strip_prefix('"')
        .and_then(|r| r.split_once('"'))
        .map(|(name, _)| name);
    let mut names = Vec::new();
    let mut tail = rest;
    while let Some(at) = tail.find("Name(\"").or_else(|| tail.find("Address(")) {
        tail = &tail[at..];
        let (open, close) = if tail.starts_with("Name(\"") {
            ("Name(\"", "\")")
        } else {
            ("Address(", ")")
        };
        let body = &tail[open.len()..];
        let Some(end) = body.find(close) else { break };
        names.push(body[..end].to_owned());
        tail = &body[end..];
    }
    match (expected, names.is_empty()) {
        (Some(expected), false) => {
            format!("certificate is for {}, not {expected}", names.join(", "))
        }
        (Some(expected), true) => format!("certificate is not valid for {expected}"),
        (None, _) => format!("certificate is for another host ({rest})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    fn reason_at(authority: &str, messages: &[&str], io_kind: Option<ErrorKind>) -> String {
        let messages: Vec<String> = messages.iter().map(|m| m.to_string()).collect();
        Failure {
            messages: &messages,
            io_kind,
            builder: false,
            timeout: false,
        }
        .reason(authority)
    }

    fn reason(messages: &[&str], io_kind: Option<ErrorKind>) -> String {
        reason_at("127.0.0.1:8443", messages, io_kind)
    }

    fn answer(status: u16, ms: u64) -> Answer<'static> {
        Answer {
            status,
            latency: Duration::from_millis(ms),
            location: None,
            body_problem: None,
            expect: None,
            within: None,
        }
    }

    #[test]
    fn any_2xx_passes_by_default() {
        assert_eq!(judge(&answer(200, 12)), (true, "200 in 12 ms".into()));
        assert!(judge(&answer(204, 3)).0);
        assert_eq!(
            judge(&answer(503, 120)),
            (
                false,
                "expected a 2xx status, got 503 Service Unavailable (120 ms)".into()
            )
        );
    }

    #[test]
    fn an_expected_status_is_exact() {
        let mut a = answer(503, 120);
        a.expect = Some(200);
        assert_eq!(
            judge(&a),
            (
                false,
                "expected 200, got 503 Service Unavailable (120 ms)".into()
            )
        );
        a.expect = Some(503);
        assert_eq!(judge(&a), (true, "503 in 120 ms".into()));
        let mut odd = answer(299, 5);
        odd.expect = Some(200);
        assert_eq!(judge(&odd).1, "expected 200, got 299 (5.0 ms)");
    }

    #[test]
    fn a_redirect_is_shown_not_followed() {
        let mut a = answer(301, 4);
        a.location = Some("https://example.test/");
        assert_eq!(
            judge(&a).1,
            "expected a 2xx status, got 301 Moved Permanently → https://example.test/ (4.0 ms; redirects are not followed)"
        );
        a.expect = Some(301);
        assert!(judge(&a).0);
    }

    #[test]
    fn slower_than_the_budget_fails() {
        let mut a = answer(200, 812);
        a.within = Some(Duration::from_millis(500));
        assert_eq!(
            judge(&a),
            (
                false,
                "200 in 812 ms: too slow, over the 500 ms budget".into()
            )
        );
        a.status = 500;
        assert_eq!(
            judge(&a).1,
            "expected a 2xx status, got 500 Internal Server Error (812 ms; over the 500 ms budget)"
        );
        a.status = 200;
        a.within = Some(Duration::from_secs(1));
        assert!(judge(&a).0);
    }

    #[test]
    fn a_broken_body_fails() {
        let mut a = answer(200, 12);
        a.body_problem = Some("the body was still arriving after 2 s");
        assert_eq!(
            judge(&a),
            (
                false,
                "200 in 12 ms, but the body was still arriving after 2 s".into()
            )
        );
    }

    #[test]
    fn times_read_as_written() {
        assert_eq!(budget_text(Duration::from_millis(500)), "500 ms");
        assert_eq!(budget_text(Duration::from_secs(2)), "2 s");
        assert_eq!(budget_text(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(latency_text(Duration::from_micros(400)), "0.4 ms");
        assert_eq!(latency_text(Duration::from_micros(12_400)), "12 ms");
        assert_eq!(latency_text(Duration::from_millis(1250)), "1.25 s");
    }

    #[test]
    fn transport_failures() {
        assert_eq!(
            reason(
                &[
                    "error sending request for url (http://127.0.0.1:8443/)",
                    "client error (Connect)",
                    "tcp connect error",
                    "Connection refused (os error 111)",
                ],
                Some(ErrorKind::ConnectionRefused),
            ),
            "connection refused by 127.0.0.1:8443"
        );
        assert_eq!(
            reason_at(
                &authority("http://nosuch.invalid/health"),
                &[
                    "error sending request for url (http://nosuch.invalid/health)",
                    "client error (Connect)",
                    "dns error",
                    "failed to lookup address information: Name or service not known",
                ],
                Some(ErrorKind::Other),
            ),
            "DNS: cannot resolve nosuch.invalid (failed to lookup address information: Name or service not known)"
        );
        assert_eq!(
            reason(
                &[
                    "error sending request",
                    "client error (SendRequest)",
                    "connection closed before message completed",
                ],
                None,
            ),
            "127.0.0.1:8443 closed the connection without answering"
        );
        assert_eq!(
            reason(
                &[
                    "error sending request",
                    "client error (Connect)",
                    "received corrupt message of type InvalidContentType"
                ],
                Some(ErrorKind::InvalidData),
            ),
            "TLS handshake failed: 127.0.0.1:8443 does not answer in TLS (is it plain http://?)"
        );
        assert_eq!(
            reason(&["error sending request", "something new"], None),
            "no answer from 127.0.0.1:8443: something new"
        );
        let builder = Failure {
            messages: &["builder error".into(), "URL scheme is not allowed".into()],
            io_kind: None,
            builder: true,
            timeout: false,
        };
        assert!(builder.reason("x").contains("only http:// and https://"));
    }

    #[test]
    fn certificate_failures() {
        let tls = |detail: &str| {
            reason(
                &[
                    "error sending request",
                    "client error (Connect)",
                    &format!("invalid peer certificate: {detail}"),
                ],
                Some(ErrorKind::InvalidData),
            )
        };
        assert_eq!(
            tls("UnknownIssuer"),
            "TLS: certificate is not trusted (self-signed, or issued by an unknown CA); add `insecure` to accept it"
        );
        assert!(tls("Other(OtherError(CaUsedAsEndEntity))").contains("self-signed"));
        assert_eq!(
            tls("certificate expired: verification time 1700300000 (UNIX), but certificate is not valid after 1700000000 (300000 seconds ago)"),
            "TLS: certificate expired 3 days ago; add `insecure` to accept it"
        );
        assert_eq!(
            tls("certificate not valid yet: verification time 1700000000 (UNIX), but certificate is not valid before 1700007200 (7200 seconds in future)"),
            "TLS: certificate is not valid yet (valid in 2 hours); add `insecure` to accept it"
        );
        assert_eq!(
            tls(r#"certificate not valid for name "localhost"; certificate is only valid for DnsName("example.test") or IpAddress(10.0.0.1)"#),
            "TLS: certificate is for example.test, 10.0.0.1, not localhost; add `insecure` to accept it"
        );
        assert_eq!(
            tls(
                r#"certificate not valid for name "localhost"; certificate is not valid for any names (according to its subjectAltName extension)"#
            ),
            "TLS: certificate is not valid for localhost; add `insecure` to accept it"
        );
        assert_eq!(tls("Revoked"), "TLS: certificate has been revoked");
    }

    #[test]
    fn headers_are_checked_before_sending() {
        assert!(header("X-Probe", "1").is_ok());
        assert_eq!(
            header("B(d", "1").unwrap_err(),
            "`B(d` is not a valid HTTP header name"
        );
        assert!(header("X-Probe", "a\nb").unwrap_err().contains("`x-probe`"));
    }

    #[test]
    fn ages() {
        assert_eq!(age_text(30), "1 minute");
        assert_eq!(age_text(7_200), "2 hours");
        assert_eq!(age_text(86_400), "1 day");
    }

    /// `openssl req -x509 -newkey ec -days 30 -subj /CN=probe.test`: notAfter is
    /// 2026-12-26T14:18:10Z, 1798294690.
    const CERT_DER: [&str; 13] = [
        "3082017e30820125a00302010202141c36c699e071cf019d02b74905fa4d",
        "dae7cfadac300a06082a8648ce3d04030230153113301106035504030c0a",
        "70726f62652e74657374301e170d3236313132363134313831305a170d32",
        "36313232363134313831305a30153113301106035504030c0a70726f6265",
        "2e746573743059301306072a8648ce3d020106082a8648ce3d0301070342",
        "00045b2e103a8dfb9b62df52bd4ab7e15fb2aa3a30dea96ddc5cdda57392",
        "641b003ca2f25ceb486643bde7c85fda3374504761abfd83e0206fbcf608",
        "f2102c3e2800a3533051301d0603551d0e0416041413875228a7d87e2731",
        "71fc68e912a11fd81f136b301f0603551d2304183016801413875228a7d8",
        "7e273171fc68e912a11fd81f136b300f0603551d130101ff040530030101",
        "ff300a06082a8648ce3d0403020347003044022020739cc1da4c633bddac",
        "795b6bfdb780744336e1b7f7427b422c0691883ca71b02204d4c276004f2",
        "f56d017de431f4f1219a3119116caa1576a6da94735c1b1c42ee",
    ];

    #[test]
    fn days_left_of_a_certificate() {
        let der = hex::decode(CERT_DER.concat()).unwrap();
        let not_after = 1_798_294_690;
        assert_eq!(days_left(&der, not_after - 30 * 86_400), Some(30));
        assert_eq!(days_left(&der, not_after - 30 * 86_400 + 60), Some(29));
        assert_eq!(days_left(&der, not_after - 1), Some(0));
        assert_eq!(days_left(&der, not_after + 1), Some(-1));
        assert_eq!(days_left(&der, not_after + 3 * 86_400 + 1), Some(-4));
        assert_eq!(days_left(b"not a certificate", 0), None);
    }
}
