//! The evaluator on small hand-made series, with values worked out by hand.

use super::{instant_query, range_query, StoredSeries};
use crate::ops::file_source::Stop;
use crate::ops::metrics::{QueryResult, SourceError};

fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> StoredSeries {
    StoredSeries {
        labels: super::LabelSet::from_pairs(
            labels.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
        ),
        samples: points.iter().map(|&(t, v)| (t * 1000, v)).collect(),
    }
}

/// Two counters rising 1/s and 2/s sampled every 10 s from t=0 to t=600, and a gauge.
fn data() -> Vec<StoredSeries> {
    let counter = |rate: f64| {
        (0..=60)
            .map(|i| (i * 10, rate * (i * 10) as f64))
            .collect::<Vec<_>>()
    };
    vec![
        series(
            &[("__name__", "req"), ("code", "200"), ("svc", "a")],
            &counter(1.0),
        ),
        series(
            &[("__name__", "req"), ("code", "500"), ("svc", "a")],
            &counter(2.0),
        ),
        series(
            &[("__name__", "temp"), ("svc", "a")],
            &[(0, 5.0), (100, 7.0), (200, 6.0)],
        ),
    ]
}

/// An instant query's values, ordered by labels.
fn at(expr: &str, t: i64) -> Vec<f64> {
    match instant_query(&data(), expr, t * 1000, &Stop::default())
        .expect(expr)
        .result
    {
        QueryResult::Vector(v) => v.into_iter().map(|s| s.value).collect(),
        QueryResult::Scalar { value, .. } => vec![value],
        other => panic!("{other:?}"),
    }
}

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
}

