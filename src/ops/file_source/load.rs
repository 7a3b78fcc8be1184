//! Reading samples from a metrics file: OpenMetrics / Prometheus text exposition with timestamps
//! in seconds (what `promtool tsdb create-blocks-from openmetrics` backfills), or CSV, wide (a
//! `time` column and one column per series) or long (`metric,labels,timestamp,value`).
//!
//! The file is read line by line so that loading never holds the text and the samples at once.

use super::series::StoredSeries;
use super::LabelSet;
use crate::ops::metrics::{Labels, MetricInfo};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

type Metadata = HashMap<String, MetricInfo>;

/// A metrics file that cannot be loaded. `file` is the name messages give it; `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read metrics file {}: {why}", path.display())]
    Open { path: PathBuf, why: std::io::Error },
    #[error("{file}: cannot read line {line}: {why}")]
    Read {
        file: String,
        line: usize,
        why: std::io::Error,
    },
    /// A line that does not follow the file's format; `problem` says how.
    #[error("{file}:{line}: {problem}")]
    Line {
        file: String,
        line: usize,
        problem: String,
    },
    /// Two samples of one series at one time (in seconds), wherever they are in the file.
    #[error("{file}: two samples of {series} at the same time {time}")]
    Duplicate {
        file: String,
        series: String,
        time: f64,
    },
}

/// Parses a whole text; `name` is only used in error messages.
#[cfg(test)]
pub fn parse(name: &str, text: &str) -> Result<(Vec<StoredSeries>, Metadata), LoadError> {
    parse_reader(name, text.as_bytes())
}

/// Parses a file as it is read; `name` is only used in error messages.
pub fn parse_reader(
    name: &str,
    mut input: impl BufRead,
) -> Result<(Vec<StoredSeries>, Metadata), LoadError> {
    let mut builder = Builder::default();
    let mut line = String::new();
    let mut number = 0usize;
    let mut format: Option<Format> = None;
    loop {
        line.clear();
        let n = input.read_line(&mut line).map_err(|why| LoadError::Read {
            file: name.to_owned(),
            line: number + 1,
            why,
        })?;
        if n == 0 {
            break;
        }
        number += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        let at = |problem: String| LoadError::Line {
            file: name.to_owned(),
            line: number,
            problem,
        };
        let format = match &mut format {
            Some(f) => f,
            None => {
                if text.trim().is_empty() {
                    continue;
                }
                format.insert(Format::detect(text).map_err(at)?)
            }
        };
        match format {
            Format::Text { ended } => {
                if *ended {
                    if text.trim().is_empty() {
                        continue;
                    }
                    return Err(at("content after `# EOF`".into()));
                }
                text_line(text, &mut builder, ended).map_err(at)?;
            }
            Format::Wide { columns, header } => {
                if !*header {
                    *header = true;
                    *columns = wide_header(text, &mut builder).map_err(at)?;
                } else if !text.trim().is_empty() {
                    wide_row(text, columns, &mut builder).map_err(at)?;
                }
            }
            Format::Long { header } => {
                if !*header {
                    *header = true;
                } else if !text.trim().is_empty() {
                    long_row(text, &mut builder).map_err(at)?;
                }
            }
        }
    }
    builder.finish(name)
}

enum Format {
    Text { ended: bool },
    Wide { header: bool, columns: Vec<usize> },
    Long { header: bool },
}

impl Format {
    /// A CSV file starts with a header naming `time` or the long form's columns; anything else
    /// is text exposition.
    fn detect(first: &str) -> Result<Format, String> {
        if first.starts_with('#') {
            return Ok(Format::Text { ended: false });
        }
        let fields = split_csv(first)?;
        let lower: Vec<String> = fields.iter().map(|f| f.trim().to_lowercase()).collect();
        if lower
            .first()
            .is_some_and(|f| f == "time" || f == "timestamp")
            && fields.len() > 1
        {
            return Ok(Format::Wide {
                header: false,
                columns: Vec::new(),
            });
        }
        if lower == ["metric", "labels", "timestamp", "value"] {
            return Ok(Format::Long { header: false });
        }
        Ok(Format::Text { ended: false })
    }
}

