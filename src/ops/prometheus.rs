//! A Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics) through the HTTP
//! API v1.

use super::http_api::{excerpt, HttpApi};
use super::metrics::{
    format_value, Answer, Interval, Labels, MetricInfo, MetricsSource, QueryResult, Range, Sample,
    Series, SourceError,
};
use serde::{Deserialize, Serialize};

pub struct Prometheus {
    api: HttpApi,
}

impl Prometheus {
    /// `api` reaches the server's root (the part before `/api/v1`). Nothing is contacted yet.
    pub fn new(api: HttpApi) -> Self {
        Prometheus { api }
    }

    /// The body of a success, or of the JSON error Prometheus answers a bad expression with (a
    /// 4xx whose body is the message to show, not the status).
    async fn send(&self, builder: reqwest::RequestBuilder) -> Result<Vec<u8>, SourceError> {
        let (status, body) = self.api.answer(builder).await?;
        if status.is_success() || is_api_error(&body) {
            Ok(body)
        } else {
            Err(self.api.status_error(status, &body))
        }
    }

    async fn post_query(&self, path: &str, form: &[(&str, String)]) -> Result<Answer, SourceError> {
        // POST, so that long expressions never hit a URL length limit.
        let body = self
            .send(self.api.post(&format!("api/v1/{path}")).form(form))
            .await?;
        let expr = form.iter().find(|(name, _)| *name == "query");
        decode_answer(&body).map_err(|e| match (e, expr) {
            (
                SourceError::PromQL {
                    message,
                    position: None,
                },
                Some((_, expr)),
            ) => {
                let position = unparsed_position(&message, expr);
                SourceError::PromQL { message, position }
            }
            (e, _) => e,
        })
    }

    async fn get_data<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, SourceError> {
        let body = self
            .send(self.api.get(&format!("api/v1/{path}")).query(params))
            .await?;
        let envelope: Envelope<T> = serde_json::from_slice(&body).map_err(|_| not_api(&body))?;
        envelope.into_data()
    }
}

fn not_api(body: &[u8]) -> SourceError {
    SourceError::Server(format!(
        "the answer is not Prometheus API JSON: {}",
        excerpt(body)
    ))
}

/// Prometheus answers bad expressions with a 4xx and a JSON error body: that body is the
/// message to show, not the status.
fn is_api_error(body: &[u8]) -> bool {
    serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(body)
        .is_ok_and(|e| e.status == "error")
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType", default)]
    error_type: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    warnings: Vec<String>,
}

impl<T> Envelope<T> {
    fn into_data(self) -> Result<T, SourceError> {
        if self.status != "success" {
            return Err(api_error(&self.error_type, &self.error));
        }
        self.data
            .ok_or_else(|| SourceError::Server("a success answer without data".into()))
    }
}

fn api_error(error_type: &str, message: &str) -> SourceError {
    match error_type {
        // VictoriaMetrics puts the HTTP status there, and answers 400 or 422 to a query it
        // cannot parse or run.
        "bad_data" | "execution" | "400" | "422" => SourceError::PromQL {
            message: message.to_owned(),
            position: parse_error_position(message),
        },
        "timeout" => SourceError::Server(format!("the query timed out on the server: {message}")),
        _ => SourceError::Server(format!("{error_type}: {message}")),
    }
}

/// Prometheus names the place of a parse error as `LINE:COLUMN: parse error`.
fn parse_error_position(message: &str) -> Option<(usize, usize)> {
    let at = message.find(": parse error")?;
    let head = &message[..at];
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == ':'))
        .map_or(0, |i| i + 1);
    let (line, column) = head[start..].split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// VictoriaMetrics names no position, but quotes what it could not parse (`unparsed data:
