//! VictoriaLogs over its HTTP API. Its queries are written in its own language, LogsQL, and
//! passed through as written: `/select/logsql/query` gives the lines, `/select/logsql/hits`
//! how many matched in all.

use super::http_api::{excerpt, HttpApi};
use super::logs::{newest, LogLine, LogSelection, LogSource};
use super::metrics::{Interval, MetricsSource, SourceError};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct VictoriaLogs {
    api: HttpApi,
    /// `AccountID` and `ProjectID`, sent as headers when the source names a tenant.
    tenant: Option<(String, String)>,
}

impl VictoriaLogs {
    pub fn new(api: HttpApi, tenant: Option<(String, String)>) -> VictoriaLogs {
        VictoriaLogs { api, tenant }
    }

    async fn post(&self, path: &str, form: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        let mut request = self.api.post(path).form(form);
        if let Some((account, project)) = &self.tenant {
            request = request
                .header("AccountID", account)
                .header("ProjectID", project);
        }
        let (status, body) = self.api.answer(request).await?;
        if status.is_success() {
            Ok(body)
        } else if status == reqwest::StatusCode::BAD_REQUEST {
            // A query VictoriaLogs cannot parse: its plain-text message says where.
            Err(SourceError::LogQuery {
                message: format!(
                    "VictoriaLogs cannot run this LogsQL query: {}",
                    excerpt(&body)
                ),
                position: None,
            })
        } else {
            Err(self.api.status_error(status, &body))
        }
    }
}

/// Times as VictoriaLogs reads them: RFC 3339, to the nanosecond.
fn rfc3339(seconds: f64) -> String {
    let nanos = (seconds * 1e9).round() as i64;
    chrono::DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn between(interval: &Interval) -> [(&'static str, String); 2] {
    [
        ("start", rfc3339(interval.start)),
        ("end", rfc3339(interval.end)),
    ]
}

/// One line of `/select/logsql/query`: every value a string.
fn log_line(text: &str) -> Result<LogLine, SourceError> {
    let mut fields: BTreeMap<String, String> = serde_json::from_str(text).map_err(|_| {
        SourceError::Server(format!(
            "the answer is not VictoriaLogs JSON lines: {}",
            excerpt(text.as_bytes())
        ))
    })?;
    let time = fields.remove("_time").unwrap_or_default();
    let at = chrono::DateTime::parse_from_rfc3339(&time)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| {
            SourceError::Server(format!("a log line's _time is not a time: {time:?}"))
        })?;
    let line = fields.remove("_msg").unwrap_or_default();
    // The stream's fields are fields of the line too; its id and text repeat them.
    fields.remove("_stream");
    fields.remove("_stream_id");
    Ok(LogLine {
        at_ns: at,
        labels: fields,
        line,
    })
}

#[derive(Deserialize)]
struct Hits {
    hits: Vec<Bucket>,
}

#[derive(Deserialize)]
struct Bucket {
    total: usize,
}

#[async_trait::async_trait(?Send)]
impl LogSource for VictoriaLogs {
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError> {
        let mut form = vec![("query", query.to_owned()), ("limit", limit.to_string())];
        form.extend(between(interval));
        let body = self.post("select/logsql/query", &form).await?;
        let text = String::from_utf8_lossy(&body);
        let lines = (text.lines())
            .filter(|l| !l.trim().is_empty())
            .map(log_line)
            .collect::<Result<Vec<_>, _>>()?;
        let lines = newest(lines, limit);
        // One bucket as long as the interval: its total is every line that matched.
        let step = format!("{}s", (interval.end - interval.start).ceil().max(1.0) + 1.0);
        let mut form = vec![("query", query.to_owned()), ("step", step)];
        form.extend(between(interval));
        let body = self.post("select/logsql/hits", &form).await?;
        let hits: Hits = serde_json::from_slice(&body).map_err(|_| {
            SourceError::Server(format!(
                "the answer of /select/logsql/hits is not what VictoriaLogs sends: {}",
                excerpt(&body)
            ))
        })?;
        let matched = hits
            .hits
            .iter()
            .map(|b| b.total)
            .sum::<usize>()
            .max(lines.len());
        Ok(LogSelection { lines, matched })
    }

    // LogsQL computes numbers with `| stats`, which `/select/logsql/stats_query_range` answers;
    // not asked of it yet.
    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        None
    }
}
