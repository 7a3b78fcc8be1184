//! Log files as the embedded engine reads them: the paths a source names, each file read in
//! blocks of whole lines (a `.gz` file decompressed as it is read, under the same size cap), and
//! each line's text, time and label fields.

use super::{logfmt, timestamp, LogFormat};
use crate::ops::regular_file::{decompressed, open, Cap, Capped};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The longest line kept whole; longer ones are cut at a character boundary and marked.
pub const MAX_LINE_BYTES: usize = 1 << 20;
const CUT_MARKER: &str = " [playbook: line cut at 1 MiB]";

/// The most bytes a block holds. A block ends at the last line end within them, so where
/// blocks fall depends only on the file's bytes: reading a file again gives the same blocks,
/// whichever of them are skipped. More than a line's cap, so that a line longer than a block
/// is one to cut.
const BLOCK_BYTES: usize = 2 * MAX_LINE_BYTES;

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
    #[error("reading the log files was interrupted")]
    Stopped,
}

/// The files a path names: itself, or the files its last component's glob matches, by name.
pub fn expand(given: &Path) -> Result<Vec<PathBuf>, LogLoadError> {
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

/// A log file read block by block, no further than the bytes it had when it was indexed.
pub struct Blocks {
    input: Input,
    buffer: Vec<u8>,
    /// The bytes read and not yet handed out: `buffer[start..end]`.
    start: usize,
    end: usize,
    /// Bytes still to be read from the input.
    left: u64,
    /// The head of a line longer than a block.
    long: Vec<u8>,
}

enum Input {
    Plain(Capped<File>),
    Compressed(Box<Capped<flate2::read::MultiGzDecoder<Capped<File>>>>),
}

/// What `Blocks::next` hands out.
pub enum Block<'b> {
    /// Whole lines, each ending in `\n` but perhaps the file's last.
    Lines(&'b [u8]),
    /// One line longer than a block: its first bytes, as many as a line keeps, and its length
    /// with its line end.
    Long { head: &'b [u8], len: u64 },
}

impl Block<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Block::Lines(bytes) => bytes.len() as u64,
            Block::Long { len, .. } => *len,
        }
    }

    /// A checksum of the bytes read (of a long line, its head), to tell the block read again
    /// from the one indexed.
    pub fn checksum(&self) -> u32 {
        crc32fast::hash(match self {
            Block::Lines(bytes) => bytes,
            Block::Long { head, .. } => head,
        })
    }
}

impl Blocks {
    /// `path` as a regular file under the data cap, decompressed if its name ends in `.gz`,
    /// read no further than `limit` bytes (decompressed).
    pub fn open(path: &Path, limit: u64) -> io::Result<Blocks> {
        let file = open(path, Cap::data())?;
        let input = if path.extension().is_some_and(|e| e == "gz") {
            Input::Compressed(Box::new(decompressed(
                flate2::read::MultiGzDecoder::new(file),
                Cap::data(),
            )))
        } else {
            Input::Plain(file)
        };
        Ok(Blocks {
            input,
            buffer: vec![0; BLOCK_BYTES],
            start: 0,
            end: 0,
            left: limit,
            long: Vec::new(),
        })
    }