/// "..."` or `unparsed data left: "..."`, Go-quoted): it starts where the expression stops
/// making sense.
fn unparsed_position(message: &str, expr: &str) -> Option<(usize, usize)> {
    let (_, after) = message.rsplit_once("unparsed data")?;
    let after = after.strip_prefix(" left").unwrap_or(after);
    let quoted = after.strip_prefix(": \"")?.strip_suffix('"')?;
    let unparsed = quoted.replace("\\\"", "\"").replace("\\\\", "\\");
    let at = expr.strip_suffix(unparsed.as_str())?.len();
    let before = &expr[..at];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    Some((line, column))
}

/// A query's result as the API writes it: the shape the journal keeps too, values as strings so
/// that NaN and ±Inf survive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum ApiResult {
    Matrix(Vec<ApiSeries>),
    Vector(Vec<ApiSample>),
    Scalar((f64, String)),
    String((f64, String)),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSeries {
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSample {
    metric: Labels,
    value: (f64, String),
}

impl ApiResult {
    pub fn of(result: &QueryResult) -> ApiResult {
        match result {
            QueryResult::Matrix(series) => ApiResult::Matrix(
                series
                    .iter()
                    .map(|s| ApiSeries {
                        metric: s.labels.clone(),
                        values: s
                            .points
                            .iter()
                            .map(|(t, v)| (*t, format_value(*v)))
                            .collect(),
                    })
                    .collect(),
            ),
            QueryResult::Vector(samples) => ApiResult::Vector(
                samples
                    .iter()
                    .map(|s| ApiSample {
                        metric: s.labels.clone(),
                        value: (s.time, format_value(s.value)),
                    })
                    .collect(),
            ),
            QueryResult::Scalar { time, value } => ApiResult::Scalar((*time, format_value(*value))),
            QueryResult::String { time, value } => ApiResult::String((*time, value.clone())),
        }
    }

    pub fn into_result(self) -> QueryResult {
        match self {
            ApiResult::Matrix(series) => QueryResult::Matrix(
                series
                    .into_iter()
                    .map(|s| Series {
                        labels: s.metric,
                        points: s.values.iter().map(|(t, v)| (*t, number(v))).collect(),
                    })
                    .collect(),
            ),
            ApiResult::Vector(samples) => QueryResult::Vector(
                samples
                    .into_iter()
                    .map(|s| Sample {
                        labels: s.metric,
                        time: s.value.0,
                        value: number(&s.value.1),
                    })
                    .collect(),
            ),
            ApiResult::Scalar((time, value)) => QueryResult::Scalar {
                time,
                value: number(&value),
            },
            ApiResult::String((time, value)) => QueryResult::String { time, value },
        }
    }
}

/// Prometheus writes sample values as strings, `NaN` and `±Inf` included.
fn number(text: &str) -> f64 {
    match text {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or(f64::NAN),
    }
}

/// Decodes the body of a `query` or `query_range` answer.
pub fn decode_answer(body: &[u8]) -> Result<Answer, SourceError> {
    let envelope: Envelope<ApiResult> = serde_json::from_slice(body).map_err(|_| not_api(body))?;
    let warnings = envelope.warnings.clone();
    let result = envelope.into_data()?.into_result();
    Ok(Answer { result, warnings })
}

/// Without `start` and `end`, Prometheus looks over all time and VictoriaMetrics over the last
/// five minutes: neither is the investigation's window.
fn between(interval: &Interval) -> [(&'static str, String); 2] {
    [
        ("start", seconds(interval.start)),
        ("end", seconds(interval.end)),
    ]
}

fn seconds(t: f64) -> String {
    format!("{t:.3}")
}

#[derive(Deserialize)]
struct WireMetadata {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    help: String,
    #[serde(default)]
    unit: String,
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for Prometheus {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let form = [
            ("query", expr.to_owned()),
            ("start", seconds(range.start)),
            ("end", seconds(range.end)),
            ("step", seconds(range.step)),
        ];
        self.post_query("query_range", &form).await
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let form = [("query", expr.to_owned()), ("time", seconds(time))];
        self.post_query("query", &form).await
    }

    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError> {
        self.get_data("labels", &between(interval)).await
    }

    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        // Label names are [a-zA-Z_][a-zA-Z0-9_]*: nothing in them needs escaping in a path.
        self.get_data(&format!("label/{label}/values"), &between(interval))
            .await
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        let body = self
            .send(self.api.get("api/v1/metadata").query(&[("metric", metric)]))
            .await?;
        let envelope: Envelope<std::collections::HashMap<String, Vec<WireMetadata>>> =
            serde_json::from_slice(&body).map_err(|_| not_api(&body))?;
        let mut all = envelope.into_data()?;
        Ok(all
            .remove(metric)
            .and_then(|m| m.into_iter().next())
            .map(|m| MetricInfo {
                kind: m.kind,
                help: m.help,
                unit: m.unit,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_with_special_values() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1700000000,"1"],[1700000015.5,"NaN"],[1700000030,"+Inf"],[1700000045,"-Inf"]]}
        ]},"warnings":["partial response"]}"#;
        let answer = decode_answer(body).unwrap();
        assert_eq!(answer.warnings, ["partial response"]);
        let QueryResult::Matrix(series) = answer.result else {
            panic!()
        };
        let values: Vec<f64> = series[0].points.iter().map(|p| p.1).collect();
        assert_eq!(values[0], 1.0);
        assert!(values[1].is_nan());
        assert_eq!(values[2], f64::INFINITY);
        assert_eq!(values[3], f64::NEG_INFINITY);
        assert_eq!(series[0].points[1].0, 1700000015.5);
        assert_eq!(series[0].labels["job"], "a");
    }

    #[test]
    fn instant_kinds() {
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2.5"]}]}}"#;
        assert!(
            matches!(decode_answer(vector).unwrap().result, QueryResult::Vector(v) if v[0].value == 2.5)
        );
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(
            decode_answer(scalar).unwrap().result,
            QueryResult::Scalar {
                time: 1.0,
                value: 3.0
            }
        );
        let string = br#"{"status":"success","data":{"resultType":"string","result":[1,"hi"]}}"#;
        assert!(
            matches!(decode_answer(string).unwrap().result, QueryResult::String { value, .. } if value == "hi")
        );
    }

    #[test]
    fn victoria_metrics_errors_are_promql_errors_placed_where_parsing_stopped() {
        // As VictoriaMetrics 1.150 answers `sum(rate(x[5m])`.
        let body = br#"{"status":"error","errorType":"400","error":"error when executing query=\"sum(rate(x[5m])\" for (time=1796194687229, step=300000): argList: unexpected token \"\"; want \",\", \")\"; unparsed data: \"\""}"#;
        let SourceError::PromQL { message, position } = decode_answer(body).unwrap_err() else {
            panic!("not a PromQL error");
        };
        assert_eq!(position, None, "the answer alone names no position");
        assert_eq!(
            unparsed_position(&message, "sum(rate(x[5m])"),
            Some((1, 16))
        );
        let message = r#"unexpected token "+"; unparsed data: "+ * 2\"x\"""#;
        assert_eq!(unparsed_position(message, "up\n  + * 2\"x\""), Some((2, 3)));
        assert_eq!(unparsed_position(message, "something else"), None);
        let left = r#"error when executing query="x{a=\"b\",} ]": unparsed data left: "]""#;
        assert_eq!(unparsed_position(left, r#"x{a="b",} ]"#), Some((1, 11)));
        let server = br#"{"status":"error","errorType":"503","error":"busy"}"#;
        assert!(matches!(
            decode_answer(server).unwrap_err(),
            SourceError::Server(_)
        ));
    }

    #[test]
    fn promql_errors_keep_their_position() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:14: parse error: unexpected right parenthesis ')'"}"#;
        match decode_answer(body).unwrap_err() {
            SourceError::PromQL { message, position } => {
                assert!(message.contains("unexpected right parenthesis"));
                assert_eq!(position, Some((1, 14)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_json_is_a_server_error() {
        let err = decode_answer(b"404 page not found\n").unwrap_err();
        assert_eq!(
            err,
            SourceError::Server("the answer is not Prometheus API JSON: 404 page not found".into())
        );
    }
}
