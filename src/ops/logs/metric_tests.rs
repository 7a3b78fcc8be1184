//! Metric queries. Fixtures are small literal files; every expected value was worked out by hand
//! from them (the windows are left-open, right-closed: t - range < time <= t).

use super::tests::{at, scratch, SECOND, T0};
use super::*;
use crate::ops::file_source::Stop;
use crate::ops::metrics::QueryResult;
use std::path::{Path, PathBuf};

/// The fixtures' files: text, written as the log tests write theirs.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    super::tests::write(dir, name, text.as_bytes())
}

/// Seconds after T0 of each line: 0 api, 10 api, 20 web, 30 api, 60 web, 60 api.
const EVENTS: [&str; 6] = [
    r#"{"time":"2026-11-30T10:00:00Z","app":"api","level":"info","status":200,"took":"0.5"}"#,
    r#"{"time":"2026-11-30T10:00:10Z","app":"api","level":"error","status":500,"took":"2"}"#,
    r#"{"time":"2026-11-30T10:00:20Z","app":"web","level":"info","status":200,"took":"1"}"#,
    r#"{"time":"2026-11-30T10:00:30Z","app":"api","level":"info","status":200,"took":"1.5"}"#,
    r#"{"time":"2026-11-30T10:01:00Z","app":"web","level":"error","status":503,"took":"abc"}"#,
    r#"{"time":"2026-11-30T10:01:00Z","app":"api","level":"error","status":502,"took":"3"}"#,
];

/// The EVENTS with `app` as a stream label; and the file's name (the `filename` label).
fn events() -> (LogFiles, String) {
    let path = write(&scratch(), "events.json", &EVENTS.join("\n"));
    let files = LogFiles::load(
        std::slice::from_ref(&path),
        LogFormat::Json,
        &Labels::new(),
        &["app".to_owned()],
        &Stop::default(),
    )
    .unwrap();
    (files, path.display().to_string())
}