/// Collects samples per series; a series is found by its exact text the first time and by a
/// hash lookup afterwards, so labels are parsed and stored once per series, not per sample.
/// Both indexes hash with FxHash (a loader spends much of its time hashing); `index` is keyed by
/// the canonical text of a label set, one string rather than a copy of the map.
#[derive(Default)]
struct Builder {
    index: FxHashMap<String, usize>,
    by_text: FxHashMap<String, usize>,
    series: Vec<StoredSeries>,
    unsorted: Vec<bool>,
    metadata: Metadata,
}

impl Builder {
    fn series_for(&mut self, labels: Labels) -> usize {
        let labels = LabelSet::from(labels);
        let key = selector_text(&labels);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.series.len();
        self.index.insert(key, i);
        self.series.push(StoredSeries {
            labels,
            times: Vec::new(),
            values: Vec::new(),
        });
        self.unsorted.push(false);
        i
    }

    fn push(&mut self, i: usize, time: i64, value: f64) {
        let s = &mut self.series[i];
        if s.times.last().is_some_and(|&last| last >= time) {
            self.unsorted[i] = true;
        }
        s.times.push(time);
        s.values.push(value);
    }

    fn finish(mut self, name: &str) -> Result<(Vec<StoredSeries>, Metadata), LoadError> {
        for (s, unsorted) in self.series.iter_mut().zip(&self.unsorted) {
            if *unsorted {
                let mut pairs: Vec<(i64, f64)> = s
                    .times
                    .iter()
                    .copied()
                    .zip(s.values.iter().copied())
                    .collect();
                pairs.sort_by_key(|p| p.0);
                if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(LoadError::Duplicate {
                        file: name.to_owned(),
                        series: selector_text(&s.labels),
                        time: w[0].0 as f64 / 1000.0,
                    });
                }
                s.times = pairs.iter().map(|p| p.0).collect();
                s.values = pairs.iter().map(|p| p.1).collect();
            }
            s.times.shrink_to_fit();
            s.values.shrink_to_fit();
        }
        Ok((self.series, self.metadata))
    }
}

