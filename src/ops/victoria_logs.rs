//! VictoriaLogs over its HTTP API. Its queries are written in its own language, LogsQL, and
//! passed through as written: `/select/logsql/query` gives the lines, `/select/logsql/hits`
//! how many matched in each step of the window, by the `level` field, which is how many matched
//! in all. A LogsQL query ending in `| stats ...` is a metric query (`query @NAME`, checks):
//! `/select/logsql/stats_query_range` and `/select/logsql/stats_query` answer it in the
//! Prometheus API's shape; `/select/logsql/field_names` and `field_values` give completion its
//! names.

use super::http_api::{excerpt, HttpApi};
use super::logs::{newest, Bar, Level, LogLine, LogSelection, LogSource, Volume};
use super::metrics::{to_nanos, Answer, Interval, MetricInfo, MetricsSource, Range, SourceError};
use super::prometheus::decode_answer;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone)]
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
    chrono::DateTime::from_timestamp_nanos(to_nanos(seconds))
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

/// The hits of one value of the field asked for: `timestamps` (RFC 3339, the start of each
/// step) and `values` in pairs.
#[derive(Deserialize)]
struct Bucket {
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    timestamps: Vec<String>,
    #[serde(default)]
    values: Vec<u64>,
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
        let (start_ns, end_ns) = interval.nanos();
        let step_ns = Volume::step_for(start_ns, end_ns);
        let mut form = vec![
            ("query", query.to_owned()),
            ("step", format!("{}ms", step_ns / 1_000_000)),
            ("field", "level".to_owned()),
        ];
        form.extend(between(interval));
        let body = self.post("select/logsql/hits", &form).await?;
        let not_hits_because = |why: String| {
            SourceError::Server(format!(
                "the answer of /select/logsql/hits is not what VictoriaLogs sends: {why}"
            ))
        };
        let not_hits = || not_hits_because(excerpt(&body));
        let hits: Hits = serde_json::from_slice(&body).map_err(|_| not_hits())?;
        let mut bars = Vec::new();
        for bucket in &hits.hits {
            let level = (bucket.fields.get("level"))
                .and_then(|name| Level::parse(name))
                .unwrap_or(Level::Unknown);
            if bucket.timestamps.len() != bucket.values.len() {
                return Err(not_hits());
            }
            for (at, &count) in bucket.timestamps.iter().zip(&bucket.values) {
                let at_ns = chrono::DateTime::parse_from_rfc3339(at)
                    .ok()
                    .and_then(|t| t.timestamp_nanos_opt())
                    .ok_or_else(not_hits)?;
                bars.push(Bar {
                    at_ns,
                    level,
                    count,
                });
            }
        }
        // Checked as a journal's volume is: hits outside the window are not lines matched in
        // it, and counts past u64::MAX are no count at all.
        let volume = Volume {
            step_ns,
            bars,
            complete: true,
            not_drawn: None,
        }
        .checked(start_ns, end_ns)
        .map_err(not_hits_because)?;
        let matched = usize::try_from(volume.total())
            .unwrap_or(usize::MAX)
            .max(lines.len());
        Ok(LogSelection {
            lines,
            matched,
            volume: Some(volume),
            warnings: Vec::new(),
        })
    }

    // VictoriaLogs keeps every field of its lines: it names those of the lines `query` (LogsQL)
    // selects, not of a sample.
    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        self.names("select/logsql/field_names", query, None, interval)
            .await
    }

    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        Some(Box::new(self.clone()))
    }
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for VictoriaLogs {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let mut form = vec![
            ("query", expr.to_owned()),
            ("step", format!("{}ms", (range.step * 1000.0).round())),
        ];
        form.extend(between(&range.interval()));
        decode_answer(&self.post("select/logsql/stats_query_range", &form).await?)
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let form = [("query", expr.to_owned()), ("time", rfc3339(time))];
        decode_answer(&self.post("select/logsql/stats_query", &form).await?)
    }

    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError> {
        self.names("select/logsql/field_names", "*", None, interval)
            .await
    }

    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        self.names("select/logsql/field_values", "*", Some(label), interval)
            .await
    }

    async fn metadata(&self, _: &str) -> Result<Option<MetricInfo>, SourceError> {
        Ok(None)
    }
}

impl VictoriaLogs {
    /// Field names, or one field's values, of every line in the interval.
    async fn names(
        &self,
        path: &str,
        query: &str,
        field: Option<&str>,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        #[derive(Deserialize)]
        struct Names {
            values: Vec<Name>,
        }
        #[derive(Deserialize)]
        struct Name {
            value: String,
        }
        let mut form = vec![("query", query.to_owned())];
        form.extend(field.map(|field| ("field", field.to_owned())));
        form.extend(between(interval));
        let body = self.post(path, &form).await?;
        let names: Names = serde_json::from_slice(&body).map_err(|_| {
            SourceError::Server(format!(
                "the answer of /{path} is not what VictoriaLogs sends: {}",
                excerpt(&body)
            ))
        })?;
        Ok(names.values.into_iter().map(|n| n.value).collect())
    }
}
