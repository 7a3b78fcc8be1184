//! Reading samples from a metrics file: OpenMetrics / Prometheus text exposition with timestamps
//! in seconds (what `promtool tsdb create-blocks-from openmetrics` backfills), or CSV, wide (a
//! `time` column and one column per series) or long (`metric,labels,timestamp,value`).
//!
//! The file is read line by line so that loading never holds the text and the samples at once.

use super::series::StoredSeries;
use super::LabelSet;
use crate::ops::metrics::MetricInfo;
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

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

/// Collects samples per series. A line's series is found by its text when the line before named
/// it too (`last`) or its text is in `by_text`, and by its parsed labels otherwise, so labels are
/// parsed about once per series, not per sample; a text goes into `by_text` when its series
/// comes back after other lines, so a file of series each written once costs no text index.
/// Label names and values are kept once each (`strings`), so the thousands of series that share
/// a value share its string. Indexes hash with FxHash: a loader spends much of its time hashing.
#[derive(Default)]
struct Builder {
    index: FxHashMap<LabelSet, usize>,
    last: Option<(String, usize)>,
    by_text: FxHashMap<String, usize>,
    strings: FxHashSet<Arc<str>>,
    series: Vec<StoredSeries>,
    unsorted: Vec<bool>,
    metadata: Metadata,
}

/// The most series texts `Builder::by_text` holds before it is emptied: enough for a file that
/// interleaves the samples of this many series, and little memory where every series is new.
const RECENT_TEXTS: usize = 1 << 16;

impl Builder {
    /// The series of these labels, and whether it is new.
    fn series_for(&mut self, mut labels: Parsed) -> Result<(usize, bool), String> {
        labels.sort_unstable_by_key(|l| l.0);
        if let Some(twice) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("label `{}` appears twice", twice[0].0));
        }
        // An empty value is the same as no label in Prometheus.
        let pairs = (labels.iter().filter(|(_, value)| !value.is_empty()))
            .map(|(name, value)| (self.string(name), self.string(value)))
            .collect();
        let labels = LabelSet::from_pairs(pairs);
        let i = self.series.len();
        match self.index.entry(labels.clone()) {
            Entry::Occupied(found) => return Ok((*found.get(), false)),
            Entry::Vacant(place) => place.insert(i),
        };
        // Room for one sample: many files hold one sample a series.
        self.series.push(StoredSeries {
            labels,
            samples: Vec::with_capacity(1),
        });
        self.unsorted.push(false);
        Ok((i, true))
    }

    /// The series a line's text names; `key` is that text, `labels` parses it.
    fn series_named<'a>(
        &mut self,
        key: &str,
        labels: impl FnOnce() -> Result<Parsed<'a>, String>,
    ) -> Result<usize, String> {
        if let Some((text, i)) = &self.last {
            if text == key {
                return Ok(*i);
            }
        }
        let i = match self.by_text.get(key) {
            Some(&i) => i,
            None => {
                let (i, new) = self.series_for(labels()?)?;
                if !new {
                    if self.by_text.len() >= RECENT_TEXTS {
                        self.by_text.clear();
                    }
                    self.by_text.insert(key.to_owned(), i);
                }
                i
            }
        };
        let last = self.last.get_or_insert_with(Default::default);
        last.0.clear();
        last.0.push_str(key);
        last.1 = i;
        Ok(i)
    }

    /// The one copy of a label name or value.
    fn string(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.strings.get(s) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(s);
        self.strings.insert(new.clone());
        new
    }

    fn push(&mut self, i: usize, time: i64, value: f64) {
        let s = &mut self.series[i];
        if s.samples.last().is_some_and(|&(last, _)| last >= time) {
            self.unsorted[i] = true;
        }
        s.samples.push((time, value));
    }

    fn finish(mut self, name: &str) -> Result<(Vec<StoredSeries>, Metadata), LoadError> {
        for (s, unsorted) in self.series.iter_mut().zip(&self.unsorted) {
            if *unsorted {
                s.samples.sort_by_key(|p| p.0);
                if let Some(w) = s.samples.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(LoadError::Duplicate {
                        file: name.to_owned(),
                        series: selector_text(&s.labels),
                        time: w[0].0 as f64 / 1000.0,
                    });
                }
            }
            s.samples.shrink_to_fit();
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
    let i = b.series_named(series_text, || parse_selector(series_text))?;
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

/// Labels as a line gives them, each name once: names borrowed from the line, and values too
/// unless they had escapes to undo.
type Parsed<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// `name{a="b",c="d"}`, `name`, or `{__name__="name",a="b"}` into labels.
fn parse_selector(text: &str) -> Result<Parsed<'_>, String> {
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
        None => Parsed::new(),
    };
    let name = name.trim();
    if !name.is_empty() {
        if !is_metric_name(name) {
            return Err(format!("`{name}` is not a valid metric name"));
        }
        set_name(&mut labels, name);
    }
    if !labels.iter().any(|(n, _)| *n == "__name__") {
        return Err(format!("`{text}` names no metric"));
    }
    Ok(labels)
}