/// Text lines of 22, 25 and 23 bytes at 0, 5 and 10 seconds.
fn texts() -> (LogFiles, String) {
    let text = "2026-11-30T10:00:00Z a\n\
                2026-11-30T10:00:05Z bbbb\n\
                2026-11-30T10:00:10Z cc\n";
    let path = write(&scratch(), "plain.log", text);
    let files = LogFiles::load(
        std::slice::from_ref(&path),
        LogFormat::Text,
        &Labels::new(),
        &[],
        &Stop::default(),
    )
    .unwrap();
    (files, path.display().to_string())
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The samples of an instant query at T0 + seconds.
fn instant(files: &LogFiles, query: &str, seconds: i64) -> Vec<(Labels, f64)> {
    match files.metric_instant(query, at(seconds), &Stop::default()) {
        Ok(QueryResult::Vector(samples)) => samples
            .into_iter()
            .map(|s| {
                assert_eq!(s.time, (T0 + seconds) as f64, "{query}");
                (s.labels, s.value)
            })
            .collect(),
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

/// The series of a range query, each point as (seconds after T0, value).
fn range(
    files: &LogFiles,
    query: &str,
    from: i64,
    to: i64,
    step: i64,
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    match files.metric_range(query, at(from), at(to), step * SECOND, &Stop::default()) {
        Ok(QueryResult::Matrix(series)) => series
            .into_iter()
            .map(|s| {
                let points = s
                    .points
                    .into_iter()
                    .map(|(time, value)| {
                        let seconds = time - T0 as f64;
                        assert_eq!(seconds.fract(), 0.0, "{query}");
                        (seconds as i64, value)
                    })
                    .collect();
                (s.labels, points)
            })
            .collect(),
        other => panic!("{query}: expected a matrix, got {other:?}"),
    }
}

fn error(files: &LogFiles, query: &str, seconds: i64) -> LogError {
    match files.metric_instant(query, at(seconds), &Stop::default()) {
        Err(error) => error,
        Ok(result) => panic!("{query}: expected an error, got {result:?}"),
    }
}

fn syntax_error(query: &str) -> (String, (usize, usize)) {
    match check_query(query) {
        Err(LogError::Syntax { message, position }) => (message, position),
        other => panic!("{query}: expected a syntax error, got {other:?}"),
    }
}

fn close(actual: f64, expected: f64) -> bool {
    actual == expected || (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

// Range aggregations over lines

#[test]
fn count_over_time_windows_are_left_open_and_right_closed() {
    let (files, path) = events();
    let api = labels(&[("app", "api"), ("filename", &path)]);
    // api lines at 0, 10, 30, 60; windows (t-30, t].
    assert_eq!(
        range(&files, r#"count_over_time({app="api"}[30s])"#, 0, 60, 10),
        [(
            api.clone(),
            vec![
                (0, 1.0),
                (10, 2.0),
                (20, 2.0),
                (30, 2.0),
                (40, 1.0),
                (50, 1.0),
                (60, 1.0)
            ]
        )]
    );
    // A step of 25s: windows (-30,0], (-5,25], (20,50].
    assert_eq!(
        range(&files, r#"count_over_time({app="api"}[30s])"#, 0, 60, 25),
        [(api.clone(), vec![(0, 1.0), (25, 2.0), (50, 1.0)])]
    );
    let web = labels(&[("app", "web"), ("filename", &path)]);
    assert_eq!(
        instant(&files, r#"count_over_time({app=~".+"}[1m])"#, 60),
        [(api.clone(), 3.0), (web.clone(), 2.0)]
    );
    assert_eq!(
        instant(&files, r#"count_over_time({app=~".+"}[1m])"#, 59),
        [(api.clone(), 3.0), (web.clone(), 1.0)]
    );
    // No line in the window: no sample at all.
    assert_eq!(
        instant(&files, r#"count_over_time({app="web"}[5s])"#, 50),
        []
    );
    assert_eq!(
        instant(&files, r#"rate({app="api"}[1m])"#, 60),
        [(api.clone(), 0.05)]
    );
    // The log query in parentheses.
    assert_eq!(
        instant(
            &files,
            r#"count_over_time(({app="api"} |= "error")[1m])"#,
            60
        ),
        [(api.clone(), 2.0)]
    );
    // `1m30s` and the range written right after the selector.
    assert_eq!(
        instant(
            &files,
            r#"count_over_time({app="api"}[1m30s] |= "error")"#,
            60
        ),
        [(api, 2.0)]
    );
}

#[test]
fn offset_moves_the_window_back() {
    let (files, path) = events();
    let api = labels(&[("app", "api"), ("filename", &path)]);
    // (0, 30] holds the api lines at 10 and 30; (30, 60] only the one at 60.
    assert_eq!(
        instant(
            &files,
            r#"count_over_time({app="api"}[30s] offset 30s)"#,
            60
        ),
        [(api.clone(), 2.0)]
    );
    assert_eq!(
        instant(&files, r#"count_over_time({app="api"}[30s])"#, 60),
        [(api, 1.0)]
    );
}

#[test]
fn bytes_over_time_and_bytes_rate_sum_line_lengths() {
    let (files, path) = texts();
    let file = labels(&[("filename", &path)]);
    // (0, 10]: 25 + 23 bytes; (-5, 5]: 22 + 25.
    assert_eq!(
        instant(&files, r#"bytes_over_time({filename=~".+"}[10s])"#, 10),
        [(file.clone(), 48.0)]
    );
    assert_eq!(
        instant(&files, r#"bytes_over_time({filename=~".+"}[10s])"#, 5),
        [(file.clone(), 47.0)]
    );
    assert_eq!(
        instant(&files, r#"bytes_rate({filename=~".+"}[10s])"#, 10),
        [(file, 4.8)]
    );
}

#[test]
fn absent_over_time_answers_only_when_no_line_is_in_the_window() {
    let (files, _) = events();
    let api = labels(&[("app", "api")]);
    // api lines at 0, 10, 30, 60; windows (t-10, t] at 20, 40, 50 hold none.
    assert_eq!(
        range(&files, r#"absent_over_time({app="api"}[10s])"#, 0, 60, 10),
        [(api.clone(), vec![(20, 1.0), (40, 1.0), (50, 1.0)])]
    );
    // Only the `=` matchers give labels.
    assert_eq!(
        instant(
            &files,
            r#"absent_over_time({app="api", level!="x"} |= "zzz" [1m])"#,
            60
        ),
        [(api, 1.0)]
    );
    assert_eq!(
        instant(&files, r#"absent_over_time({app="nope"}[1m])"#, 60),
        [(labels(&[("app", "nope")]), 1.0)]
    );
    assert_eq!(
        instant(&files, r#"absent_over_time({app="api"}[10s])"#, 60),
        []
    );
}

#[test]
fn a_metric_query_over_json_with_a_label_filter() {
    let (files, _) = events();
    let query = r#"sum by (app) (count_over_time({app=~".+"} | json | level="error" [1m]))"#;
    // Errors: api at 10 and 60, web at 60.
    assert_eq!(
        instant(&files, query, 60),
        [
            (labels(&[("app", "api")]), 2.0),
            (labels(&[("app", "web")]), 1.0)
        ]
    );
    assert_eq!(
        range(&files, query, 0, 60, 30),
        [
            (labels(&[("app", "api")]), vec![(30, 1.0), (60, 2.0)]),
            (labels(&[("app", "web")]), vec![(60, 1.0)]),
        ]
    );
}

#[test]
fn series_are_the_label_sets_after_the_pipeline() {
    let (files, path) = events();
    // `| json` adds level, status, time, took and app_extracted (as `app` is a stream label):
    // each line is a series of its own.
    let got = instant(&files, r#"count_over_time({app="web"} | json [1m])"#, 60);
    let expected = |time: &str, level: &str, status: &str, took: &str| {
        labels(&[
            ("app", "web"),
            ("app_extracted", "web"),
            ("filename", &path),
            ("level", level),
            ("status", status),
            ("time", time),
            ("took", took),
        ])
    };
    assert_eq!(
        got,
        // Sorted by labels: `level` "error" before "info".
        [
            (expected("2026-11-30T10:01:00Z", "error", "503", "abc"), 1.0),
            (expected("2026-11-30T10:00:20Z", "info", "200", "1"), 1.0),
        ]
    );
}

// Unwrapped range aggregations

#[test]
fn each_unwrap_function() {
    let (files, _) = events();
    let api = labels(&[("app", "api")]);
    // (0, 60] holds the api lines at 10, 30 and 60: took 2, 1.5, 3.
    let cases = [
        ("sum_over_time", 6.5),
        ("avg_over_time", 6.5 / 3.0),
        ("min_over_time", 1.5),
        ("max_over_time", 3.0),
        ("first_over_time", 2.0),
        ("last_over_time", 3.0),
        // Mean 13/6; squared deviations 1/36, 16/36, 25/36; their mean 7/18.
        ("stdvar_over_time", 7.0 / 18.0),
        ("stddev_over_time", (7.0f64 / 18.0).sqrt()),
        ("rate", 6.5 / 60.0),
        // Sorted 1.5, 2, 3: rank 0.5 * 2 = 1.
        ("quantile_over_time(0.5,", 2.0),
        // rank 1.8: 2 * 0.2 + 3 * 0.8.
        ("quantile_over_time(0.9,", 2.8),
        // rank 0.5: halfway between 1.5 and 2.
        ("quantile_over_time(0.25,", 1.75),
        ("quantile_over_time(1.5,", f64::INFINITY),
    ];
    for (function, expected) in cases {
        let opening = if function.ends_with(',') {
            format!("{function} ")
        } else {
            format!("{function}(")
        };
        let query = format!(r#"{opening}{{app="api"}} | json | unwrap took [1m]) by (app)"#);
        let got = instant(&files, &query, 60);
        assert_eq!(got.len(), 1, "{query}");
        assert_eq!(got[0].0, api, "{query}");
        assert!(close(got[0].1, expected), "{query}: {}", got[0].1);
    }
    // Without grouping, each line is its own series (its `time` differs), the unwrapped label
    // left out of the labels.
    let got = instant(
        &files,
        r#"max_over_time({app="api"} | json | level="error" | unwrap status [1m])"#,
        60,
    );
    let values: Vec<f64> = got.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [500.0, 502.0]);
    assert!(got.iter().all(|(l, _)| !l.contains_key("status")));
    assert!(got.iter().all(|(l, _)| l.get("took").is_some()));
}

#[test]
fn a_value_that_is_not_a_number_is_a_sample_extraction_error() {
    let (files, _) = events();
    // web lines: took 1 at 20, "abc" at 60.
    let query = r#"sum_over_time({app="web"} | json | unwrap took [1m]) by (app)"#;
    assert_eq!(
        error(&files, query, 60),
        LogError::Syntax {
            message: "pipeline error: 'SampleExtractionErr' for series: \
                      '{__error__=\"SampleExtractionErr\", app=\"web\"}'. Use a label filter to \
                      intentionally skip this error (e.g. `| __error__!=\"SampleExtractionErr\"`); \
                      to skip all potential errors, match empty errors (e.g. `| __error__=\"\"`), \
                      which can also follow `| unwrap`"
                .to_owned(),
            position: (1, 1)
        }
    );
    // Only a window that holds the bad line fails.
    assert_eq!(
        instant(&files, query, 30),
        [(labels(&[("app", "web")]), 1.0)]
    );
    for filter in [r#"__error__="""#, r#"__error__!="SampleExtractionErr""#] {
        let query = format!(
            r#"sum_over_time({{app="web"}} | json | unwrap took | {filter} [1m]) by (app)"#
        );
        assert_eq!(
            instant(&files, &query, 60),
            [(labels(&[("app", "web")]), 1.0)],
            "{query}"
        );
    }
    // As Loki: a line without the label gives no sample, and no error.
    assert_eq!(
        instant(
            &files,
            r#"sum_over_time({app="web"} | json | unwrap nothing [1m])"#,
            60
        ),
        []
    );
    // Nor does one where it is empty: only the 4 is summed.
    let path = write(
        &scratch(),
        "n.json",
        "{\"time\":\"2026-11-30T10:00:01Z\",\"n\":\"\"}\n\
         {\"time\":\"2026-11-30T10:00:02Z\",\"n\":\"4\"}\n\
         {\"time\":\"2026-11-30T10:00:03Z\"}\n",
    );
    let numbers = LogFiles::load(
        std::slice::from_ref(&path),
        LogFormat::Json,
        &Labels::new(),
        &[],
        &Stop::default(),
    )
    .unwrap();
    assert_eq!(
        instant(
            &numbers,
            r#"sum_over_time({filename=~".+"} | json | unwrap n [1m]) by (filename)"#,
            3
        ),
        [(labels(&[("filename", &path.display().to_string())]), 4.0)]
    );
    // Lines that are not JSON: the parser's error stops a metric query too.
    let (plain, _) = texts();
    let LogError::Syntax { message, position } = error(
        &plain,
        r#"count_over_time({filename=~".+"} | json [1m])"#,
        10,
    ) else {
        panic!("expected a pipeline error");
    };
    assert!(
        message.starts_with("pipeline error: 'JSONParserErr' for series: '{__error__="),
        "{message}"
    );
    assert_eq!(position, (1, 1));
    // absent_over_time too; with the error filtered out, no line is left.
    assert!(matches!(
        error(&plain, r#"absent_over_time({filename=~".+"} | json [1m])"#, 10),
        LogError::Syntax { message, .. } if message.starts_with("pipeline error: 'JSONParserErr'")
    ));
    assert_eq!(
        instant(
            &plain,
            r#"absent_over_time({filename=~".+"} | json | __error__="" [1m])"#,
            10
        ),
        [(Labels::new(), 1.0)]
    );
}

// Vector aggregations

#[test]
fn each_vector_aggregation_with_by_and_without() {
    let (files, _) = events();
    let api = labels(&[("app", "api")]);
    let web = labels(&[("app", "web")]);
    // Per line in (0, 60]: api status 500, 200, 502; web 200, 503.
    let status = r#"max_over_time({app=~".+"} | json | unwrap status [1m])"#;
    let cases: [(&str, f64, f64); 7] = [
        ("sum", 1202.0, 703.0),
        ("avg", 1202.0 / 3.0, 351.5),
        ("min", 200.0, 200.0),
        ("max", 502.0, 503.0),
        ("count", 3.0, 2.0),
        // api: mean 1202/3, deviations 298/3, -602/3, 304/3: squares summing to 543624/9,
        // over 3. web: 351.5 ± 151.5.
        ("stdvar", 543_624.0 / 27.0, 151.5 * 151.5),
        ("stddev", (543_624.0f64 / 27.0).sqrt(), 151.5),
    ];
    for (op, on_api, on_web) in cases {
        for query in [
            format!("{op} by (app) ({status})"),
            format!("{op}({status}) by (app)"),
        ] {
            let got = instant(&files, &query, 60);
            assert_eq!(got.len(), 2, "{query}");
            assert_eq!((&got[0].0, &got[1].0), (&api, &web), "{query}");
            assert!(close(got[0].1, on_api), "{query}: {}", got[0].1);
            assert!(close(got[1].1, on_web), "{query}: {}", got[1].1);
        }
    }
    // Lines counted per (app, level): `without` drops the rest.
    let query = r#"sum without (time, status, took, filename, app_extracted)
                   (count_over_time({app=~".+"} | json [1m]))"#;
    assert_eq!(
        instant(&files, query, 60),
        [
            (labels(&[("app", "api"), ("level", "error")]), 2.0),
            (labels(&[("app", "api"), ("level", "info")]), 1.0),
            (labels(&[("app", "web"), ("level", "error")]), 1.0),
            (labels(&[("app", "web"), ("level", "info")]), 1.0),
        ]
    );
    assert_eq!(
        instant(
            &files,
            r#"sum(count_over_time({app=~".+"} | json [1m]))"#,
            60
        ),
        [(Labels::new(), 5.0)]
    );
}

#[test]
fn topk_and_bottomk_keep_the_series_labels() {
    let (files, _) = events();
    let status = r#"max_over_time({app=~".+"} | json | unwrap status [1m])"#;
    let picked = |query: &str| -> Vec<(String, String, f64)> {
        instant(&files, query, 60)
            .into_iter()
            .map(|(l, v)| (l["app"].clone(), l["time"].clone(), v))
            .collect()
    };
    let row = |app: &str, time: &str, value: f64| (app.to_owned(), time.to_owned(), value);
    // Sorted by labels: api before web.
    assert_eq!(
        picked(&format!("topk(2, {status})")),
        [
            row("api", "2026-11-30T10:01:00Z", 502.0),
            row("web", "2026-11-30T10:01:00Z", 503.0)
        ]
    );
    assert_eq!(
        picked(&format!("bottomk(2, {status})")),
        [
            row("api", "2026-11-30T10:00:30Z", 200.0),
            row("web", "2026-11-30T10:00:20Z", 200.0)
        ]
    );
    assert_eq!(
        picked(&format!("topk by (app) (1, {status})")),
        [
            row("api", "2026-11-30T10:01:00Z", 502.0),
            row("web", "2026-11-30T10:01:00Z", 503.0)
        ]
    );
    assert_eq!(
        instant(
            &files,
            r#"topk(1, sum by (app, level) (count_over_time({app=~".+"} | json [1m])))"#,
            60
        ),
        [(labels(&[("app", "api"), ("level", "error")]), 2.0)]
    );
}

// Binary operators

#[test]
fn scalar_arithmetic_follows_promql_precedence() {
    let (files, _) = events();
    for (query, expected) in [
        ("1 + 2 * 3 ^ 2", 19.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("(1 + 2) * 3", 9.0),
        ("7 % 4 - 10 / 4", 0.5),
        ("1 > bool 2", 0.0),
        ("2 >= bool 2 + 0", 1.0),
        ("1 - -1", 2.0),
    ] {
        assert_eq!(
            files.metric_instant(query, at(0), &Stop::default()),
            Ok(QueryResult::Scalar {
                time: T0 as f64,
                value: expected
            }),
            "{query}"
        );
    }
    assert_eq!(
        range(&files, "1 + 1", 0, 20, 10),
        [(Labels::new(), vec![(0, 2.0), (10, 2.0), (20, 2.0)])]
    );
}

#[test]
fn vectors_with_numbers_and_comparison_filters() {
    let (files, path) = events();
    let api = labels(&[("app", "api"), ("filename", &path)]);
    let web = labels(&[("app", "web"), ("filename", &path)]);
    let count = r#"count_over_time({app=~".+"}[1m])"#;
    // At 60: api 3, web 2.
    assert_eq!(
        instant(&files, &format!("sum({count}) * 2 + 1"), 60),
        [(Labels::new(), 11.0)]
    );
    assert_eq!(
        instant(&files, &format!("{count} > 2"), 60),
        [(api.clone(), 3.0)]
    );
    assert_eq!(
        instant(&files, &format!("2 < {count}"), 60),
        [(api.clone(), 3.0)]
    );
    assert_eq!(
        instant(&files, &format!("{count} > bool 2"), 60),
        [(api.clone(), 1.0), (web.clone(), 0.0)]
    );
    assert_eq!(
        instant(&files, &format!("10 - {count}"), 60),
        [(api.clone(), 7.0), (web.clone(), 8.0)]
    );
    assert_eq!(
        instant(&files, &format!("-{count}"), 60),
        [(api, -3.0), (web, -2.0)]
    );
}

#[test]
fn vectors_match_one_to_one_on_their_labels() {
    let (files, path) = events();
    let api = labels(&[("app", "api"), ("filename", &path)]);
    let web = labels(&[("app", "web"), ("filename", &path)]);
    let minute = r#"count_over_time({app=~".+"}[1m])"#;
    // (30, 60]: one line each.
    let half = r#"count_over_time({app=~".+"}[30s])"#;
    // (-30, 30] (offset): api 3, web 1.
    let before = r#"count_over_time({app=~".+"}[1m] offset 30s)"#;
    assert_eq!(
        instant(&files, &format!("{minute} / {half}"), 60),
        [(api.clone(), 3.0), (web.clone(), 2.0)]
    );
    assert_eq!(
        instant(&files, &format!("{minute} == {before}"), 60),
        [(api.clone(), 3.0)]
    );
    assert_eq!(
        instant(&files, &format!("{minute} != bool {before}"), 60),
        [(api.clone(), 0.0), (web.clone(), 1.0)]
    );
    let web_only = r#"count_over_time({app="web"}[1m])"#;
    assert_eq!(
        instant(&files, &format!("{minute} and {web_only}"), 60),
        [(web.clone(), 2.0)]
    );
    assert_eq!(
        instant(&files, &format!("{minute} unless {web_only}"), 60),
        [(api.clone(), 3.0)]
    );
    assert_eq!(
        instant(
            &files,
            &format!(r#"count_over_time({{app="api"}}[1m]) or {half}"#),
            60
        ),
        [(api, 3.0), (web, 1.0)]
    );
    // `on` keeps the listed labels, `ignoring` drops its labels from the left side's.
    assert_eq!(
        instant(
            &files,
            &format!("sum by (app) ({minute}) / on (app) {half}"),
            60
        ),
        [
            (labels(&[("app", "api")]), 3.0),
            (labels(&[("app", "web")]), 2.0)
        ]
    );
    assert_eq!(
        instant(
            &files,
            &format!("{minute} - ignoring (filename) sum by (app) ({half})"),
            60
        ),
        [
            (labels(&[("app", "api")]), 2.0),
            (labels(&[("app", "web")]), 1.0)
        ]
    );
    // Two series of one match group on the right: refused, as Prometheus does.
    assert!(matches!(
        error(&files, &format!("sum({minute}) + on () {minute}"), 60),
        LogError::Syntax { position, .. } if position.1 > 1
    ));
}

// Refusals, limits and errors

#[test]
fn the_wrong_kind_of_query_and_range_limits_are_refused() {
    let (files, _) = events();
    let stop = Stop::default();
    let lines = LogError::Syntax {
        message: "a log query gives lines, not numbers: use `logs` for it".to_owned(),
        position: (1, 1),
    };
    assert_eq!(
        files.metric_instant(r#"{app="api"} |= "x""#, at(0), &stop),
        Err(lines.clone())
    );
    assert_eq!(
        files.metric_range(r#"{app="api"}"#, at(0), at(10), SECOND, &stop),
        Err(lines.clone())
    );
    // Even one the engine would refuse: what to use comes first.
    assert_eq!(
        files.metric_instant(r#"{app="api"} | unpack"#, at(0), &stop),
        Err(lines)
    );
    let query = r#"count_over_time({app="api"}[1m])"#;
    for step in [0, -SECOND] {
        assert_eq!(
            files.metric_range(query, at(0), at(10), step, &stop),
            Err(LogError::Unsupported(
                "the step of a range query must be above zero".to_owned()
            ))
        );
    }
    assert!(matches!(
        files.metric_range(query, at(0), at(11_001), SECOND, &stop),
        Err(LogError::Unsupported(message))
            if message.starts_with("exceeded maximum resolution of 11,000 points per timeseries")
    ));
    // 11,000 steps (11,001 points) are allowed.
    let Ok(QueryResult::Matrix(series)) =
        files.metric_range(query, at(0), at(11_000), SECOND, &stop)
    else {
        panic!("expected a matrix");
    };
    // api lines at 0..60: the windows ending from 0 to 119 s hold one.
    assert_eq!(series[0].points.len(), 120);
    assert!(matches!(
        files.metric_range(query, at(10), at(0), SECOND, &stop),
        Err(LogError::Unsupported(_))
    ));
}

#[test]
fn constructs_not_evaluated_are_refused_by_name() {
    let cases = [
        (
            r#"label_replace(rate({a="b"}[1m]), "x", "$1", "a", "(.*)")"#,
            "`label_replace` is not evaluated by the embedded log engine yet",
        ),
        (
            "vector(1)",
            "`vector` is not evaluated by the embedded log engine yet",
        ),
        (
            r#"sort(rate({a="b"}[1m]))"#,
            "`sort` is not evaluated by the embedded log engine yet",
        ),
        (
            r#"rate_counter({a="b"} | unwrap n [1m])"#,
            "`rate_counter` is not evaluated by the embedded log engine yet",
        ),
        (
            r#"approx_topk(2, rate({a="b"}[1m]))"#,
            "`approx_topk` is not evaluated by the embedded log engine yet",
        ),
        (
            r#"first(rate({a="b"}[1m]))"#,
            "`first` is not evaluated by the embedded log engine yet",
        ),
        (
            r#"rate({a="b"}[1m]) / on (a) group_left (c) rate({a="b"}[5m])"#,
            "`group_left` (many-to-one matching) is not evaluated by the embedded log engine yet",
        ),
        (
            r#"rate({a="b"}[1m] @ 1796032800)"#,
            "`@` modifiers are not evaluated by the embedded log engine",
        ),
        (
            r#"sum_over_time({a="b"} | logfmt | unwrap duration(took) [1m])"#,
            "`| unwrap duration(...)` is not evaluated by the embedded log engine yet \
             (`| unwrap LABEL` is)",
        ),
        (
            r#"absent_over_time({a="b"}[1m]) by (a)"#,
            "`absent_over_time` with `by` or `without` is not evaluated by the embedded log \
             engine yet",
        ),
        (
            r#"count_over_time({a="b"} | line_format "{{.x}}" [1m])"#,
            "`| line_format` is not evaluated by the embedded log engine yet",
        ),
    ];
    let (files, _) = events();
    for (query, message) in cases {
        assert_eq!(
            check_query(query),
            Err(LogError::Unsupported(message.to_owned())),
            "{query}"
        );
        assert_eq!(
            files.metric_instant(query, at(0), &Stop::default()),
            Err(LogError::Unsupported(message.to_owned())),
            "{query}"
        );
    }
}

#[test]
fn metric_syntax_errors_say_what_was_expected_and_where() {
    let expression = "expected a metric expression such as `count_over_time({app=\"x\"}[5m])`, a \
                      number or `(`, found";
    let cases: Vec<(&str, String, (usize, usize))> = vec![
        (
            r#"count_over_time({app="x"})"#,
            "expected a pipeline stage or a range such as `[5m]` after the log query, found `)`"
                .into(),
            (1, 26),
        ),
        (
            r#"sum_over_time({app="x"}[1m])"#,
            "invalid aggregation sum_over_time without unwrap (it needs `| unwrap LABEL`)".into(),
            (1, 1),
        ),
        (
            r#"count_over_time({app="x"} | unwrap n [1m])"#,
            "invalid aggregation count_over_time with unwrap".into(),
            (1, 1),
        ),
        (
            r#"count_over_time({app="x"}[1m]) by (app)"#,
            "grouping not allowed for count_over_time aggregation".into(),
            (1, 1),
        ),
        (
            r#"rate({app="x"}[5x])"#,
            "expected a duration above zero such as `5m` or `1h30m` in the range, found `5x`"
                .into(),
            (1, 16),
        ),
        (
            "1 > 2",
            "a comparison of two numbers needs `bool` (`> bool`)".into(),
            (1, 3),
        ),
        (
            "sum(1)",
            "`sum` aggregates a metric expression, not a number".into(),
            (1, 5),
        ),
        (
            r#"topk(0, rate({a="b"}[1m]))"#,
            "expected a whole number above zero as the first argument of `topk`, found `0`".into(),
            (1, 6),
        ),
        (
            r#"foo(rate({a="b"}[1m]))"#,
            "unknown function `foo`".into(),
            (1, 1),
        ),
        (
            r#"sum_over_time({a="b"} | unwrap x | json [1m])"#,
            "only label filters may follow `| unwrap`".into(),
            (1, 36),
        ),
        (
            r#"rate({a="b"}[1m]) and 1"#,
            "`and` joins two metric expressions, not numbers".into(),
            (1, 19),
        ),
        (
            "sum(\n  rate({a=\"b\"}[1m]) +\n)",
            format!("{expression} `)`"),
            (3, 1),
        ),
        (
            r#"sum by (app rate({a="b"}[1m]))"#,
            "expected `)` to close the labels of `by`, found `rate`".into(),
            (1, 13),
        ),
        (
            r#"quantile_over_time({a="b"} | unwrap x [1m])"#,
            "expected a number (the quantile) as the first argument of `quantile_over_time`, \
             found `{`"
                .into(),
            (1, 20),
        ),
        (
            r#"rate({a="b"}[1m]) rate({a="b"}[1m])"#,
            "expected a binary operator (`+`, `-`, `*`, `/`, `%`, `^`, `==`, `!=`, `>`, `>=`, \
             `<`, `<=`, `and`, `or`, `unless`) or the end of the query, found `rate`"
                .into(),
            (1, 19),
        ),
        (
            r#"rate({a="b"}[1m]) + bool 1"#,
            "`bool` can only follow a comparison operator".into(),
            (1, 21),
        ),
    ];
    for (query, message, position) in cases {
        assert_eq!(syntax_error(query), (message, position), "{query}");
    }
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(
        syntax_error(&deep).0,
        "a metric expression nested more than 64 deep"
    );
    let long = vec!["1"; 2000].join(" + ");
    assert_eq!(
        syntax_error(&long),
        (
            "a metric expression with more than 1000 binary operators".to_owned(),
            (1, 4003)
        )
    );
    // 1000 are evaluated.
    let (files, _) = events();
    let sum = vec!["1"; 1001].join("+");
    assert_eq!(
        files.metric_instant(&sum, at(0), &Stop::default()),
        Ok(QueryResult::Scalar {
            time: T0 as f64,
            value: 1001.0
        })
    );
}

#[test]
fn is_metric_query_tells_logs_from_query() {
    assert!(is_metric_query(r#"count_over_time({a="b"}[1m])"#));
    assert!(is_metric_query("  # a comment\n  sum(rate({a=\"b\"}[1m]))"));
    assert!(is_metric_query("(1)"));
    assert!(!is_metric_query(r#"{a="b"} |= "x""#));
    assert!(!is_metric_query("# only {\n  {a=\"b\"}"));
    assert!(!is_metric_query(""));
    assert!(!is_metric_query("# nothing"));
}

#[test]
fn a_stopped_metric_query_ends_with_stopped() {
    let text: String = (0..5000)
        .map(|i| format!("2026-11-30T10:00:00Z line {i}\n"))
        .collect();
    let path = write(&scratch(), "many.log", &text);
    let files = LogFiles::load(
        &[path],
        LogFormat::Text,
        &Labels::new(),
        &[],
        &Stop::default(),
    )
    .unwrap();
    let stop = Stop::default();
    stop.stop();
    assert_eq!(
        files.metric_instant(r#"count_over_time({filename=~".+"}[1h])"#, at(0), &stop),
        Err(LogError::Stopped)
    );
    assert_eq!(
        files.metric_range(
            r#"count_over_time({filename=~".+"}[1h])"#,
            at(0),
            at(60),
            SECOND,
            &stop
        ),
        Err(LogError::Stopped)
    );
}
