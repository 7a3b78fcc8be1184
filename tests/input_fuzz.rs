//! What reaches the engine from outside a cell, against random input from a fixed seed: PromQL
//! expressions evaluated by the embedded source (huge ranges, offsets, steps and numbers,
//! subqueries, unbalanced text, non-ASCII), and answers from a Prometheus server (a valid answer
//! cut, spliced and mutated). None may panic; each gives an answer or an error.

mod seeded;

use playbook::ops::file_source::{FileSource, Labels, Stop, StoredSeries};
use playbook::ops::prometheus::decode_answer;
use seeded::Seeded;
use std::panic::{catch_unwind, AssertUnwindSafe};

const PROMQL: &[&str] = &[
    "x",
    "y",
    "x",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    " ",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "==",
    "!=",
    ">",
    "<=",
    " and ",
    " or ",
    " unless ",
    " on(a) ",
    " ignoring(a) ",
    " group_left ",
    " by (a) ",
    " without (a) ",
    "sum",
    "avg",
    "topk(",
    "quantile(",
    "count_values(\"v\",",
    "rate(",
    "irate(",
    "increase(",
    "delta(",
    "deriv(",
    "predict_linear(",
    "holt_winters(",
    "histogram_quantile(",
    "label_replace(",
    "label_join(",
    "absent(",
    "absent_over_time(",
    "timestamp(",
    "sort(",
    "clamp(",
    "round(",
    "time()",
    "vector(",
    "scalar(",
    "abs(",
    "sin(",
    "day_of_week(",
    "max_over_time(",
    "quantile_over_time(",
    "stddev_over_time(",
    "[5m]",
    "[1s]",
    "[0s]",
    "[99999999999999y]",
    "[5m:]",
    "[1h:1ms]",
    "[1000y:1ms]",
    "[5m:99999999999999y]",
    " offset 5m",
    " offset -5m",
    " offset 99999999999999y",
    " @ 0",
    " @ 1e300",
    " @ -1e300",
    " @ start()",
    " @ end()",
    "a=\"1\"",
    "a=~\".*\"",
    "a!~\"\"",
    "__name__=~\"x|y\"",
    "1",
    "0",
    "-1",
    "1e308",
    "-1e308",
    "NaN",
    "Inf",
    "-Inf",
    "0x10",
    "18446744073709551615",
    "\"s\"",
    "'",
    "`",
    "é",
    "\u{2212}",
    "\u{0}",
    "#",
    "\n",
    "bool ",
];

/// Two series of a few samples, labelled so that joins, groupings and matchers find something.
fn source() -> FileSource {
    let series = |name: &str, a: &str| {
        let mut labels = Labels::new();
        labels.insert("__name__".into(), name.into());
        labels.insert("a".into(), a.into());
        StoredSeries {
            labels: labels.into(),
            samples: (0..20).map(|i| (i * 15_000, (i * i) as f64)).collect(),
        }
    };
    FileSource::from_series(vec![series("x", "1"), series("x", "2"), series("y", "1")])
}

#[test]
fn no_expression_panics_the_embedded_engine() {
    let mut rng = Seeded(0x0bad_5eed_1234_5678);
    let source = source();
    for _ in 0..20_000 {
        let mut expr = String::new();
        for _ in 0..1 + rng.below(12) {
            expr.push_str(rng.pick(PROMQL));
        }
        let time = [0.0, 150.0, 285.0, -1e9, 1e12][rng.below(5)];
        let answered = catch_unwind(AssertUnwindSafe(|| {
            source.instant(&expr, time, &Stop::default())
        }));
        assert!(
            answered.is_ok(),
            "the embedded engine panicked on {expr:?} at {time}"
        );
    }
}

const ANSWER: &str = r#"{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","a":"1"},"values":[[1795176000,"1"],[1795176060.5,"NaN"],[1795176120,"+Inf"]]}]}}"#;

const SPLICES: &[&str] = &[
    "",
    "null",
    "[]",
    "{}",
    "\"",
    "1e400",
    "-1e400",
    "18446744073709551616",
    "\"vector\"",
    "\"scalar\"",
    "\"string\"",
    "\"streams\"",
    "[1795176000]",
    "[[1,\"1\"]]",
    "\"\\ud800\"",
    "\u{0}",
    "é",
    "{\"metric\":{}}",
    "\"error\"",
    "\"errorType\":\"bad_data\"",
];

#[test]
fn no_server_answer_panics_the_decoder() {
    let mut rng = Seeded(0xfeed_beef_0000_0001);
    for _ in 0..20_000 {
        let mut body = ANSWER.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(body.len() + 1);
            match rng.below(3) {
                0 => body.truncate(at),
                1 => {
                    let cut = (at + rng.below(8)).min(body.len());
                    body.splice(at..cut, rng.pick(SPLICES).bytes());
                }
                _ => {
                    if at < body.len() {
                        body[at] = rng.next() as u8;
                    }
                }
            }
        }
        let decoded = catch_unwind(|| decode_answer(&body));
        assert!(
            decoded.is_ok(),
            "the decoder panicked on {:?}",
            String::from_utf8_lossy(&body)
        );
    }
}