    /// The next block, or none at the end.
    pub fn next(&mut self) -> io::Result<Option<Block<'_>>> {
        let ended = self.fill()?;
        if self.end == 0 {
            return Ok(None);
        }
        if let Some(last) = memchr::memrchr(b'\n', &self.buffer[..self.end]) {
            self.start = last + 1;
            return Ok(Some(Block::Lines(&self.buffer[..self.start])));
        }
        if ended {
            self.start = self.end;
            return Ok(Some(Block::Lines(&self.buffer[..self.end])));
        }
        self.long.clear();
        self.long.extend_from_slice(&self.buffer[..MAX_LINE_BYTES]);
        let mut len = self.end as u64;
        self.start = self.end;
        loop {
            self.fill()?;
            if self.end == 0 {
                break;
            }
            match memchr::memchr(b'\n', &self.buffer[..self.end]) {
                Some(at) => {
                    len += at as u64 + 1;
                    self.start = at + 1;
                    break;
                }
                None => {
                    len += self.end as u64;
                    self.start = self.end;
                }
            }
        }
        Ok(Some(Block::Long {
            head: &self.long,
            len,
        }))
    }

    /// Passes over the next block, of `len` bytes, without reading it where the file allows.
    pub fn skip(&mut self, len: u64) -> io::Result<()> {
        let buffered = (self.end - self.start) as u64;
        if len <= buffered {
            self.start += len as usize;
            return Ok(());
        }
        let rest = len - buffered;
        self.start = self.end;
        if rest > self.left {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= rest;
        match &mut self.input {
            Input::Plain(file) => file.skip(rest),
            Input::Compressed(reader) => {
                let passed = io::copy(&mut reader.take(rest), &mut io::sink())?;
                if passed == rest {
                    Ok(())
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                }
            }
        }
    }

    /// Moves what is left to the front and reads until the buffer is full; whether the input
    /// ended.
    fn fill(&mut self) -> io::Result<bool> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < BLOCK_BYTES {
            let want =
                (BLOCK_BYTES - self.end).min(usize::try_from(self.left).unwrap_or(usize::MAX));
            if want == 0 {
                return Ok(true);
            }
            let into = &mut self.buffer[self.end..self.end + want];
            let read = match &mut self.input {
                Input::Plain(file) => file.read(into),
                Input::Compressed(reader) => reader.read(into),
            };
            match read {
                Ok(0) => return Ok(true),
                Ok(read) => {
                    self.end += read;
                    self.left -= read as u64;
                }
                Err(why) if why.kind() == io::ErrorKind::Interrupted => {}
                Err(why) => return Err(why),
            }
        }
        Ok(false)
    }
}

/// Calls `each` with every line of a block of lines: its offset in the block, and its bytes
/// without the line end.
pub fn each_line<E>(
    bytes: &[u8],
    mut each: impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        each(start, &bytes[start..end])?;
        start = end + 1;
    }
    if start < bytes.len() {
        each(start, &bytes[start..])?;
    }
    Ok(())
}

/// A line's text as queries see it, none for a blank line: bytes that are not UTF-8 become
/// U+FFFD, a line longer than the cap is cut at a character boundary and marked. `head`: the
/// bytes are the head of a line longer than a block (cut whatever their length).
pub fn line_text(raw: &[u8], head: bool) -> Option<Cow<'_, str>> {
    let raw = if head {
        &raw[..raw.len() - crate::ops::unfinished_utf8_tail(raw)]
    } else {
        let kept = raw.len() - raw.iter().rev().take_while(|b| **b == b'\r').count();
        &raw[..kept]
    };
    // Checked whole first: most lines are UTF-8, and that check is the faster.
    let text = match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    };
    if text.trim().is_empty() {
        return None;
    }
    if !head && text.len() <= MAX_LINE_BYTES {
        return Some(text);
    }
    let mut end = text.len().min(MAX_LINE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(Cow::Owned(format!("{}{CUT_MARKER}", &text[..end])))
}

/// The values of a line's label fields, in their order: none when absent or empty.
pub type FieldValues<'t> = Vec<Option<Cow<'t, str>>>;

