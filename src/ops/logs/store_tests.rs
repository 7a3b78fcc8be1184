//! The index and the scan attacked: files changed after they were declared, the texts a query
//! searches blocks for (which must never leave out a line the query keeps), lines longer than
//! a block, and files large enough to be read by several threads.

use super::tests::{at, load, scratch, write, SECOND};
use super::*;
use crate::ops::file_source::Stop;
use std::io::Write;

fn select(files: &LogFiles, query: &str, limit: usize) -> Result<LogSelection, LogError> {
    files.select(query, i64::MIN, i64::MAX, limit, &Stop::default())
}

fn json_line(seconds: i64, service: &str, msg: &str) -> String {
    let time = chrono::DateTime::from_timestamp_nanos(at(seconds)).to_rfc3339();
    serde_json::json!({"time": time, "service": service, "msg": msg}).to_string() + "\n"
}

#[test]
fn a_query_reads_the_files_as_they_were_declared() {
    let dir = scratch();
    let first = json_line(1, "checkout", "error: first");
    let path = write(&dir, "app.jsonl", first.as_bytes());
    let files = load(&path, LogFormat::Json, &["service"]);
    // Appended after the source was declared: not seen.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(json_line(2, "checkout", "error: second").as_bytes())
        .unwrap();
    let selection = select(&files, r#"{service="checkout"} |= "error""#, 10).unwrap();
    assert_eq!(selection.matched, 1);
    assert_eq!(selection.lines[0].line, first.trim_end());
    // The part read rewritten, same length: refused, not read as if it were the same.
    let rewritten = first.replace("first", "fir5t");
    std::fs::write(&path, rewritten).unwrap();
    let changed = select(&files, r#"{service="checkout"}"#, 10).unwrap_err();
    assert!(
        matches!(&changed, LogError::Changed(text) if text.contains("app.jsonl")
            && text.contains("changed since the source was declared")),
        "{changed:?}"
    );
    // Cut short: refused too, by queries and metric queries alike.
    std::fs::write(&path, &first[..10]).unwrap();
    assert!(matches!(
        select(&files, r#"{service="checkout"}"#, 10),
        Err(LogError::Changed(_))
    ));
    let metric = files.metric_instant(
        r#"count_over_time({service="checkout"}[1h])"#,
        at(60),
        &Stop::default(),
    );
    assert!(matches!(metric, Err(LogError::Changed(_))), "{metric:?}");
    // Removed: the same, naming the file.
    std::fs::remove_file(&path).unwrap();
    let gone = select(&files, r#"{service="checkout"}"#, 10).unwrap_err();
    assert!(gone.to_string().contains("app.jsonl"), "{gone}");
}

/// Pieces of field values: escapes, numbers written in several ways, text that is a value
/// elsewhere on the line, bytes that are not UTF-8.
const VALUE_PIECES: [&str; 13] = [
    "checkout",
    "check",
    "out",
    r"\u0063heckout",
    r#"\""#,
    "é",
    r"\\",
    "1e2",
    "100",
    "true",
    " ",
    "error",
    BROKEN,
];

/// Written as a byte that is not UTF-8 (read as U+FFFD).
const BROKEN: &str = "\u{1}";

fn random_value(rng: &mut fastrand::Rng) -> String {
    (0..rng.usize(1..3))
        .map(|_| VALUE_PIECES[rng.usize(..VALUE_PIECES.len())])
        .collect()
}

/// A random line in `format`, with a service field (sometimes twice, sometimes a number) and a
/// message; written as JSON text or logfmt, escapes and all.
fn random_line(rng: &mut fastrand::Rng, format: LogFormat, second: i64) -> Vec<u8> {
    let time = chrono::DateTime::from_timestamp_nanos(at(second)).to_rfc3339();
    let service = random_value(rng);
    let message = random_value(rng);
    let mut line = match (format, rng.u8(..4)) {
        (LogFormat::Json, 0) => format!(
            r#"{{"time":"{time}","service":{},"msg":"{message}"}}"#,
            rng.u8(..3) * 50
        ),
        (LogFormat::Json, 1) => format!(
            r#"{{"time":"{time}","service":"{service}","msg":"{message}","service":"{}"}}"#,
            random_value(rng)
        ),
        (LogFormat::Json, _) => {
            format!(r#"{{"time":"{time}","service":"{service}","msg":"{message}"}}"#)
        }
        (_, 0) => format!(
            r#"time={time} service={} msg="{message}""#,
            rng.u8(..3) * 50
        ),
        (_, _) => format!(r#"time={time} service="{service}" msg="{message}""#),
    }
    .into_bytes();
    for byte in &mut line {
        if *byte == BROKEN.as_bytes()[0] {
            *byte = 0xFF;
        }
    }
    line.extend_from_slice(if rng.bool() { b"\n" } else { b"\r\n" });
    line
}

/// Regex-escaped for a LogQL backtick string: the same test written so that it gives the scan
/// nothing to search for.
fn as_pattern(text: &str) -> String {
    regex::escape(text)
}

/// `{service="V"} |= "T"` and `{service=~"V"} |~ "T"` keep the same lines: the first lets the
/// scan skip lines without V or T, the second looks at every line. Over random lines with
/// escapes, repeated keys, numbers and broken bytes, they must never differ.
#[test]
fn the_texts_a_scan_searches_for_never_leave_out_a_line_the_query_keeps() {
    let dir = scratch();
    let mut rng = fastrand::Rng::with_seed(0x16_2026);
    for round in 0..120 {
        let format = if rng.bool() {
            LogFormat::Json
        } else {
            LogFormat::Logfmt
        };
        let mut bytes = Vec::new();
        for line in 0..rng.i64(1..60) {
            bytes.extend(random_line(&mut rng, format, line));
        }
        let path = write(&dir, &format!("needles-{round}"), &bytes);
        let Ok(files) = LogFiles::load(
            std::slice::from_ref(&path),
            format,
            &Labels::new(),
            &["service".to_owned()],
            &Stop::default(),
        ) else {
            continue;
        };
        for _ in 0..8 {
            let service = files.label_values("service");
            let value = match service.get(rng.usize(..service.len().max(1))) {
                Some(value) if rng.u8(..4) > 0 => value.clone(),
                _ => random_value(&mut rng).replace('\\', ""),
            };
            let text = VALUE_PIECES[rng.usize(..VALUE_PIECES.len())].replace('\\', "");
            // A selector needs a value that is not empty.
            if value.is_empty() || value.contains('`') || text.contains('`') {
                continue;
            }
            let searched = format!("{{service=`{value}`}} |= `{text}`");
            let looked_at = format!(
                "{{service=~`{}`}} |~ `{}`",
                as_pattern(&value),
                as_pattern(&text)
            );
            let (Ok(searched_lines), Ok(all_lines)) = (
                select(&files, &searched, 1000),
                select(&files, &looked_at, 1000),
            ) else {
                panic!("{searched} or {looked_at} failed");
            };
            assert_eq!(
                searched_lines,
                all_lines,
                "{searched} against {looked_at} over {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}

#[test]
fn a_line_longer_than_a_block_is_cut_and_the_lines_after_it_are_read() {
    let dir = scratch();
    let time = "2026-11-30T10:00:00Z";
    let mut bytes = format!("{time} before\n{time} ").into_bytes();
    bytes.extend(std::iter::repeat_n(b'a', 3 << 20));
    bytes.extend_from_slice(b" needle\n2026-11-30T10:00:02Z after\n");
    let path = write(&dir, "long.log", &bytes);
    let files = load(&path, LogFormat::Text, &[]);
    assert_eq!(files.line_count(), 3);
    // The line as kept is its first MiB and a mark: what is past the cut is not in it.
    assert_eq!(
        select(&files, r#"{filename=~".+"} |= "needle""#, 10)
            .unwrap()
            .matched,
        0
    );
    let cut = select(&files, r#"{filename=~".+"} |= "line cut at 1 MiB""#, 10).unwrap();
    assert_eq!(cut.matched, 1);
    assert_eq!(
        cut.lines[0].line.len(),
        (1 << 20) + " [playbook: line cut at 1 MiB]".len()
    );
    let after = select(&files, r#"{filename=~".+"} |= "after""#, 10).unwrap();
    assert_eq!(after.lines[0].at_ns, at(2));
    // A bad line after it is named by its own number.
    bytes.extend_from_slice(b"no time here\n");
    let path = write(&dir, "long-bad.log", &bytes);
    let error = LogFiles::load(
        &[path],
        LogFormat::Text,
        &Labels::new(),
        &[],
        &Stop::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("line 4: no timestamp"),
        "{error}"
    );
}

/// Over 8 MiB, so that several threads share the reading: every answer is the one worked out
/// from the lines written, plain or compressed (which one thread reads whole).
#[test]
fn a_large_file_read_by_several_threads_gives_the_answers_of_its_lines() {
    let dir = scratch();
    let services = ["checkout", "cart", "search", "auth"];
    let padding = "x".repeat(120);
    let mut text = String::new();
    let (lines, mut errors, mut newest_errors) = (80_000i64, 0usize, Vec::new());
    for line in 0..lines {
        // A line every 50 ms over 4000 s.
        let service = services[(line % 4) as usize];
        let error = line % 13 == 0 && service == "checkout";
        let time = chrono::DateTime::from_timestamp_nanos(at(0) + line * 50_000_000);
        let msg = if error { "error: refused" } else { "ok" };
        let written = serde_json::json!({
            "time": time.to_rfc3339(), "service": service, "msg": msg, "pad": padding,
        })
        .to_string();
        if error {
            errors += 1;
            newest_errors.push(written.clone());
        }
        text.push_str(&written);
        text.push('\n');
    }
    newest_errors.reverse();
    newest_errors.truncate(5);
    assert!(text.len() > 8 << 20);
    let plain = write(&dir, "big.jsonl", text.as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    let compressed = write(&dir, "big.jsonl.gz", &encoder.finish().unwrap());
    for path in [plain, compressed] {
        let files = load(&path, LogFormat::Json, &["service"]);
        assert_eq!(files.line_count(), lines as usize);
        let selection = select(&files, r#"{service="checkout"} |= "error""#, 5).unwrap();
        assert_eq!(selection.matched, errors, "{path:?}");
        let kept: Vec<&str> = selection.lines.iter().map(|l| l.line.as_str()).collect();
        assert_eq!(kept, newest_errors, "{path:?}");
        let volume = selection.volume.unwrap();
        assert_eq!(volume.total(), errors as u64);
        // Per 100 s: 2000 lines, 500 of checkout's, those of a multiple of 13 errors.
        let range = files
            .metric_range(
                r#"sum(count_over_time({service="checkout"} | json | msg=~"error.*" [100s]))"#,
                at(100),
                at(4000),
                100 * SECOND,
                &Stop::default(),
            )
            .unwrap();
        let crate::ops::metrics::QueryResult::Matrix(series) = range else {
            panic!("{range:?}");
        };
        for (t, value) in &series[0].points {
            let end = (*t as i64 - at(0) / SECOND) * 20;
            let expected = (end - 1999..=end)
                .filter(|line| (0..lines).contains(line) && line % 4 == 0 && line % 13 == 0)
                .count();
            assert_eq!(*value, expected as f64, "at {t}: {path:?}");
        }
    }
}

/// An interrupted declaration stops reading and declares nothing.
#[test]
fn a_stopped_declaration_is_an_error_not_a_part_of_the_files() {
    let dir = scratch();
    let path = write(&dir, "app.log", b"2026-11-20T10:00:00Z one\n");
    let stop = Stop::default();
    stop.stop();
    let error = LogFiles::load(&[path], LogFormat::Text, &Labels::new(), &[], &stop).unwrap_err();
    assert!(matches!(error, LogLoadError::Stopped), "{error}");
}
