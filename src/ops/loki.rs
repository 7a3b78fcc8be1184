//! Grafana Loki over its HTTP API, LogQL passed through as written: `/loki/api/v1/query_range`
//! gives a log query's lines (newest first) and a metric query's series, `/loki/api/v1/query`
//! the count of every line a log query matched (`count_over_time` over the whole interval).

use super::http_api::{excerpt, HttpApi};
use super::logs::{label_names_of, newest, LogLine, LogSelection, LogSource, Volume, FIELD_SAMPLE};
use super::metrics::{
    to_nanos, Answer, Interval, MetricInfo, MetricsSource, QueryResult, Range, SourceError,
};
use super::prometheus::decode_answer;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone)]
pub struct Loki {
    api: HttpApi,
    /// Sent as `X-Scope-OrgID`, Loki's tenant header, when the source names one.
    tenant: Option<String>,
}

impl Loki {
    pub fn new(api: HttpApi, tenant: Option<String>) -> Loki {
        Loki { api, tenant }
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        let mut request = self.api.get(path).query(params);
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        let (status, body) = self.api.answer(request).await?;
        match status.as_u16() {
            200..=299 => Ok(body),
            // Loki answers a query it cannot parse with 400 and the parser's words, which say
            // where: "parse error at line 1, col 14: syntax error: ...".
            400 => {
                let message = String::from_utf8_lossy(&body).trim().to_owned();
                Err(SourceError::LogQuery {
                    position: error_position(&message),
                    message,
                })
            }
            429 => Err(SourceError::Server(format!(
                "Loki refused the query for now (429, too many requests): {}",
                excerpt(&body)
            ))),
            _ => Err(self.api.status_error(status, &body)),
        }
    }
}

/// `... at line L, col C ...` as Loki's parser words it.
fn error_position(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find("line ")? + 5..];
    let (line, rest) = rest.split_once(", col ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

fn nanos(seconds: f64) -> String {
    to_nanos(seconds).to_string()
}

#[derive(Deserialize)]
struct Envelope {
    data: Streams,
    /// Loki's partial responses, as Prometheus's: the answer holds less than was asked.
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Streams {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    stream: BTreeMap<String, String>,
    values: Vec<(String, String)>,
}

fn not_loki(body: &[u8]) -> SourceError {
    SourceError::Server(format!(
        "the answer is not Loki's API JSON: {}",
        excerpt(body)
    ))
}

impl Loki {
    /// The lines of a log query as Loki sends them, stream by stream, at most `limit` in all,
    /// each with its stream's labels (its parsed fields among them); and Loki's warnings.
    async fn lines(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<(Vec<LogLine>, Vec<String>), SourceError> {
        let params = [
            ("query", query.to_owned()),
            ("start", nanos(interval.start)),
            ("end", nanos(interval.end)),
            ("limit", limit.to_string()),
            ("direction", "backward".to_owned()),
        ];
        let body = self.get("loki/api/v1/query_range", &params).await?;
        let answer: Envelope = serde_json::from_slice(&body).map_err(|_| not_loki(&body))?;
        if answer.data.result_type != "streams" {
            return Err(SourceError::LogQuery {
                message: "a metric query gives numbers, not lines: use `query` for it".into(),
                position: None,
            });
        }
        let mut lines = Vec::new();
        for stream in answer.data.result {
            for (at, line) in stream.values {
                let at_ns = at.parse().map_err(|_| not_loki(&body))?;
                let labels = stream.stream.clone();
                lines.push(LogLine {
                    at_ns,
                    labels,
                    line,
                });
            }
        }
        Ok((lines, answer.warnings))
    }
}

#[async_trait::async_trait(?Send)]
impl LogSource for Loki {
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError> {
        let (lines, warnings) = self.lines(query, interval, limit).await?;
        let lines = newest(lines, limit);
        // Every line the query matched, counted by Loki over the whole interval.
        let seconds = (interval.end - interval.start).ceil().max(1.0);
        let count = format!("sum(count_over_time({query} [{seconds}s]))");
        let answer = self.query_instant(&count, interval.end).await?;
        let matched = match answer.result {
            QueryResult::Vector(samples) => samples.iter().map(|s| s.value).sum::<f64>() as usize,
            _ => 0,
        };
        let matched = matched.max(lines.len());
        // Loki's own volume endpoints are not asked: the bars count the lines returned, and say
        // so when more matched.
        let (start_ns, end_ns) = interval.nanos();
        let step_ns = Volume::step_for(start_ns, end_ns);
        // Checked as any volume is, so that lines sent from outside the window are not drawn
        // in it; it cannot be refused: our own step, a count a line.
        let volume = Volume::of_lines(&lines, step_ns, matched).checked(start_ns, end_ns);
        Ok(LogSelection {
            volume: volume.ok(),
            matched,
            lines,
            warnings,
        })
    }

    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        let (sample, _) = self.lines(query, interval, FIELD_SAMPLE).await?;
        Ok(label_names_of(&sample))
    }

    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        Some(Box::new(self.clone()))
    }
}

/// Loki answers metric queries in the Prometheus API's shape.
#[async_trait::async_trait(?Send)]
impl MetricsSource for Loki {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let params = [
            ("query", expr.to_owned()),
            ("start", nanos(range.start)),
            ("end", nanos(range.end)),
            ("step", format!("{}s", range.step)),
        ];
        decode_answer(&self.get("loki/api/v1/query_range", &params).await?)
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let params = [("query", expr.to_owned()), ("time", nanos(time))];
        decode_answer(&self.get("loki/api/v1/query", &params).await?)
    }

    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError> {
        self.names("loki/api/v1/labels", interval).await
    }

    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        self.names(&format!("loki/api/v1/label/{label}/values"), interval)
            .await
    }

    async fn metadata(&self, _: &str) -> Result<Option<MetricInfo>, SourceError> {
        Ok(None)
    }
}

impl Loki {
    async fn names(&self, path: &str, interval: &Interval) -> Result<Vec<String>, SourceError> {
        #[derive(Deserialize)]
        struct Names {
            #[serde(default)]
            data: Vec<String>,
        }
        let params = [
            ("start", nanos(interval.start)),
            ("end", nanos(interval.end)),
        ];
        let body = self.get(path, &params).await?;
        let names: Names = serde_json::from_slice(&body).map_err(|_| not_loki(&body))?;
        Ok(names.data)
    }
}
