//! Fixtures are small literal files; every expected answer was worked out by hand from them.

use super::*;
use crate::ops::file_source::Stop;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// 2026-11-30T10:00:00Z in seconds (from `date -u -d 2026-11-30T10:00:00Z +%s`).
pub(super) const T0: i64 = 1_796_032_800;
pub(super) const SECOND: i64 = 1_000_000_000;

pub(super) fn at(seconds_after_t0: i64) -> i64 {
    (T0 + seconds_after_t0) * SECOND
}

/// A fresh directory for one test's files.
pub(super) fn scratch() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "playbook-logs-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(super) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub(super) fn load(path: &Path, format: LogFormat, fields: &[&str]) -> LogFiles {
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    LogFiles::load(
        &[path.to_owned()],
        format,
        &Labels::new(),
        &fields,
        &Stop::default(),
    )
    .unwrap()
}

fn load_error(path: &Path, format: LogFormat) -> String {
    LogFiles::load(
        &[path.to_owned()],
        format,
        &Labels::new(),
        &[],
        &Stop::default(),
    )
    .unwrap_err()
    .to_string()
}

fn select(files: &LogFiles, query: &str) -> LogSelection {
    files
        .select(query, i64::MIN, i64::MAX, 100, &Stop::default())
        .unwrap()
}