#[test]
fn selectors_and_lookback() {
    close(&at("req", 305), &[300.0, 600.0]);
    close(&at(r#"req{code!="200"}"#, 305), &[600.0]);
    close(&at(r#"req{code=~"2.."}"#, 305), &[300.0]);
    close(&at(r#"req{code=~"2"}"#, 305), &[]); // anchored
    close(&at(r#"req{code!~"5.*"}"#, 305), &[300.0]);
    // The gauge's last sample is at 200: seen for five minutes, the edge included.
    close(&at("temp", 500), &[6.0]);
    close(&at("temp", 501), &[]);
    close(&at("temp offset 100s", 150), &[5.0]);
    close(&at("temp @ 100", 600), &[7.0]);
}

#[test]
fn rates() {
    // Aligned windows hold 7 samples over 60 s: no extrapolation needed.
    close(&at("rate(req[1m])", 300), &[1.0, 2.0]);
    close(&at("increase(req[1m])", 300), &[60.0, 120.0]);
    // At 305 the samples span 250..300 (50 s); extrapolated by 5 s at each end to 60 s.
    close(&at("increase(req[1m])", 305), &[60.0, 120.0]);
    close(&at("irate(req[1m])", 305), &[1.0, 2.0]);
    close(&at("idelta(temp[5m])", 250), &[-1.0]);
    // delta of a gauge: 7 → 6 over 100 s of the 200 s window [50, 250]; both edges are 50 s
    // away, within 1.1 intervals, so it extrapolates to the whole window: -1 * 200/100.
    close(&at("delta(temp[200s])", 250), &[-2.0]);
    // A reset adds the value before it.
    let reset = vec![series(
        &[("__name__", "c")],
        &[(0, 5.0), (10, 8.0), (20, 2.0), (30, 4.0)],
    )];
    let QueryResult::Vector(v) =
        instant_query(&reset, "increase(c[30s])", 30_000, &Stop::default())
            .unwrap()
            .result
    else {
        panic!()
    };
    // (4 - 5) + 8 = 7 over 30 s sampled; the counter would reach zero 30*5/7 s before the first
    // sample, further than the window start, so the 30 s window is covered exactly.
    close(&[v[0].value], &[7.0]);
}

#[test]
fn aggregations() {
    close(&at("sum(rate(req[1m]))", 300), &[3.0]);
    close(&at("avg by (svc) (rate(req[1m]))", 300), &[1.5]);
    close(&at("max without (code) (rate(req[1m]))", 300), &[2.0]);
    close(&at("count(req)", 300), &[2.0]);
    close(&at("stddev(rate(req[1m]))", 300), &[0.5]);
    close(&at("quantile(0.5, rate(req[1m]))", 300), &[1.5]);
    close(&at("topk(1, req)", 300), &[600.0]);
    close(&at("bottomk(1, req)", 300), &[300.0]);
}

#[test]
fn binary_operators() {
    close(&at("req / 10", 300), &[30.0, 60.0]);
    close(&at("req > 400", 300), &[600.0]);
    close(&at("req > bool 400", 300), &[0.0, 1.0]);
    close(&at("1000 - req", 300), &[700.0, 400.0]);
    close(
        &at(r#"req{code="500"} / ignoring(code) req{code="200"}"#, 300),
        &[2.0],
    );
    close(
        &at("req / on(svc) group_left temp", 200),
        &[200.0 / 6.0, 400.0 / 6.0],
    );
    close(&at(r#"req and req{code="500"}"#, 300), &[600.0]);
    close(&at(r#"req unless req{code="500"}"#, 300), &[300.0]);
    close(&at("2 ^ 3 + 1", 0), &[9.0]);
    let err = instant_query(&data(), "req / on(svc) req", 300_000, &Stop::default()).unwrap_err();
    assert!(matches!(err, SourceError::PromQL { .. }), "{err:?}");
}

#[test]
fn over_time_and_functions() {
    close(&at("avg_over_time(temp[5m])", 200), &[6.0]);
    close(&at("max_over_time(temp[5m])", 200), &[7.0]);
    close(&at("changes(temp[5m])", 200), &[2.0]);
    close(&at("resets(temp[5m])", 200), &[1.0]);
    close(&at("stdvar_over_time(temp[5m])", 200), &[2.0 / 3.0]);
    close(&at("quantile_over_time(0.5, temp[5m])", 200), &[6.0]);
    close(&at("clamp_max(req, 400)", 300), &[300.0, 400.0]);
    close(&at("round(temp / 4)", 200), &[2.0]);
    close(&at("timestamp(temp)", 250), &[200.0]);
    close(&at("time()", 250), &[250.0]);
    close(&at("scalar(temp)", 250), &[6.0]);
    // Buckets le=200: 300, le=500: 600, +Inf: 600; rank 300 falls at the top of the first.
    let buckets = r#"sum by (le) (label_replace(req, "le", "$1", "code", "(.*)") or label_replace(req{code="500"}, "le", "+Inf", "code", ".*"))"#;
    close(
        &at(&format!("histogram_quantile(0.5, {buckets})"), 300),
        &[200.0],
    );
    // rank 450: half way through the (200, 500] bucket.
    close(
        &at(&format!("histogram_quantile(0.75, {buckets})"), 300),
        &[350.0],
    );
}

#[test]
fn range_queries_step_like_prometheus() {
    let answer = range_query(
        &data(),
        "rate(req[1m]) * 2",
        100_000,
        160_000,
        30.0,
        &Stop::default(),
    )
    .unwrap();
    let QueryResult::Matrix(m) = answer.result else {
        panic!()
    };
    assert_eq!(m.len(), 2);
    assert!(!m[0].labels.contains_key("__name__"));
    assert_eq!(m[0].points, vec![(100.0, 2.0), (130.0, 2.0), (160.0, 2.0)]);
    let err = range_query(&data(), "req[1m]", 0, 10_000, 1.0, &Stop::default()).unwrap_err();
    assert!(matches!(err, SourceError::PromQL { .. }));
}

#[test]
fn subqueries_step_on_multiples_of_their_step() {
    // temp at 0, 100, 200: the steps 0, 50, ..., 200 see 5, 5, 7, 7, 6.
    close(&at("sum_over_time(temp[200s:50s])", 200), &[30.0]);
    close(&at("max_over_time(temp[200s:50s] offset 50s)", 250), &[7.0]);
    close(&at("count_over_time(temp[1m:7s] @ 100)", 600), &[9.0]);
    // rate over a subquery of a rate: constant, so its rate is zero.
    close(&at("rate(sum(rate(req[1m]))[2m:10s])", 300), &[0.0]);
}

#[test]
fn holt_winters_is_renamed_only_where_called() {
    // 5, 7, 6 with both factors 0.5: trend 2, smoothed 0.5*7 + 0.5*(5+2) = 7, then the trend
    // 0.5*(7-5) + 0.5*2 = 2 and 0.5*6 + 0.5*(7+2) = 7.5.
    close(&at("holt_winters(temp[5m], 0.5, 0.5)", 200), &[7.5]);
    let renamed = |e: &str| super::prepared(e).unwrap();
    assert_eq!(
        renamed(r#"holt_winters (x{a="holt_winters("}[5m], 0.1, 0.1) # holt_winters("#),
        r#"double_exponential_smoothing (x{a="holt_winters("}[5m], 0.1, 0.1) # holt_winters("#
    );
    assert_eq!(
        renamed("sum(holt_winters) by (holt_winters)"),
        "sum(holt_winters) by (holt_winters)"
    );
    // Prometheus 2.42 knows no double_exponential_smoothing.
    let err = instant_query(
        &data(),
        "double_exponential_smoothing(temp[5m], 0.1, 0.1)",
        0,
        &Stop::default(),
    );
    assert!(matches!(err, Err(SourceError::PromQL { .. })), "{err:?}");
}

#[test]
fn unsupported_features_are_named() {
    for (expr, what) in [
        ("histogram_count(temp)", "the function histogram_count()"),
        ("year(vector(1e300))", "a date function of the Unix time"),
    ] {
        match instant_query(&data(), expr, 0, &Stop::default()) {
            Err(SourceError::Unsupported(m)) => assert!(
                m.starts_with(what) && m.ends_with("use a prometheus source for it"),
                "{m}"
            ),
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn a_subquery_of_more_steps_than_a_year_at_30s_says_so() {
    let err = instant_query(
        &data(),
        "max_over_time(vector(1)[1000y:1ms])",
        0,
        &Stop::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::Unsupported(_)), "{err:?}");
}

#[test]
fn ranges_beyond_what_a_time_holds_saturate() {
    for expr in [
        "count_over_time(req[99999999999999y])",
        "req offset 99999999999999y",
        "req offset -99999999999999y",
        "max_over_time(req[1m:99999999999999y])",
    ] {
        // Any answer or a clear error, but neither a panic nor an endless loop.
        let _ = instant_query(&data(), expr, 300_000, &Stop::default());
    }
}

#[test]
fn a_stopped_evaluation_ends_at_its_next_step() {
    let stop = Stop::default();
    stop.stop();
    let err = range_query(&data(), "rate(req[1m])", 0, 100_000, 1.0, &stop).unwrap_err();
    assert!(matches!(err, SourceError::Stopped), "{err:?}");
}

#[test]
fn a_chain_of_operators_is_answered_up_to_the_bound_and_refused_past_it() {
    let chain = |terms: usize| vec!["1"; terms].join("+");
    // As deep as the evaluator's own thread allows, not a test thread's 2 MiB.
    let deepest = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || instant_query(&data(), &chain(2_001), 0, &Stop::default()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert!(matches!(deepest.result, QueryResult::Scalar { value, .. } if value == 2001.0));
    let err = instant_query(&data(), &chain(2_002), 0, &Stop::default()).unwrap_err();
    assert!(matches!(err, SourceError::Unsupported(_)), "{err:?}");
}
