//! How long a large range query takes from the source's answer to the bundle a frontend shows,
//! and how big that bundle is: 500 series of 1,000 points, decoded from a Prometheus
//! `query_range` body and rendered (charts, table, summary), with and without a baseline.
//!
//! Run with `cargo bench --bench query_bundle`. The targets: decoding and rendering well under
//! 100 ms, the serialized bundle under 1 MB (10^6 bytes), so a notebook with a few such cells
//! still opens quickly.

use playbook::ops::metrics::{QueryResult, Range, Series};
use playbook::ops::prometheus::decode_answer;
use playbook::render::query::{self, Baseline};
use playbook::render::Bundle;
use std::fmt::Write;
use std::time::{Duration, Instant};

const SERIES: usize = 500;
const POINTS: usize = 1000;
const ITERATIONS: usize = 20;
const START: f64 = 1_714_557_600.0;
const STEP: f64 = 15.0;
const EXPR: &str = "sum by (code, instance, service) (rate(http_requests_total[5m]))";
const TIME_TARGET: Duration = Duration::from_millis(100);
const SIZE_TARGET: usize = 1_000_000;

/// A `query_range` answer as Prometheus writes it: values as strings at full precision, and a
/// few runs of "NaN" and "+Inf" as a rate over a counter reset or a division by zero gives.
fn body() -> Vec<u8> {
    let mut body = String::with_capacity(SERIES * POINTS * 28);
    body.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..SERIES {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"metric":{{"code":"{}","instance":"10.0.{}.{}:9090","job":"api","service":"svc-{}"}},"values":["#,
            ["200", "500", "503"][i % 3],
            i / 250,
            i % 250,
            i % 40
        );
        let level = 10.0 + (i * 37 % 1000) as f64;
        for j in 0..POINTS {
            if j > 0 {
                body.push(',');
            }
            let t = START + STEP * j as f64;
            let _ = match (i % 97, j) {
                (0, 500..=509) => write!(body, r#"[{t},"NaN"]"#),
                (1, 700) => write!(body, r#"[{t},"+Inf"]"#),
                _ => {
                    let v = level * (1.0 + 0.3 * (j as f64 / 40.0 + i as f64).sin());
                    write!(body, r#"[{t},"{v}"]"#)
                }
            };
        }
        body.push_str("]}");
    }
    body.push_str("]}}");
    body.into_bytes()
}

fn decode(body: &[u8]) -> Vec<Series> {
    match decode_answer(body).map(|answer| answer.result) {
        Ok(QueryResult::Matrix(series)) => series,
        Ok(other) => panic!("the synthetic body decoded to {other:?}, not a matrix"),
        Err(e) => panic!("the synthetic body does not decode: {e}"),
    }
}

/// Median and max of a set of timings.
struct Timings(Vec<Duration>);

impl Timings {
    fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted[sorted.len() / 2]
    }

    fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn kb(bytes: usize) -> String {
    format!("{:.0} KB", bytes as f64 / 1000.0)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "NO"
    }
}

/// The outputs of one query (the chart, then the table) as the notebook would hold them.
fn serialized(outputs: Vec<Bundle>) -> Vec<u8> {
    let outputs: Vec<serde_json::Value> = outputs.into_iter().map(Bundle::into_json).collect();
    serde_json::to_vec(&outputs).expect("a bundle is JSON")
}

fn main() {
    let body = body();
    let range = Range {
        start: START,
        end: START + STEP * (POINTS - 1) as f64,
        step: STEP,
    };
    let baseline_series = decode(&body);
    let week = Duration::from_secs(7 * 86_400);

    let (mut decoding, mut rendering, mut both, mut with_baseline) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut plain, mut compared) = (Vec::new(), Vec::new());
    // One round more than measured: the first warms caches and the allocator.
    for round in 0..=ITERATIONS {
        let start = Instant::now();
        let series = decode(&body);
        let decoded = Instant::now();
        let bundle = query::range(EXPR, &series, None, &range);
        let rendered = Instant::now();
        let baseline = Baseline {
            series: &baseline_series,
            offset: week,
        };
        let bundle_compared = query::range(EXPR, &series, Some(baseline), &range);
        let compared_at = Instant::now();
        if round > 0 {
            decoding.push(decoded - start);
            rendering.push(rendered - decoded);
            both.push(rendered - start);
            with_baseline.push(compared_at - rendered);
        }
        plain = serialized(bundle);
        compared = serialized(bundle_compared);
    }
    let (decoding, rendering, both, with_baseline) = (
        Timings(decoding),
        Timings(rendering),
        Timings(both),
        Timings(with_baseline),
    );

    println!(
        "query bundle: {SERIES} series x {POINTS} points, a {:.1} MB query_range body, {ITERATIONS} iterations{}",
        body.len() as f64 / 1e6,
        if cfg!(debug_assertions) {
            " (DEBUG BUILD: figures mean nothing)"
        } else {
            ""
        }
    );
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>5}",
        "", "median", "max", "target", "met"
    );
    let timing = |name: &str, t: &Timings, target: bool| {
        let (goal, ok) = if target {
            (
                format!("< {} ms", TIME_TARGET.as_millis()),
                met(t.median() < TIME_TARGET),
            )
        } else {
            (String::new(), "")
        };
        println!(
            "{name:<34} {:>10} {:>10} {goal:>10} {ok:>5}",
            ms(t.median()),
            ms(t.max())
        );
    };
    timing("decode_answer", &decoding, false);
    timing("render::query::range", &rendering, false);
    timing("decode + render", &both, true);
    timing("render, with a 500-series baseline", &with_baseline, true);
    let size = |name: &str, bytes: &[u8]| {
        println!(
            "{name:<34} {:>10} {:>10} {:>10} {:>5}",
            kb(bytes.len()),
            "",
            "< 1 MB",
            met(bytes.len() < SIZE_TARGET)
        );
    };
    size("outputs, serialized", &plain);
    size("outputs with baseline, serialized", &compared);
    println!("(times over {ITERATIONS} runs after a warm-up; a time target is met when the median is under it)");
    println!();
    println!("by MIME type (with baseline):");
    let outputs: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&compared).expect("the outputs were just serialized");
    for (mime, data) in outputs.iter().flatten() {
        let bytes = serde_json::to_vec(data).map_or(0, |b| b.len());
        println!("  {mime:<36} {:>10}", kb(bytes));
    }
}