/// The texts selected, newest first.
fn texts(files: &LogFiles, query: &str) -> Vec<String> {
    select(files, query)
        .lines
        .into_iter()
        .map(|l| l.line)
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const ORDERS: [&str; 5] = [
    r#"{"time":"2026-11-30T10:00:00Z","app":"checkout","level":"info","msg":"order placed","user":{"id":7,"name":"ann"},"tags":["a"],"status":200}"#,
    r#"{"time":"2026-11-30T10:00:01Z","app":"checkout","level":"error","msg":"payment failed","status":502,"took":"1.5"}"#,
    r#"{"time":"2026-11-30T10:00:02Z","app":"search","level":"debug","msg":"query ok","status":200}"#,
    r#"{"time":"2026-11-30T10:00:03Z","app":"search","level":"error","msg":"timeout","status":504}"#,
    r#"{"time":"2026-11-30T10:00:02Z","app":"checkout","level":"info","msg":"order shipped","status":200}"#,
];

/// The ORDERS lines, 1-based as in the file, as a query returns them.
fn lines(numbers: &[usize]) -> Vec<String> {
    numbers.iter().map(|n| ORDERS[n - 1].to_owned()).collect()
}

fn orders() -> (LogFiles, String) {
    let path = write(&scratch(), "app.json", ORDERS.join("\n").as_bytes());
    let files = load(&path, LogFormat::Json, &["app", "level"]);
    (files, path.display().to_string())
}

fn syntax_error(query: &str) -> (String, (usize, usize)) {
    match check_query(query) {
        Err(LogError::Syntax { message, position }) => (message, position),
        other => panic!("{query}: expected a syntax error, got {other:?}"),
    }
}

fn unsupported(query: &str) -> String {
    match check_query(query) {
        Err(LogError::Unsupported(what)) => what,
        other => panic!("{query}: expected Unsupported, got {other:?}"),
    }
}

// Loading

#[test]
fn json_lines_make_one_stream_per_label_set() {
    let (files, path) = orders();
    assert_eq!(files.line_count(), 5);
    assert_eq!(files.label_names(), ["app", "filename", "level"]);
    assert_eq!(files.label_values("app"), ["checkout", "search"]);
    assert_eq!(files.label_values("level"), ["debug", "error", "info"]);
    assert_eq!(files.label_values("filename"), std::slice::from_ref(&path));
    let selection = select(&files, r#"{app="checkout"}"#);
    assert_eq!(selection.matched, 3);
    assert_eq!(
        selection.lines[0],
        LogLine {
            at_ns: at(2),
            labels: labels(&[("app", "checkout"), ("filename", &path), ("level", "info")]),
            line: ORDERS[4].to_owned(),
        }
    );
    assert_eq!(texts(&files, r#"{app="checkout"}"#), lines(&[5, 2, 1]));
}

#[test]
fn fixed_labels_win_over_fields_and_every_stream_has_its_filename() {
    let dir = scratch();
    let path = write(
        &dir,
        "a.json",
        br#"{"ts":"2026-11-30T10:00:00Z","env":"dev","app":"x"}"#,
    );
    let fixed = labels(&[("env", "prod")]);
    let fields = vec!["env".to_owned(), "app".to_owned(), "absent".to_owned()];
    let files = LogFiles::load(
        std::slice::from_ref(&path),
        LogFormat::Json,
        &fixed,
        &fields,
        &Stop::default(),
    )
    .unwrap();
    let selection = select(&files, r#"{env="prod"}"#);
    assert_eq!(
        selection.lines[0].labels,
        labels(&[
            ("app", "x"),
            ("env", "prod"),
            ("filename", &path.display().to_string())
        ])
    );
}

#[test]
fn json_times_come_from_the_first_time_field_in_any_unit() {
    let dir = scratch();
    let text = [
        r#"{"ts":1796032800}"#,
        r#"{"ts":1796032800.5}"#,
        r#"{"timestamp":1796032800123}"#,
        r#"{"ts":1796032800123456}"#,
        r#"{"ts":1796032800123456789}"#,
        r#"{"@timestamp":"2026-11-30T10:00:00.123456789123+00:00"}"#,
        r#"{"time":"2026-11-30T11:00:00+01:00","ts":5}"#,
        r#"{"ts":"1796032801"}"#,
    ]
    .join("\n");
    let path = write(&dir, "t.json", text.as_bytes());
    let files = load(&path, LogFormat::Json, &[]);
    let mut times: Vec<i64> = select(&files, r#"{filename=~".+"}"#)
        .lines
        .iter()
        .map(|l| l.at_ns)
        .collect();
    times.sort();
    assert_eq!(
        times,
        [
            at(0),
            at(0),
            at(0) + 123_000_000,
            at(0) + 123_456_000,
            at(0) + 123_456_789,
            at(0) + 123_456_789,
            at(0) + 500_000_000,
            at(1),
        ]
    );
}

#[test]
fn logfmt_lines_load_with_their_time_and_label_fields() {
    let dir = scratch();
    let text = "time=2026-11-30T10:00:00Z level=info msg=\"user \\\"ann\\\" logged in\" app=auth\n\
                ts=1796032801 level=warn msg=slow duration=1.5 app=auth\n\
                timestamp=1796032802000 level=error msg=\"db down\" app=db\n";
    let path = write(&dir, "a.logfmt", text.as_bytes());
    let files = load(&path, LogFormat::Logfmt, &["app"]);
    assert_eq!(files.label_values("app"), ["auth", "db"]);
    let selection = select(&files, r#"{app="auth"} | logfmt"#);
    assert_eq!(selection.matched, 2);
    let name = path.display().to_string();
    assert_eq!(selection.lines[0].at_ns, at(1));
    assert_eq!(
        selection.lines[0].labels,
        labels(&[
            ("app", "auth"),
            ("app_extracted", "auth"),
            ("duration", "1.5"),
            ("filename", &name),
            ("level", "warn"),
            ("msg", "slow"),
            ("ts", "1796032801"),
        ])
    );
    assert_eq!(
        selection.lines[1].labels.get("msg").map(String::as_str),
        Some("user \"ann\" logged in")
    );
    assert_eq!(
        texts(&files, r#"{app=~".+"} | logfmt | level="error""#),
        ["timestamp=1796032802000 level=error msg=\"db down\" app=db"]
    );
}

#[test]
fn text_lines_take_rfc3339_or_a_plain_utc_time_and_keep_the_whole_line() {
    let dir = scratch();
    let text = "2026-11-30T10:00:00Z GET /health 200\r\n\
                \n\
                2026-11-30 10:00:01.250 POST /pay status=500 \"broken\n\
                2026-11-30T11:00:02+01:00 GET /cart 200\n";
    let path = write(&dir, "access.log", text.as_bytes());
    let files = load(&path, LogFormat::Text, &[]);
    let name = path.display().to_string();
    assert_eq!(files.label_names(), ["filename"]);
    let selection = select(&files, r#"{filename=~".+"}"#);
    let got: Vec<(i64, &str)> = selection
        .lines
        .iter()
        .map(|l| (l.at_ns, l.line.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (at(2), "2026-11-30T11:00:02+01:00 GET /cart 200"),
            (
                at(1) + 250_000_000,
                "2026-11-30 10:00:01.250 POST /pay status=500 \"broken"
            ),
            (at(0), "2026-11-30T10:00:00Z GET /health 200"),
        ]
    );
    // Malformed logfmt keeps what came before the fault and is marked.
    let failed = select(&files, r#"{filename=~".+"} | logfmt | __error__!="""#);
    assert_eq!(failed.matched, 1);
    assert_eq!(
        failed.lines[0].labels,
        labels(&[
            ("__error__", "LogfmtParserErr"),
            ("filename", &name),
            ("status", "500")
        ])
    );
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    let dir = scratch();
    let path = write(&dir, "bytes.log", b"2026-11-30T10:00:00Z caf\xff\n");
    let files = load(&path, LogFormat::Text, &[]);
    assert_eq!(
        texts(&files, r#"{filename=~".+"}"#),
        ["2026-11-30T10:00:00Z caf\u{FFFD}"]
    );
}

#[test]
fn a_line_over_one_mib_is_cut_at_a_character_boundary() {
    let dir = scratch();
    // 21 bytes of prefix and two-byte characters: byte 1 MiB falls inside a character, so the
    // cut is one byte earlier, after 524277 of them.
    let prefix = "2026-11-30T10:00:00Z ";
    let line = format!("{prefix}{}", "é".repeat(600_000));
    let path = write(&dir, "long.log", line.as_bytes());
    let files = load(&path, LogFormat::Text, &[]);
    let expected = format!(
        "{prefix}{} [playbook: line cut at 1 MiB]",
        "é".repeat(524_277)
    );
    assert_eq!(texts(&files, r#"{filename=~".+"}"#), [expected]);
}

#[test]
fn load_errors_name_the_file_and_the_line() {
    let dir = scratch();
    let cases: [(&str, LogFormat, &str, &str); 7] = [
        (
            "array.json",
            LogFormat::Json,
            "{\"time\":\"2026-11-30T10:00:00Z\"}\n\n[1,2]\n",
            "line 3: not a JSON object",
        ),
        (
            "broken.json",
            LogFormat::Json,
            "{\"time\":",
            "line 1: not a JSON object: EOF while parsing a value at line 1 column 8",
        ),
        (
            "untimed.json",
            LogFormat::Json,
            "{\"msg\":\"x\"}",
            "line 1: no time: none of the fields `time`, `ts`, `timestamp`, `@timestamp` is present",
        ),
        (
            "badtime.json",
            LogFormat::Json,
            "{\"time\":\"yesterday\"}",
            "line 1: the `time` field is not a time (expected RFC 3339, `2006-01-02 15:04:05` or \
             epoch seconds, milliseconds, microseconds or nanoseconds)",
        ),
        (
            "app.log",
            LogFormat::Text,
            "2026-11-30T10:00:00Z ok\n\nhello\n",
            "line 3: no timestamp at the start of the line (expected RFC 3339, \
             `2006-01-02 15:04:05` or syslog's `Nov 30 10:28:00`; `format plain` reads lines \
             without one)",
        ),
        (
            "zone.log",
            LogFormat::Text,
            "2026-11-30T10:00:00 no zone\n",
            "line 1: no timestamp at the start of the line (expected RFC 3339, \
             `2006-01-02 15:04:05` or syslog's `Nov 30 10:28:00`; `format plain` reads lines \
             without one)",
        ),
        (
            "open.logfmt",
            LogFormat::Logfmt,
            "time=2026-11-30T10:00:00Z msg=\"open\n",
            "line 1: not logfmt: the quoted value of `msg` is not closed",
        ),
    ];
    for (name, format, content, problem) in cases {
        let path = write(&dir, name, content.as_bytes());
        assert_eq!(
            load_error(&path, format),
            format!("{}, {problem}", path.display()),
            "{name}"
        );
    }
}

#[test]
fn directories_and_fifos_are_refused() {
    let dir = scratch();
    assert_eq!(
        load_error(&dir, LogFormat::Text),
        format!(
            "cannot read log file {}: it is a directory, not a regular file",
            dir.display()
        )
    );
    let fifo = dir.join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    assert_eq!(
        load_error(&fifo, LogFormat::Text),
        format!(
            "cannot read log file {}: it is a FIFO, not a regular file",
            fifo.display()
        )
    );
}

#[test]
fn a_glob_in_the_last_component_loads_the_files_it_matches() {
    let dir = scratch();
    write(&dir, "a.log", b"2026-11-30T10:00:00Z first\n");
    write(&dir, "b.log", b"2026-11-30T10:00:00Z second\n");
    write(&dir, "c.txt", b"not a log\n");
    write(&dir, ".hidden.log", b"not a log either\n");
    std::fs::create_dir(dir.join("d.log")).unwrap();
    let files = load(&dir.join("*.log"), LogFormat::Text, &[]);
    assert_eq!(
        files.label_values("filename"),
        [
            dir.join("a.log").display().to_string(),
            dir.join("b.log").display().to_string()
        ]
    );
    // One time in two files: the later-loaded file first.
    assert_eq!(
        texts(&files, r#"{filename=~".+"}"#),
        ["2026-11-30T10:00:00Z second", "2026-11-30T10:00:00Z first"]
    );
    let nothing = dir.join("*.json");
    assert_eq!(
        load_error(&nothing, LogFormat::Text),
        format!("{}: no file matches this pattern", nothing.display())
    );
    let deep = dir.join("*").join("a.log");
    assert_eq!(
        load_error(&deep, LogFormat::Text),
        format!(
            "{}: `*` and `?` are allowed only in the last component of a path",
            deep.display()
        )
    );
}

#[test]
fn the_format_names_are_json_logfmt_text_and_plain() {
    assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
    assert_eq!("logfmt".parse::<LogFormat>(), Ok(LogFormat::Logfmt));
    assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
    assert_eq!("plain".parse::<LogFormat>(), Ok(LogFormat::Plain));
    assert_eq!(
        "syslog".parse::<LogFormat>(),
        Err("unknown log format `syslog`: expected `json`, `logfmt`, `text` or `plain`".to_owned())
    );
}

// Selecting

#[test]
fn every_selector_matcher() {
    let (files, _) = orders();
    assert_eq!(
        texts(&files, r#"{app=~".+", level!="info"}"#),
        lines(&[4, 3, 2])
    );
    assert_eq!(texts(&files, r#"{app=~"check.*"}"#), lines(&[5, 2, 1]));
    // Anchored: a part of the value does not match.
    assert_eq!(texts(&files, r#"{app=~"check"}"#), lines(&[]));
    assert_eq!(
        texts(&files, r#"{app!~"check.*", level=~"e.+"}"#),
        lines(&[4])
    );
    assert_eq!(texts(&files, "{app=`search`}"), lines(&[4, 3]));
    assert_eq!(texts(&files, r#"{app="nothing"}"#), lines(&[]));
}

#[test]
fn every_line_filter_and_chains_of_them() {
    let (files, _) = orders();
    let all = r#"{app=~".+"}"#;
    assert_eq!(
        texts(&files, &format!("{all} |= \"order\"")),
        lines(&[5, 1])
    );
    assert_eq!(
        texts(&files, &format!("{all} != \"order\"")),
        lines(&[4, 3, 2])
    );
    assert_eq!(
        texts(&files, &format!("{all} |~ \"fail|timeout\"")),
        lines(&[4, 2])
    );
    assert_eq!(
        texts(&files, &format!("{all} !~ `\"status\":20[0-9]`")),
        lines(&[4, 2])
    );
    assert_eq!(
        texts(&files, &format!("{all} |= \"order\" != \"shipped\"")),
        lines(&[1])
    );
    assert_eq!(
        texts(&files, &format!("{all} |= \"placed\" or \"timeout\"")),
        lines(&[4, 1])
    );
    assert_eq!(
        texts(&files, &format!("{all} != \"order\" or \"timeout\"")),
        lines(&[3, 2])
    );
    assert_eq!(
        texts(&files, &format!("{all} |~ \"(?i)PAYMENT\"")),
        lines(&[2])
    );
}

#[test]
fn json_flattens_nested_objects_and_renames_stream_labels() {
    let (files, path) = orders();
    let selection = select(&files, r#"{app="checkout"} |= "placed" | json"#);
    assert_eq!(
        selection.lines[0].labels,
        labels(&[
            ("app", "checkout"),
            ("app_extracted", "checkout"),
            ("filename", &path),
            ("level", "info"),
            ("level_extracted", "info"),
            ("msg", "order placed"),
            ("status", "200"),
            ("time", "2026-11-30T10:00:00Z"),
            ("user_id", "7"),
            ("user_name", "ann"),
        ])
    );
}

#[test]
fn json_sanitizes_names_and_marks_lines_that_are_not_json() {
    let dir = scratch();
    let path = write(
        &dir,
        "odd.log",
        b"2026-11-30T10:00:00Z {\"a-b.c\":\"v\",\"1st\":1,\"x\":{\"y z\":true},\"n\":null}\n",
    );
    let files = load(&path, LogFormat::Text, &[]);
    let name = path.display().to_string();
    // The text line is not JSON (its time comes first).
    let selection = select(&files, r#"{filename=~".+"} | json"#);
    assert_eq!(
        selection.lines[0].labels,
        labels(&[("__error__", "JSONParserErr"), ("filename", &name)])
    );
    assert_eq!(
        select(&files, r#"{filename=~".+"} | json | __error__="""#).matched,
        0
    );
    let json = write(
        &dir,
        "odd.json",
        b"{\"ts\":1796032800,\"a-b.c\":\"v\",\"1st\":1,\"x\":{\"y z\":true},\"n\":null}\n",
    );
    let files = load(&json, LogFormat::Json, &[]);
    let selection = select(&files, r#"{filename=~".+"} | json | __error__="""#);
    assert_eq!(
        selection.lines[0].labels,
        labels(&[
            ("_1st", "1"),
            ("a_b_c", "v"),
            ("filename", &json.display().to_string()),
            ("ts", "1796032800"),
            ("x_y_z", "true"),
        ])
    );
}

#[test]
fn every_label_filter_operator() {
    let (files, _) = orders();
    let with = |filter: &str| texts(&files, &format!("{{app=~\".+\"}} | json | {filter}"));
    assert_eq!(with("status >= 502"), lines(&[4, 2]));
    assert_eq!(with("status > 502"), lines(&[4]));
    assert_eq!(with("status < 500"), lines(&[5, 3, 1]));
    assert_eq!(with("status <= 200"), lines(&[5, 3, 1]));
    assert_eq!(with("status == 502"), lines(&[2]));
    assert_eq!(with("status != 200"), lines(&[4, 2]));
    assert_eq!(with("status = 504"), lines(&[4]));
    assert_eq!(with("status > -1.5e1"), lines(&[4, 5, 3, 2, 1]));
    // Only line 2 has `took`; a missing or non-numeric label fails every comparison.
    assert_eq!(with("took > 1"), lines(&[2]));
    assert_eq!(with("msg > 1"), lines(&[]));
    assert_eq!(with("msg != 1"), lines(&[]));
    assert_eq!(with(r#"msg =~ "order.*""#), lines(&[5, 1]));
    assert_eq!(with(r#"msg =~ "order""#), lines(&[]));
    assert_eq!(with(r#"msg !~ "order.*""#), lines(&[4, 3, 2]));
    assert_eq!(with(r#"msg = "timeout""#), lines(&[4]));
    assert_eq!(with(r#"msg != "timeout""#), lines(&[5, 3, 2, 1]));
    assert_eq!(with(r#"absent = """#), lines(&[4, 5, 3, 2, 1]));
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_group() {
    let (files, _) = orders();
    let with = |filter: &str| texts(&files, &format!("{{app=~\".+\"}} | json | {filter}"));
    assert_eq!(
        with(r#"level_extracted="error" or status == 200"#),
        lines(&[4, 5, 3, 2, 1])
    );
    assert_eq!(
        with(r#"msg="timeout" or level_extracted="info" and status == 200"#),
        lines(&[4, 5, 1])
    );
    assert_eq!(
        with(r#"(msg="timeout" or level_extracted="info") and status == 200"#),
        lines(&[5, 1])
    );
    assert_eq!(with(r#"level_extracted="error", status=502"#), lines(&[2]));
    assert_eq!(with(r#"level_extracted="error" | status=502"#), lines(&[2]));
}

#[test]
fn the_interval_includes_both_ends_and_ties_put_the_later_line_first() {
    let (files, _) = orders();
    let stop = Stop::default();
    let all = r#"{app=~".+"}"#;
    let between = |start, end| {
        files
            .select(all, start, end, 100, &stop)
            .unwrap()
            .lines
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(between(at(1), at(2)), lines(&[5, 3, 2]));
    assert_eq!(between(at(2), at(2)), lines(&[5, 3]));
    assert_eq!(between(at(2) + 1, at(3) - 1), lines(&[]));
    assert_eq!(between(at(3), at(1)), lines(&[]));
}

#[test]
fn ties_within_one_file_put_the_later_line_first() {
    let dir = scratch();
    let path = write(
        &dir,
        "same.log",
        b"2026-11-30T10:00:00Z one\n2026-11-30T10:00:00Z two\n2026-11-30T09:00:00Z zero\n",
    );
    let files = load(&path, LogFormat::Text, &[]);
    assert_eq!(
        texts(&files, r#"{filename=~".+"}"#),
        [
            "2026-11-30T10:00:00Z two",
            "2026-11-30T10:00:00Z one",
            "2026-11-30T09:00:00Z zero"
        ]
    );
}

#[test]
fn the_limit_keeps_the_newest_and_matched_counts_all() {
    let (files, _) = orders();
    let stop = Stop::default();
    let two = files
        .select(r#"{app=~".+"}"#, i64::MIN, i64::MAX, 2, &stop)
        .unwrap();
    assert_eq!(two.matched, 5);
    assert_eq!(
        two.lines.into_iter().map(|l| l.line).collect::<Vec<_>>(),
        lines(&[4, 5])
    );
    let none = files
        .select(r#"{app=~".+"} |= "order""#, i64::MIN, i64::MAX, 0, &stop)
        .unwrap();
    assert_eq!((none.lines, none.matched), (vec![], 2));
    let counted = none.volume.map(|v| v.total());
    assert_eq!(counted, Some(2), "the volume counts what was not returned");
}

#[test]
fn a_stopped_query_ends_with_stopped() {
    let dir = scratch();
    let text: String = (0..5000)
        .map(|i| format!("2026-11-30T10:00:00Z line {i}\n"))
        .collect();
    let path = write(&dir, "many.log", text.as_bytes());
    let files = load(&path, LogFormat::Text, &[]);
    assert_eq!(files.line_count(), 5000);
    let stop = Stop::default();
    stop.stop();
    assert_eq!(
        files.select(r#"{filename=~".+"}"#, i64::MIN, i64::MAX, 10, &stop),
        Err(LogError::Stopped)
    );
}

// Refusals and errors

#[test]
fn each_stage_not_evaluated_is_refused_by_name() {
    let base = r#"{app="x"} "#;
    let cases = [
        (
            "| json a=\"b.c\"",
            "`| json` with parameters or flags is not evaluated by the embedded log engine yet \
             (`| json` alone is)",
        ),
        (
            "| json a, b",
            "`| json` with parameters or flags is not evaluated by the embedded log engine yet \
             (`| json` alone is)",
        ),
        (
            "| logfmt --strict --keep-empty",
            "`| logfmt` with parameters or flags is not evaluated by the embedded log engine \
             yet (`| logfmt` alone is)",
        ),
        (
            "| regexp \"(?P<a>.)\"",
            "`| regexp` is not evaluated by the embedded log engine yet",
        ),
        (
            "| pattern \"<a> <_>\"",
            "`| pattern` is not evaluated by the embedded log engine yet",
        ),
        (
            "| unpack",
            "`| unpack` is not evaluated by the embedded log engine yet",
        ),
        (
            "| line_format \"{{.a}}\"",
            "`| line_format` is not evaluated by the embedded log engine yet",
        ),
        (
            "| label_format a=b, c=\"{{.d}}\"",
            "`| label_format` is not evaluated by the embedded log engine yet",
        ),
        (
            "| drop a, b=\"c\"",
            "`| drop` is not evaluated by the embedded log engine yet",
        ),
        (
            "| keep a, b=~\"c\"",
            "`| keep` is not evaluated by the embedded log engine yet",
        ),
        (
            "| decolorize",
            "`| decolorize` is not evaluated by the embedded log engine yet",
        ),
        (
            "| unwrap bytes(size)",
            "`| unwrap` is not evaluated by the embedded log engine yet",
        ),
        (
            "|> \"<_> error\"",
            "pattern line filters (`|>`) are not evaluated by the embedded log engine yet",
        ),
        (
            "|= ip(\"10.0.0.1\")",
            "`ip()` line filters are not evaluated by the embedded log engine yet",
        ),
        (
            "| addr = ip(\"10.0.0.0/8\")",
            "`ip()` label filters are not evaluated by the embedded log engine yet",
        ),
        (
            "| took > 5s",
            "duration and byte-size comparisons (`5s`, `20MB`) in label filters are not \
             evaluated by the embedded log engine yet",
        ),
        (
            "| size >= 20MB",
            "duration and byte-size comparisons (`5s`, `20MB`) in label filters are not \
             evaluated by the embedded log engine yet",
        ),
    ];
    let (files, _) = orders();
    for (stage, message) in cases {
        let query = format!("{base}{stage}");
        assert_eq!(unsupported(&query), message, "{query}");
        assert_eq!(
            files.select(&query, 0, 1, 1, &Stop::default()),
            Err(LogError::Unsupported(message.to_owned())),
            "{query}"
        );
    }
}

#[test]
fn metric_queries_pass_the_check_and_select_refuses_them() {
    let (files, _) = orders();
    for query in [
        r#"count_over_time({app="x"}[5m])"#,
        r#"sum by (app) (rate({app="x"} |= "e" | json | status >= 500 [1m]))"#,
        r#"topk(3, sum(rate({app="x"}[1m])) by (level)) > 0"#,
    ] {
        assert_eq!(check_query(query), Ok(()), "{query}");
        assert!(is_metric_query(query), "{query}");
        assert_eq!(
            files.select(query, 0, 1, 1, &Stop::default()),
            Err(LogError::Syntax {
                message: "a metric query gives numbers, not lines: use `query` for it".to_owned(),
                position: (1, 1)
            }),
            "{query}"
        );
    }
    assert_eq!(
        unsupported("vector(0)"),
        "`vector` is not evaluated by the embedded log engine yet"
    );
    // Even one the engine would refuse: what to use comes first.
    assert_eq!(
        files.select(" vector(0)", 0, 1, 1, &Stop::default()),
        Err(LogError::Syntax {
            message: "a metric query gives numbers, not lines: use `query` for it".to_owned(),
            position: (1, 2)
        }),
    );
    assert_eq!(
        syntax_error(r#"sum(rate({app="x"}[1m])"#),
        (
            "expected `)` to close the bracket at line 1, column 4, found the end of the query"
                .to_owned(),
            (1, 24)
        )
    );
    assert_eq!(
        syntax_error(r#"rate({app="x" [1m])"#),
        (
            "expected `,` or `}` after the matcher, found `[`".to_owned(),
            (1, 15)
        )
    );
    assert_eq!(
        syntax_error(r#"rate({app="x"}[1m]))"#),
        (
            "unexpected `)` with no bracket to close".to_owned(),
            (1, 20)
        )
    );
}

#[test]
fn syntax_errors_say_what_was_expected_and_where() {
    let string_after = |op: &str, found: &str| {
        format!("expected a string in double quotes or backticks after `{op}`, found {found}")
    };
    let cases: Vec<(&str, String, (usize, usize))> = vec![
        (
            r#"{app="x""#,
            "expected `,` or `}` after the matcher, found the end of the query".into(),
            (1, 9),
        ),
        (
            "{}",
            "expected a label matcher such as `app=\"checkout\"`, found `}`".into(),
            (1, 2),
        ),
        (
            "{app}",
            "expected `=`, `!=`, `=~` or `!~` after the label name `app`, found `}`".into(),
            (1, 5),
        ),
        ("{app=x}", string_after("=", "`x`"), (1, 6)),
        (
            r#"{app="x"} |= "#,
            string_after("|=", "the end of the query"),
            (1, 14),
        ),
        (
            r#"{app="x"} | "#,
            "expected a parser (`json`, `logfmt`), a label filter such as `level=\"error\"` or \
             another stage after `|`, found the end of the query"
                .into(),
            (1, 13),
        ),
        (
            r#"{app="x\q"}"#,
            "invalid escape `\\q` in a string (to match a backslash write `\\\\` or use \
             backticks)"
                .into(),
            (1, 8),
        ),
        (
            r#"{app="x}"#,
            "the string opened here is not closed (expected a closing `\"`)".into(),
            (1, 6),
        ),
        (
            r#"{app="x"} | level > "5""#,
            "expected a number after `>`, found `\"5\"`".into(),
            (1, 21),
        ),
        (
            r#"{app="x"} | (level="a""#,
            "expected `)` to close the `(` at line 1, column 13, found the end of the query".into(),
            (1, 23),
        ),
        (
            r#"{app="x"} extra"#,
            "expected a pipeline stage (`|=`, `!=`, `|~`, `!~` or `|`) or the end of the \
             query, found `extra`"
                .into(),
            (1, 11),
        ),
        ("{app=\"x\"}\n  |= 5", string_after("|=", "`5`"), (2, 6)),
        (r#"{app="é"} |= 5"#, string_after("|=", "`5`"), (1, 14)),
        (
            r#"{app=~".*"}"#,
            "the stream selector needs at least one matcher that does not match the empty \
             value (`app=~\".+\"` is one, `app=~\".*\"` and `app!=\"x\"` are not)"
                .into(),
            (1, 1),
        ),
        (r#"{app="x"} $"#, "unexpected character `$`".into(), (1, 11)),
        (
            "",
            "expected a stream selector such as `{app=\"checkout\"}`, found the end of the query"
                .into(),
            (1, 1),
        ),
        (
            r#"{app="x"} | level > 1app"#,
            "`1app` is neither a number, a duration (`5m`) nor a byte size (`20MB`)".into(),
            (1, 21),
        ),
        (
            r#"{app="x"} | foo"#,
            "expected a comparison (`=`, `!=`, `=~`, `!~`, `==`, `>`, `>=`, `<`, `<=`) after \
             the label name `foo`, found the end of the query"
                .into(),
            (1, 16),
        ),
        (
            "{app=\"x\"} # a comment\n| level = `unclosed",
            "the string opened here is not closed (expected a closing `` ` ``)".into(),
            (2, 11),
        ),
        (
            r#"|= "x""#,
            "expected a stream selector such as `{app=\"checkout\"}`, found `|=`".into(),
            (1, 1),
        ),
    ];
    for (query, message, position) in cases {
        assert_eq!(syntax_error(query), (message, position), "{query}");
    }
    // The regex crate's own words follow.
    let (message, position) = syntax_error(r#"{app="x"} |~ "(""#);
    assert!(
        message.starts_with("invalid regular expression `(`: "),
        "{message}"
    );
    assert_eq!(position, (1, 14));
    // A syntax error wins over a stage that is refused before it.
    assert_eq!(syntax_error(r#"{app="x"} | unpack | level >"#).1, (1, 29));
}

#[test]
fn valid_queries_pass_the_check() {
    for query in [
        r#"{app="x"}"#,
        r#"{app="x", level!="debug", host=~"web-.*", path!~"/health.*"}"#,
        "{app=`x`} |= `a\\b` |~ `\\d+` != \"\\u00e9\\x41\\101\"",
        r#"{app="x"} | json | logfmt | __error__="" | (a="1" or b=~"2") and c > 3"#,
        "{app=\"x\"} # comment\n  | json",
    ] {
        assert_eq!(check_query(query), Ok(()), "{query}");
    }
}

#[test]
fn deeply_nested_parentheses_are_an_error_not_a_crash() {
    let query = format!(
        r#"{{app="x"}} | {}a="b"{}"#,
        "(".repeat(200),
        ")".repeat(200)
    );
    let (message, _) = syntax_error(&query);
    assert_eq!(message, "label filters nested in more than 64 parentheses");
}

/// Random bytes and random edits of valid queries: every answer is a result, never a panic.
#[test]
fn random_queries_never_panic() {
    let (files, _) = orders();
    let stop = Stop::default();
    let seeds = [
        r#"{app="checkout"}"#,
        r#"{app=~"check.*", level!="info"} |= "order" != `x` |~ "a|b" !~ "c""#,
        r#"{app=~".+"} | json | status >= 500 or (msg="x" and level_extracted!~"e.*")"#,
        r#"{app=~".+"} | logfmt | __error__="" | a == -1.5 , b < 2"#,
        r#"sum by (app) (count_over_time({app="x"} |= "e" [5m]))"#,
        r#"{app="x"} | line_format "{{.a}}" | drop a, b="c" | unwrap bytes(x)"#,
        r#"sum without (level) (rate({app=~".+"} | json | status >= 500 [2s] offset 1s)) > 0.1"#,
        r#"quantile_over_time(0.5, {app=~".+"} | json | unwrap status | __error__="" [1m]) by (app)"#,
        r#"topk(1, count_over_time({app=~".+"}[5s])) / on (app) bottomk(2, bytes_rate({app="search"}[10s]))"#,
        r#"-2 ^ 2 * avg by (app) (max_over_time({app=~".+"} | json | unwrap took [1m])) or bool 1"#,
        r#"absent_over_time({app="x"}[1m]) unless count(stddev_over_time({app=~".+"} | json | unwrap status [1m]))"#,
    ];
    let alphabet: Vec<char> = "{}()[],|=!~<>\"`\\#-. \n\tabz019_*+?^$éjsonlogfmtorsmh%@:"
        .chars()
        .collect();
    let mut rng = fastrand::Rng::with_seed(0x10_95);
    for _ in 0..3000 {
        let query: String = if rng.u8(..4) == 0 {
            let bytes: Vec<u8> = (0..rng.usize(..40)).map(|_| rng.u8(..)).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut chars: Vec<char> = seeds[rng.usize(..seeds.len())].chars().collect();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..=chars.len());
                match rng.u8(..3) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 if at < chars.len() => chars[at] = alphabet[rng.usize(..alphabet.len())],
                    _ => chars.insert(at, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            chars.into_iter().collect()
        };
        let checked = check_query(&query);
        if let Err(LogError::Syntax { position, .. }) = &checked {
            let lines = query.split('\n').count();
            assert!(
                position.0 >= 1 && position.0 <= lines && position.1 >= 1,
                "{query:?}: {position:?}"
            );
        }
        let selected = files.select(&query, i64::MIN, i64::MAX, 3, &stop);
        let metric = is_metric_query(&query);
        assert_eq!(checked.is_ok() && !metric, selected.is_ok(), "{query:?}");
        // A metric query that passes the check is evaluated (or fails while evaluating, say
        // with a pipeline error); one that does not fails the same way.
        let instant = files.metric_instant(&query, at(2), &stop);
        let range = files.metric_range(&query, at(-60), at(60), 7 * SECOND, &stop);
        if let Err(LogError::Syntax { .. }) = checked {
            assert_eq!(instant.as_ref().err(), checked.as_ref().err(), "{query:?}");
            assert_eq!(range.as_ref().err(), checked.as_ref().err(), "{query:?}");
        }
        if checked.is_ok() && !metric {
            assert!(instant.is_err() && range.is_err(), "{query:?}");
        }
    }
}

/// Random lines in every format: loading answers with files or an error, never a panic.
#[test]
fn random_files_never_panic() {
    let dir = scratch();
    let pieces: [&[u8]; 12] = [
        b"2026-11-30T10:00:00Z ",
        b"2026-11-30 10:00:00.5",
        b"{\"time\":",
        b"\"2026-11-30T10:00:00+01:00\"",
        b"1796032800123",
        b"ts=",
        b"msg=\"a \\\" b\"",
        b"}",
        b"\n",
        b"\r\n",
        b" =\"",
        b"\xff\xfe",
    ];
    let mut rng = fastrand::Rng::with_seed(0x2026);
    for round in 0..300 {
        let mut bytes = Vec::new();
        for _ in 0..rng.usize(..12) {
            if rng.bool() {
                bytes.extend_from_slice(pieces[rng.usize(..pieces.len())]);
            } else {
                bytes.push(rng.u8(..));
            }
        }
        let path = write(&dir, &format!("random-{round}"), &bytes);
        for format in [LogFormat::Json, LogFormat::Logfmt, LogFormat::Text] {
            if let Ok(files) = LogFiles::load(
                std::slice::from_ref(&path),
                format,
                &Labels::new(),
                &["ts".to_owned()],
                &Stop::default(),
            ) {
                let _ = files.select(
                    r#"{filename=~".+"} | json | logfmt"#,
                    i64::MIN,
                    i64::MAX,
                    5,
                    &Stop::default(),
                );
            }
        }
    }
}

/// Sets a file's modification time, as `touch -d` would.
fn written_at(path: &Path, unix_seconds: i64) {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds as u64);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(at).unwrap();
}

#[test]
fn syslog_lines_take_the_year_the_file_was_written_and_utc() {
    let dir = scratch();
    let text = "Nov 30 10:00:01 web-1 nginx[12]: GET /health 200\n\
                <34>Nov 30 10:00:02 web-1 su: denied\n\
                Dec  1 09:59:59 web-1 cron[7]: late\n\
                <165>1 2026-11-30T10:00:03.5Z web-1 app 8 ID47 - started\n";
    let path = write(&dir, "syslog", text.as_bytes());
    // Written on 2026-12-01 at 10:00 UTC (T0 + one day).
    written_at(&path, T0 + 86_400);
    let files = load(&path, LogFormat::Text, &[]);
    let times: Vec<i64> = (select(&files, r#"{filename=~".+"}"#).lines.iter())
        .map(|l| l.at_ns)
        .collect();
    assert_eq!(
        times,
        [at(86_399), at(3) + 500_000_000, at(2), at(1)],
        "Dec 1 09:59:59 is a second before the file was written, Nov 30 the day before"
    );
    // A file written on 2027-01-01 puts December's lines in 2026, not in 2027's December.
    let path = write(&dir, "rolled", b"Dec 31 23:59:59 web-1 app: last\n");
    let new_year = 1_798_761_600; // 2027-01-01T00:00:00Z
    written_at(&path, new_year);
    let files = load(&path, LogFormat::Text, &[]);
    let rolled = select(&files, r#"{filename=~".+"}"#).lines[0].at_ns;
    assert_eq!(rolled, (new_year - 1) * SECOND);
    // Not syslog: a month name that is not one, a day of three digits, a bad priority.
    for bad in [
        "Foo 30 10:00:01 x",
        "Nov 300 10:00:01 x",
        "<x>Nov 30 10:00:01 x",
    ] {
        let path = write(&dir, "bad", format!("{bad}\n").as_bytes());
        assert!(
            load_error(&path, LogFormat::Text).contains("no timestamp"),
            "{bad}"
        );
    }
}

#[test]
fn plain_lines_have_the_time_their_file_was_written_and_keep_their_order() {
    let dir = scratch();
    let path = write(&dir, "out.txt", b"starting\npanic: boom\n\nexiting\n");
    written_at(&path, T0);
    let files = load(&path, LogFormat::Plain, &[]);
    let selection = select(&files, r#"{filename=~".+"} |~ ".""#);
    let got: Vec<(i64, &str)> = (selection.lines.iter())
        .map(|l| (l.at_ns, l.line.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (at(0), "exiting"),
            (at(0), "panic: boom"),
            (at(0), "starting")
        ]
    );
    assert_eq!("plain".parse::<LogFormat>(), Ok(LogFormat::Plain));
}

#[test]
fn a_gz_file_is_read_decompressed_and_a_corrupt_one_names_the_file() {
    use std::io::Write;
    let dir = scratch();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"ts\":\"2026-11-30T10:00:00Z\",\"msg\":\"a\"}\n")
        .unwrap();
    let mut compressed = gz.finish().unwrap();
    // A second member, as `cat a.gz b.gz` makes and logrotate leaves.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"ts\":\"2026-11-30T10:00:01Z\",\"msg\":\"b\"}\n")
        .unwrap();
    compressed.extend(gz.finish().unwrap());
    let path = write(&dir, "app.log.gz", &compressed);
    let files = load(&path, LogFormat::Json, &[]);
    assert_eq!(
        texts(&files, r#"{filename=~".+"}"#),
        [
            r#"{"ts":"2026-11-30T10:00:01Z","msg":"b"}"#,
            r#"{"ts":"2026-11-30T10:00:00Z","msg":"a"}"#
        ]
    );
    let path = write(&dir, "broken.log.gz", &compressed[..compressed.len() / 3]);
    let error = load_error(&path, LogFormat::Json);
    assert!(error.contains("broken.log.gz"), "{error}");
}