/// A line's time and the values of the label fields (in their order; none when absent or
/// empty), or what is wrong with it. `written_ns`: when the file was last written, the time
/// of a `plain` line and the year of a syslog one.
pub fn parse_line<'t>(
    format: LogFormat,
    text: &'t str,
    label_fields: &[String],
    written_ns: i64,
) -> Result<(i64, FieldValues<'t>), String> {
    // For each of TIME_FIELDS then each label field: absent, or present with its text (none
    // for a value that is no scalar).
    let found: Vec<Option<Option<Cow<'t, str>>>> = match format {
        LogFormat::Plain => return Ok((written_ns, Vec::new())),
        LogFormat::Text => {
            let text = text.trim_start();
            let leading = timestamp::leading(text).or_else(|| timestamp::syslog(text, written_ns));
            return match leading {
                Some((at_ns, _)) => Ok((at_ns, Vec::new())),
                None => Err("no timestamp at the start of the line (expected RFC 3339, \
                     `2006-01-02 15:04:05` or syslog's `Nov 30 10:28:00`; `format plain` reads \
                     lines without one)"
                    .to_owned()),
            };
        }
        LogFormat::Json => json_fields(text, label_fields)?,
        LogFormat::Logfmt => {
            let pairs = logfmt::pairs(text)
                .map_err(|malformed| format!("not logfmt: {}", malformed.problem))?;
            let mut found = vec![None; TIME_FIELDS.len() + label_fields.len()];
            // The first of a repeated key wins, as the `logfmt` stage reads it.
            for (key, value) in pairs {
                for at in positions(&key, label_fields) {
                    found[at].get_or_insert_with(|| Some(Cow::Owned(value.clone())));
                }
            }
            found
        }
    };
    let (times, labels) = found.split_at(TIME_FIELDS.len());
    let Some((field, value)) = TIME_FIELDS
        .iter()
        .zip(times)
        .find_map(|(name, value)| value.as_ref().map(|value| (*name, value)))
    else {
        return Err(format!(
            "no time: none of the fields {} is present",
            TIME_FIELDS.map(|f| format!("`{f}`")).join(", ")
        ));
    };
    let at_ns = value.as_deref().and_then(timestamp::field).ok_or_else(|| {
        format!(
            "the `{field}` field is not a time (expected RFC 3339, `2006-01-02 15:04:05` or \
             epoch seconds, milliseconds, microseconds or nanoseconds)"
        )
    })?;
    let labels = (labels.iter())
        .map(|value| value.clone().flatten().filter(|v| !v.is_empty()))
        .collect();
    Ok((at_ns, labels))
}

/// Where a field's value goes among those `parse_line` looks for: TIME_FIELDS, then the
/// label fields (a name may be both).
fn positions<'a>(key: &'a str, label_fields: &'a [String]) -> impl Iterator<Item = usize> + 'a {
    let times = TIME_FIELDS.iter().copied();
    let labels = label_fields.iter().map(String::as_str);
    times
        .chain(labels)
        .enumerate()
        .filter(move |(_, name)| *name == key)
        .map(|(at, _)| at)
}

/// The fields `parse_line` looks for in a JSON object line; the others are checked but not
/// kept. A repeated key keeps its last value, as a JSON object does.
fn json_fields<'t>(
    text: &'t str,
    label_fields: &[String],
) -> Result<Vec<Option<Option<Cow<'t, str>>>>, String> {
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => "not a JSON object".to_owned(),
            Err(why) => format!("not a JSON object: {why}"),
        });
    }
    let mut parser = serde_json::Deserializer::from_str(text);
    let found = Wanted(label_fields)
        .deserialize(&mut parser)
        .and_then(|found| parser.end().map(|()| found))
        .map_err(|why| format!("not a JSON object: {why}"))?;
    Ok(found)
}

struct Wanted<'f>(&'f [String]);

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = Vec<Option<Option<Cow<'de, str>>>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, parser: D) -> Result<Self::Value, D::Error> {
        parser.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = Vec<Option<Option<Cow<'de, str>>>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; TIME_FIELDS.len() + self.0.len()];
        // A key reads as a string scalar does.
        while let Some(Scalar(key)) = map.next_key()? {
            let key = key.unwrap_or_default();
            let mut at = positions(&key, self.0).peekable();
            if at.peek().is_none() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let Scalar(value) = map.next_value()?;
            for at in at {
                found[at] = Some(value.clone());
            }
        }
        Ok(found)
    }
}

/// A field's value as a label's (as `scalar_text` gives it), or a key: borrowed from the line
/// unless it holds an escape.
struct Scalar<'de>(Option<Cow<'de, str>>);

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(parser: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar(Some(Cow::Borrowed(text))))
            }
            fn visit_str<E>(self, text: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar(Some(Cow::Owned(text.to_owned()))))
            }
            fn visit_bool<E>(self, flag: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar(Some(Cow::Owned(flag.to_string()))))
            }
            fn visit_u64<E>(self, number: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar(Some(Cow::Owned(number.to_string()))))
            }
            fn visit_i64<E>(self, number: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar(Some(Cow::Owned(number.to_string()))))
            }
            fn visit_f64<E>(self, number: f64) -> Result<Scalar<'de>, E> {
                let number = serde_json::Number::from_f64(number);
                Ok(Scalar(number.map(|n| Cow::Owned(n.to_string()))))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        parser.deserialize_any(Any)
    }
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
