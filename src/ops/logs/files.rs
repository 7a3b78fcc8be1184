//! Reading log files into streams: one stream per distinct label set, its lines sorted by time.
//! A file whose name ends in `.gz` is decompressed as it is read, under the same size cap.

use super::{logfmt, timestamp, Labels, LogFormat};
use crate::ops::regular_file::{decompressed, open, Cap};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest line kept whole; longer ones are cut at a character boundary and marked.
const MAX_LINE_BYTES: usize = 1 << 20;
const CUT_MARKER: &str = " [playbook: line cut at 1 MiB]";

/// The fields a structured line's time is read from, the first present one wins.
const TIME_FIELDS: [&str; 4] = ["time", "ts", "timestamp", "@timestamp"];

/// Why log files could not be read: names the file, and for content errors the 1-based line
/// number and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum LogLoadError {
    #[error("cannot read log file {}: {why}", path.display())]
    Open { path: PathBuf, why: std::io::Error },
    #[error("{file}, line {line}: cannot read it: {why}")]
    Read {
        file: String,
        line: usize,
        why: std::io::Error,
    },
    #[error("{file}, line {line}: {problem}")]
    Line {
        file: String,
        line: usize,
        problem: String,
    },
    /// A path that is not a usable glob, or a glob that matches no file.
    #[error("{pattern}: {problem}")]
    Glob { pattern: String, problem: String },
}

#[derive(Debug)]
pub struct Stream {
    pub labels: Labels,
    pub lines: Vec<StoredLine>,
}

#[derive(Debug)]
pub struct StoredLine {
    pub at_ns: i64,
    /// The file's place among the files loaded, and the 1-based line number: the order of
    /// lines of one time.
    pub file: u32,
    pub number: u32,
    pub text: String,
}

pub fn load(
    paths: &[PathBuf],
    format: LogFormat,
    fixed: &Labels,
    label_fields: &[String],
) -> Result<Vec<Stream>, LogLoadError> {
    let mut streams: Vec<Stream> = Vec::new();
    let mut by_labels: HashMap<Labels, usize> = HashMap::new();
    let mut file_index = 0u32;
    for given in paths {
        for path in expand(given)? {
            let name = path.display().to_string();
            let open_error = |why| LogLoadError::Open {
                path: path.clone(),
                why,
            };
            let file = open(&path, Cap::data()).map_err(open_error)?;
            let written_ns = std::fs::metadata(&path)
                .and_then(|meta| meta.modified())
                .map(chrono::DateTime::<chrono::Utc>::from)
                .ok()
                .and_then(|at| at.timestamp_nanos_opt())
                .unwrap_or(0);
            let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
                Box::new(decompressed(
                    flate2::read::MultiGzDecoder::new(file),
                    Cap::data(),
                ))
            } else {
                Box::new(file)
            };
            read_lines(BufReader::new(reader), &name, |number, text| {
                let (at_ns, mut labels) = parse_line(format, text, label_fields, written_ns)
                    .map_err(|problem| LogLoadError::Line {
                        file: name.clone(),
                        line: number,
                        problem,
                    })?;
                labels.extend(fixed.iter().map(|(k, v)| (k.clone(), v.clone())));
                labels.insert("filename".to_owned(), name.clone());
                let index = *by_labels.entry(labels).or_insert_with_key(|labels| {
                    streams.push(Stream {
                        labels: labels.clone(),
                        lines: Vec::new(),
                    });
                    streams.len() - 1
                });
                streams[index].lines.push(StoredLine {
                    at_ns,
                    file: file_index,
                    number: u32::try_from(number).unwrap_or(u32::MAX),
                    text: cut(text),
                });
                Ok(())
            })?;
            file_index = file_index.saturating_add(1);
        }
    }
    for stream in &mut streams {
        // Stable: lines of one time keep their file order.
        stream.lines.sort_by_key(|line| line.at_ns);
    }
    Ok(streams)
}

