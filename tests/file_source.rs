//! The embedded source over the incident fixture: the figures tests/fixtures/README.md states.

use playbook::ops::file_source::{self, FileSource, Stop};
use playbook::ops::metrics::{QueryResult, Range, SourceError};
use std::path::Path;

const INCIDENT_11_00: f64 = 1_795_172_400.0; // 2026-11-20T11:00:00Z
const NORMAL_10_15: f64 = 1_795_169_700.0; // 2026-11-20T10:15:00Z
const WEEK_BEFORE: f64 = 1_794_567_600.0; // 2026-11-13T11:00:00Z

fn fixture() -> FileSource {
    file_source::load(Path::new("tests/fixtures/incident.om")).expect("the fixture loads")
}

/// The values of an instant query, by one label's value ("" for no such label).
fn values(src: &FileSource, expr: &str, time: f64, by: &str) -> Vec<(String, f64)> {
    match src
        .instant(expr, time, &Stop::default())
        .expect(expr)
        .result
    {
        QueryResult::Vector(v) => v
            .into_iter()
            .map(|s| (s.labels.get(by).cloned().unwrap_or_default(), s.value))
            .collect(),
        other => panic!("{expr}: not a vector: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn readme_figures() {
    let src = fixture();
    let checkout = r#"sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))"#;
    for (t, want) in [
        (INCIDENT_11_00, 12.0),
        (NORMAL_10_15, 0.5),
        (WEEK_BEFORE, 0.5),
    ] {
        let got = values(&src, checkout, t, "");
        assert!(got.len() == 1 && close(got[0].1, want), "{t}: {got:?}");
    }
    let by_code = values(
        &src,
        r#"sum by (code) (rate(http_requests_total{service="checkout",code=~"5.."}[5m]))"#,
        INCIDENT_11_00,
        "code",
    );
    assert_eq!(by_code.len(), 2);
    assert!(
        close(by_code[0].1, 10.0) && by_code[0].0 == "500",
        "{by_code:?}"
    );
    assert!(
        close(by_code[1].1, 2.0) && by_code[1].0 == "503",
        "{by_code:?}"
    );
    let cpu = values(
        &src,
        "sum by (service) (rate(process_cpu_seconds_total[5m]))",
        INCIDENT_11_00,
        "service",
    );
    assert!(close(cpu[0].1, 0.4) && cpu[0].0 == "cart", "{cpu:?}");
    assert!(close(cpu[1].1, 1.7) && cpu[1].0 == "checkout", "{cpu:?}");
    let ratio = values(
        &src,
        r#"sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout"}[5m]))"#,
        INCIDENT_11_00,
        "",
    );
    assert!(close(ratio[0].1, 0.12), "{ratio:?}");
}

#[test]
fn threshold_holds_over_the_documented_interval() {
    let src = fixture();
    let expr = r#"sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) > 1"#;
    let range = Range {
        start: 1_795_165_200.0, // 09:00
        end: 1_795_179_600.0,   // 13:00
        step: 15.0,
    };
    let QueryResult::Matrix(m) = src.range(expr, &range, &Stop::default()).unwrap().result else {
        panic!("a range query answers a matrix")
    };
    assert_eq!(m.len(), 1);
    let first = m[0].points.first().unwrap().0;
    let last = m[0].points.last().unwrap().0;
    assert_eq!(first, 1_795_170_615.0, "10:30:15"); // 2026-11-20T10:30:15Z
    assert_eq!(last, 1_795_173_585.0, "11:19:45"); // 2026-11-20T11:19:45Z
    assert_eq!(m[0].points.len() as f64, (last - first) / 15.0 + 1.0);
}

#[test]
fn deploy_version_and_metadata() {
    let src = fixture();
    let v = values(
        &src,
        r#"deploy_info{service="checkout"}"#,
        INCIDENT_11_00,
        "version",
    );
    assert_eq!(v, vec![("v2.15.0".to_owned(), 1.0)]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    use playbook::ops::metrics::MetricsSource;
    let info = rt
        .block_on(src.metadata("http_requests_total"))
        .unwrap()
        .expect("metadata");
    assert_eq!(info.kind, "counter");
    let ever = playbook::ops::metrics::Interval::until(f64::MAX);
    let names = rt.block_on(src.label_values("__name__", &ever)).unwrap();
    assert!(names.contains(&"deploy_info".to_owned()), "{names:?}");
}

#[test]
fn unsupported_and_invalid_queries_are_clear_errors() {
    let src = fixture();
    match src.instant(
        "histogram_count(process_cpu_seconds_total)",
        INCIDENT_11_00,
        &Stop::default(),
    ) {
        Err(SourceError::Unsupported(m)) => {
            assert!(
                m.starts_with("the function histogram_count() is not supported"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    match src.instant("sum(rate(x[5m]", INCIDENT_11_00, &Stop::default()) {
        Err(SourceError::PromQL { .. }) => {}
        other => panic!("{other:?}"),
    }
    let range = Range {
        start: 0.0,
        end: 11_001.0,
        step: 1.0,
    };
    match src.range("up", &range, &Stop::default()) {
        Err(SourceError::PromQL { message, .. }) => {
            assert!(message.contains("11,000"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
