//! What every source over HTTP shares (Prometheus, VictoriaLogs, Loki): one client with the
//! source's timeout, its headers and credentials on every request, answers read under a cap,
//! and transport failures worded for the engine.

use super::metrics::SourceError;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How requests authenticate, with secrets already read from their references.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

/// The HTTP client could not be set up (its TLS backend failed to start, for instance).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up an HTTP client: {0}")]
pub struct ClientError(reqwest::Error);

#[derive(Clone)]
pub struct HttpApi {
    base: String,
    client: reqwest::Client,
    headers: Vec<(String, String)>,
    auth: Auth,
    timeout: Duration,
    /// The largest answer read, in bytes: a server (or whatever answers in its place) cannot
    /// make the kernel hold more.
    max_answer: u64,
}

impl HttpApi {
    /// `url` is the server's root. Nothing is contacted yet.
    pub fn new(
        url: &str,
        headers: Vec<(String, String)>,
        auth: Auth,
        timeout: Duration,
        max_answer: u64,
    ) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("playbook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError)?;
        Ok(HttpApi {
            base: url.trim_end_matches('/').to_owned(),
            client,
            headers,
            auth,
            timeout,
            max_answer,
        })
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}/{path}", self.base))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}/{path}", self.base))
    }

    /// Sends the request with the source's headers and credentials; the status and the body.
    pub async fn answer(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), SourceError> {
        let mut builder = builder;
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let builder = match &self.auth {
            Auth::None => builder,
            Auth::Bearer(token) => builder.bearer_auth(token),
            Auth::Basic { user, password } => builder.basic_auth(user, Some(password)),
        };
        let response = builder.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        Ok((status, self.read_answer(response).await?))
    }

    /// An answer that is neither a success nor an error the API explains.
    pub fn status_error(&self, status: reqwest::StatusCode, body: &[u8]) -> SourceError {
        SourceError::Server(format!(
            "HTTP {status} from {}: {}",
            self.base,
            excerpt(body)
        ))
    }

    /// The body, read as it arrives and refused as soon as it passes `max_answer` (announced or
    /// not), so that an endless or huge answer costs at most the cap.
    async fn read_answer(&self, mut response: reqwest::Response) -> Result<Vec<u8>, SourceError> {
        let too_large = || {
            SourceError::Server(format!(
                "the answer from {} is larger than {}, this source's max-answer: narrow the query, or raise max-answer",
                self.base,
                super::human_bytes(self.max_answer)
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_answer)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_answer {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout(self.timeout)
        } else if e.is_connect() || e.is_request() {
            SourceError::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e)))
        } else {
            SourceError::Server(format!("{}: {}", self.base, root_cause(&e)))
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The start of a body, for a message: at most 200 characters.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_owned(),
    }
}