/// `name{a="b"}` for messages.
fn selector_text(labels: &LabelSet) -> String {
    let name = labels.get("__name__").unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

fn text_line(line: &str, b: &mut Builder, ended: &mut bool) -> Result<(), String> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(());
    }
    if let Some(comment) = trimmed.strip_prefix('#') {
        let comment = comment.trim_start();
        if comment == "EOF" {
            *ended = true;
            return Ok(());
        }
        let mut parts = comment.splitn(3, ' ');
        let keyword = parts.next().unwrap_or("");
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            return Ok(()); // a free comment
        }
        let family = parts
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("`# {keyword}` without a metric name"))?;
        let text = parts.next().unwrap_or("").trim().to_owned();
        let info = b.metadata.entry(family.to_owned()).or_insert(MetricInfo {
            kind: String::new(),
            help: String::new(),
            unit: String::new(),
        });
        match keyword {
            "HELP" => info.help = unescape_help(&text),
            "TYPE" => info.kind = text,
            _ => info.unit = text,
        }
        return Ok(());
    }
    // Exemplars (` # {...} v t`) follow the sample; they are not samples.
    let sample = match trimmed.find(" # ") {
        Some(at) => &trimmed[..at],
        None => trimmed,
    };
    let series_end = series_end(sample)?;
    let (series_text, rest) = sample.split_at(series_end);
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("no value after `{series_text}`"))?;
    let value = parse_value(value)?;
    let time = fields.next().ok_or_else(|| {
        "a sample without a timestamp: every sample in a metrics file needs its time (Unix seconds)"
            .to_owned()
    })?;
    let time = parse_unix_seconds(time)?;
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` after the timestamp"));
    }
    let i = match b.by_text.get(series_text) {
        Some(&i) => i,
        None => {
            let labels = parse_selector(series_text)?;
            let i = b.series_for(labels);
            b.by_text.insert(series_text.to_owned(), i);
            i
        }
    };
    b.push(i, time, value);
    Ok(())
}

fn unescape_help(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\\\", "\\")
}

/// Where the series part of a sample line ends: after its closing brace, or at the first space.
fn series_end(line: &str) -> Result<usize, String> {
    match line.find(['{', ' ', '\t']) {
        Some(i) if line.as_bytes()[i] == b'{' => {
            let mut quoted = false;
            let mut escaped = false;
            for (j, c) in line[i..].char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    '}' if !quoted => return Ok(i + j + 1),
                    _ => {}
                }
            }
            Err("a label set without its closing `}`".into())
        }
        Some(i) => Ok(i),
        None => Err(format!("no value after `{line}`")),
    }
}

/// `name{a="b",c="d"}`, `name`, or `{__name__="name",a="b"}` into labels.
fn parse_selector(text: &str) -> Result<Labels, String> {
    let text = text.trim();
    let (name, body) = match text.find('{') {
        Some(i) => {
            let body = text[i + 1..]
                .strip_suffix('}')
                .ok_or_else(|| format!("`{text}`: a label set must end with `}}`"))?;
            (&text[..i], Some(body))
        }
        None => (text, None),
    };
    let mut labels = match body {
        Some(body) => parse_labels(body)?,
        None => Labels::new(),
    };
    let name = name.trim();
    if !name.is_empty() {
        if !is_metric_name(name) {
            return Err(format!("`{name}` is not a valid metric name"));
        }
        labels.insert("__name__".into(), name.into());
    }
    if !labels.contains_key("__name__") {
        return Err(format!("`{text}` names no metric"));
    }
    Ok(labels)
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `a="b",c="d"` (a trailing comma allowed) into labels; values use the exposition escapes.
fn parse_labels(body: &str) -> Result<Labels, String> {
    let mut labels = Labels::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("label `{}` without `=`", rest.trim()))?;
        let name = rest[..eq].trim();
        if !is_label_name(name) {
            return Err(format!("`{name}` is not a valid label name"));
        }
        let after = rest[eq + 1..].trim_start();
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{name}` must be in double quotes"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err(format!("the value of label `{name}` is not closed")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("the value of label `{name}` is not closed")),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label `{name}` appears twice"));
        }
        rest = after[end + 1..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected `,` between labels, found `{rest}`"));
        }
    }
    // An empty value is the same as no label in Prometheus.
    labels.retain(|_, v| !v.is_empty());
    Ok(labels)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{text}` is not a number")),
    }
}

fn parse_unix_seconds(text: &str) -> Result<i64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .map(|t| (t * 1000.0).round() as i64)
        .ok_or_else(|| format!("`{text}` is not a timestamp in Unix seconds"))
}

/// A CSV time: RFC 3339, or Unix seconds.
fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    parse_unix_seconds(text)
        .map_err(|_| format!("`{text}` is neither an RFC 3339 time nor Unix seconds"))
}

/// Splits one CSV line (RFC 4180 quoting). An unquoted field keeps commas inside `{...}`, so a
/// selector like `m{a="1",b="2"}` can be written without CSV quoting.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted CSV field is not closed".into()),
                }
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => return Err(format!("unexpected `{c}` after a quoted CSV field")),
            }
        } else {
            let (mut braces, mut quoted) = (0i32, false);
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_owned());
                        return Ok(fields);
                    }
                    Some(',') if braces == 0 && !quoted => break,
                    Some(c) => {
                        match c {
                            '"' if braces > 0 => quoted = !quoted,
                            '{' if !quoted => braces += 1,
                            '}' if !quoted => braces -= 1,
                            _ => {}
                        }
                        field.push(c);
                    }
                }
            }
            fields.push(field.trim().to_owned());
        }
    }
}

fn wide_header(line: &str, b: &mut Builder) -> Result<Vec<usize>, String> {
    let fields = split_csv(line)?;
    let mut columns = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate().skip(1) {
        let labels = parse_selector(field).map_err(|e| format!("column {}: {e}", i + 1))?;
        columns.push(b.series_for(labels));
    }
    Ok(columns)
}

fn wide_row(line: &str, columns: &[usize], b: &mut Builder) -> Result<(), String> {
    let fields = split_csv(line)?;
    if fields.len() != columns.len() + 1 {
        return Err(format!(
            "{} fields where the header has {}",
            fields.len(),
            columns.len() + 1
        ));
    }
    let time = parse_time(&fields[0])?;
    for (field, &i) in fields[1..].iter().zip(columns.iter()) {
        // An empty cell is a series without a sample at that time.
        if !field.is_empty() {
            b.push(i, time, parse_value(field)?);
        }
    }
    Ok(())
}

fn long_row(line: &str, b: &mut Builder) -> Result<(), String> {
    let fields = split_csv(line)?;
    let [metric, labels, time, value] = fields.as_slice() else {
        return Err(format!(
            "{} fields; expected 4: metric,labels,timestamp,value",
            fields.len()
        ));
    };
    let key = format!("{metric}\u{0}{labels}");
    let i = match b.by_text.get(&key) {
        Some(&i) => i,
        None => {
            let mut set = parse_labels(labels)?;
            if !is_metric_name(metric) {
                return Err(format!("`{metric}` is not a valid metric name"));
            }
            set.insert("__name__".into(), metric.clone());
            let i = b.series_for(set);
            b.by_text.insert(key, i);
            i
        }
    };
    let time = parse_time(time)?;
    b.push(i, time, parse_value(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<StoredSeries>, LoadError> {
        parse("t.om", text).map(|(s, _)| s)
    }

    /// The line a text's error names, and what is wrong there.
    fn line_error(text: &str) -> (usize, String) {
        match load(text).unwrap_err() {
            LoadError::Line { line, problem, .. } => (line, problem),
            other => panic!("not a line's error: {other}"),
        }
    }

    #[test]
    fn openmetrics_with_metadata() {
        let (series, meta) = parse(
            "t.om",
            "# HELP reqs Requests.\n# TYPE reqs counter\n# UNIT reqs requests\n\
             reqs_total{code=\"500\",svc=\"a\"} 1 10\nreqs_total{code=\"500\",svc=\"a\"} 3 25.5\n# EOF\n",
        )
        .unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].times, vec![10_000, 25_500]);
        assert_eq!(series[0].values, vec![1.0, 3.0]);
        assert_eq!(series[0].labels.get("__name__"), Some("reqs_total"));
        assert_eq!(meta["reqs"].kind, "counter");
        assert_eq!(meta["reqs"].unit, "requests");
    }

    #[test]
    fn out_of_order_samples_are_sorted_and_duplicates_refused() {
        let s = load("m 2 20\nm 1 10\n").unwrap();
        assert_eq!(s[0].times, vec![10_000, 20_000]);
        assert_eq!(s[0].values, vec![1.0, 2.0]);
        let e = load("m 2 20\nm 1 20\n").unwrap_err();
        assert!(
            matches!(&e, LoadError::Duplicate { series, time, .. } if series == "m{}" && *time == 20.0),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = load("# TYPE m gauge\nm 1 10\nm{a=\"b} 1 10\n").unwrap_err();
        assert!(e.to_string().starts_with("t.om:3: "), "{e}");
        let (line, problem) = line_error("m 1\n");
        assert!(line == 1 && problem.contains("timestamp"), "{problem}");
        let (_, problem) = line_error("m x 1\n");
        assert!(problem.contains("not a number"), "{problem}");
        assert_eq!(line_error("m 1 1\n# EOF\nm 1 2\n").0, 3);
    }

    #[test]
    fn wide_csv() {
        let s = load(
            "time,\"http_requests_total{code=\"\"500\"\"}\",up,m{a=\"1\",b=\"2\"}\n\
             2026-11-20T10:00:00Z,1,1,\n1795168815,2,,5\n",
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels.get("code"), Some("500"));
        assert_eq!(s[0].times, vec![1_795_168_800_000, 1_795_168_815_000]);
        assert_eq!(s[1].values, vec![1.0]);
        assert_eq!(s[2].labels.get("b"), Some("2"));
        assert_eq!(s[2].values, vec![5.0]);
        assert_eq!(line_error("time,up\nyesterday,1\n").0, 2);
    }

    #[test]
    fn long_csv() {
        let s = load(
            "metric,labels,timestamp,value\n\
             http_requests_total,\"code=\"\"500\"\",service=\"\"x\"\"\",10,1\n\
             http_requests_total,\"code=\"\"500\"\",service=\"\"x\"\"\",2026-11-20T10:00:00Z,2\n",
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels.get("service"), Some("x"));
        assert_eq!(s[0].values, vec![1.0, 2.0]);
    }
}