/// Sets the metric name, over one given among the labels.
fn set_name<'a>(labels: &mut Parsed<'a>, name: &'a str) {
    labels.retain(|(n, _)| *n != "__name__");
    labels.push(("__name__", Cow::Borrowed(name)));
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
fn parse_labels(body: &str) -> Result<Parsed<'_>, String> {
    let mut labels = Parsed::new();
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
        let not_closed = || format!("the value of label `{name}` is not closed");
        let end = after.find(['"', '\\']).ok_or_else(not_closed)?;
        let (value, end) = if after.as_bytes()[end] == b'"' {
            (Cow::Borrowed(&after[..end]), end)
        } else {
            let mut value = String::from(&after[..end]);
            let mut chars = after[end..].char_indices();
            let close = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        Some((_, c)) => {
                            value.push('\\');
                            value.push(c);
                        }
                        None => return Err(not_closed()),
                    },
                    Some((i, '"')) => break end + i,
                    Some((_, c)) => value.push(c),
                    None => return Err(not_closed()),
                }
            };
            (Cow::Owned(value), close)
        };
        labels.push((name, value));
        rest = after[end + 1..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected `,` between labels, found `{rest}`"));
        }
    }
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
        let (series, _) = b
            .series_for(labels)
            .map_err(|e| format!("column {}: {e}", i + 1))?;
        columns.push(series);
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
    let i = b.series_named(&key, || {
        let mut set = parse_labels(labels)?;
        if !is_metric_name(metric) {
            return Err(format!("`{metric}` is not a valid metric name"));
        }
        set_name(&mut set, metric);
        Ok(set)
    })?;
    let time = parse_time(time)?;
    b.push(i, time, parse_value(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(s: &StoredSeries) -> Vec<i64> {
        s.samples.iter().map(|p| p.0).collect()
    }

    fn values(s: &StoredSeries) -> Vec<f64> {
        s.samples.iter().map(|p| p.1).collect()
    }

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
        assert_eq!(times(&series[0]), [10_000, 25_500]);
        assert_eq!(values(&series[0]), [1.0, 3.0]);
        assert_eq!(series[0].labels.get("__name__"), Some("reqs_total"));
        assert_eq!(meta["reqs"].kind, "counter");
        assert_eq!(meta["reqs"].unit, "requests");
    }

    #[test]
    fn out_of_order_samples_are_sorted_and_duplicates_refused() {
        let s = load("m 2 20\nm 1 10\n").unwrap();
        assert_eq!(times(&s[0]), [10_000, 20_000]);
        assert_eq!(values(&s[0]), [1.0, 2.0]);
        let e = load("m 2 20\nm 1 20\n").unwrap_err();
        assert!(
            matches!(&e, LoadError::Duplicate { series, time, .. } if series == "m{}" && *time == 20.0),
            "{e}"
        );
    }

    #[test]
    fn label_values_are_unescaped_and_empty_ones_dropped() {
        let s = load(
            "m{a=\"x\\\"y\\\\z\\nw\\q\",b=\"\"} 1 10\n{__name__=\"n\",c=\"d\"} 1 10\nm{a=\"x\\\"y\\\\z\\nw\\q\"} 2 20\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels.get("a"), Some("x\"y\\z\nw\\q"));
        assert_eq!(s[0].labels.get("b"), None);
        assert_eq!(s[0].samples, [(10_000, 1.0), (20_000, 2.0)]);
        assert_eq!(s[1].labels.get("__name__"), Some("n"));
        let (_, problem) = line_error("m{a=\"1\",b=\"2\",a=\"3\"} 1 10\n");
        assert!(problem.contains("label `a` appears twice"), "{problem}");
        // A name written before the braces wins over one inside them, as before.
        let s = load("m{__name__=\"other\"} 1 10\n").unwrap();
        assert_eq!(s[0].labels.get("__name__"), Some("m"));
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
        assert_eq!(times(&s[0]), [1_795_168_800_000, 1_795_168_815_000]);
        assert_eq!(values(&s[1]), [1.0]);
        assert_eq!(s[2].labels.get("b"), Some("2"));
        assert_eq!(values(&s[2]), [5.0]);
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
        assert_eq!(values(&s[0]), [1.0, 2.0]);
    }
}