/// The files a path names: itself, or the files its last component's glob matches, by name.
fn expand(given: &Path) -> Result<Vec<PathBuf>, LogLoadError> {
    let glob_error = |problem: &str| LogLoadError::Glob {
        pattern: given.display().to_string(),
        problem: problem.to_owned(),
    };
    let is_glob = |text: &str| text.contains(['*', '?']);
    let Some(last) = given.file_name().and_then(|n| n.to_str()) else {
        return Ok(vec![given.to_owned()]);
    };
    let parent = given.parent().unwrap_or(Path::new(""));
    if is_glob(&parent.to_string_lossy()) {
        return Err(glob_error(
            "`*` and `?` are allowed only in the last component of a path",
        ));
    }
    if !is_glob(last) {
        return Ok(vec![given.to_owned()]);
    }
    let directory = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let entries = std::fs::read_dir(directory)
        .map_err(|why| glob_error(&format!("cannot list {}: {why}", directory.display())))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // As in a shell, a glob matches hidden files only when it starts with a dot.
        let hidden = name.starts_with('.') && !last.starts_with('.');
        let directory = entry.file_type().is_ok_and(|t| t.is_dir());
        if !hidden && !directory && crate::glob::matches(last, name) {
            found.push(parent.join(name));
        }
    }
    if found.is_empty() {
        return Err(glob_error("no file matches this pattern"));
    }
    found.sort();
    Ok(found)
}

/// Calls `each` with every non-blank line (1-based number, text without its line end); bytes
/// that are not UTF-8 become U+FFFD.
fn read_lines(
    mut reader: impl BufRead,
    name: &str,
    mut each: impl FnMut(usize, &str) -> Result<(), LogLoadError>,
) -> Result<(), LogLoadError> {
    let mut bytes = Vec::new();
    let mut number = 0usize;
    loop {
        bytes.clear();
        number += 1;
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|why| LogLoadError::Read {
                file: name.to_owned(),
                line: number,
                why,
            })?;
        if read == 0 {
            return Ok(());
        }
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        let text = String::from_utf8_lossy(&bytes);
        if !text.trim().is_empty() {
            each(number, &text)?;
        }
    }
}

fn cut(text: &str) -> String {
    if text.len() <= MAX_LINE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARKER}", &text[..end])
}

/// A line's time and the stream labels its fields give, or what is wrong with it.
/// `written_ns`: when the file was last written, the time of a `plain` line and the year of a
/// syslog one.
fn parse_line(
    format: LogFormat,
    text: &str,
    label_fields: &[String],
    written_ns: i64,
) -> Result<(i64, Labels), String> {
    let fields: Vec<(String, Option<String>)> = match format {
        LogFormat::Plain => return Ok((written_ns, Labels::new())),
        LogFormat::Text => {
            let text = text.trim_start();
            let leading = timestamp::leading(text).or_else(|| timestamp::syslog(text, written_ns));
            return match leading {
                Some((at_ns, _)) => Ok((at_ns, Labels::new())),
                None => Err("no timestamp at the start of the line (expected RFC 3339, \
                     `2006-01-02 15:04:05` or syslog's `Nov 30 10:28:00`; `format plain` reads \
                     lines without one)"
                    .to_owned()),
            };
        }
        LogFormat::Json => {
            let object = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(object)) => object,
                Ok(_) => return Err("not a JSON object".to_owned()),
                Err(why) => return Err(format!("not a JSON object: {why}")),
            };
            object
                .into_iter()
                .map(|(key, value)| (key, scalar_text(&value)))
                .collect()
        }
        LogFormat::Logfmt => match logfmt::pairs(text) {
            Ok(pairs) => pairs.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            Err(malformed) => return Err(format!("not logfmt: {}", malformed.problem)),
        },
    };
    let value_of = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_deref())
    };
    let Some((field, value)) = TIME_FIELDS
        .iter()
        .find_map(|name| value_of(name).map(|value| (*name, value)))
    else {
        return Err(format!(
            "no time: none of the fields {} is present",
            TIME_FIELDS.map(|f| format!("`{f}`")).join(", ")
        ));
    };
    let at_ns = value.and_then(timestamp::field).ok_or_else(|| {
        format!(
            "the `{field}` field is not a time (expected RFC 3339, `2006-01-02 15:04:05` or \
             epoch seconds, milliseconds, microseconds or nanoseconds)"
        )
    })?;
    let mut labels = Labels::new();
    for name in label_fields {
        if let Some(Some(value)) = value_of(name) {
            if !value.is_empty() {
                labels.insert(name.clone(), value.to_owned());
            }
        }
    }
    Ok((at_ns, labels))
}

/// A JSON value as a label value: strings unquoted, numbers and booleans as written; none for
/// null, objects and arrays.
pub fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
