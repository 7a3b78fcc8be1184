//! Prometheus 2.42's own PromQL test files (tests/promqltest/, vendored with their licence) run
//! through the embedded engine, with the semantics of 2.42's `promql/test.go`: `load` blocks
//! of series in expanding notation, `clear`, and `eval[_ordered|_fail] instant at T EXPR`
//! followed by the expected result. Each evaluation runs as an instant query at T, then as a
//! range query from T-1m to T+1m at a 1m step whose point at T must give the same result.
//!
//! The suite prints pass / wrong / unsupported / skipped per file and fails on any wrong answer
//! and on any refusal. Evaluations whose data holds stale markers are skipped: a metrics file
//! cannot carry them, so the embedded source never sees one. It runs without the test harness
//! so that its table shows in every `cargo test`.

use playbook::ops::file_source::{FileSource, Labels, Stop, StoredSeries};
use playbook::ops::metrics::{QueryResult, Range, SourceError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The relative error promqltest allows between a value and the expected one.
const EPSILON: f64 = 0.000001;

/// The bits of Prometheus's stale marker, a NaN that ends a series.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

const SKIP_STALE: &str = "its data holds stale markers, which a metrics file cannot carry";

#[derive(Debug)]
enum Command {
    Clear,
    Load {
        step_ms: i64,
        series: Vec<(Labels, Vec<Option<f64>>)>,
    },
    Eval(Eval),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Plain,
    Ordered,
    Fail,
}

#[derive(Debug)]
struct Eval {
    line: usize,
    mode: Mode,
    at_ms: i64,
    expr: String,
    expected: Expected,
}

#[derive(Debug)]
enum Expected {
    Scalar(f64),
    /// Each element's labels and value, in the order listed.
    Vector(Vec<(Labels, f64)>),
}

enum Outcome {
    Pass,
    Wrong(String),
    Unsupported(String),
    Skipped(&'static str),
}

/// Parses a test file: comment lines count as blank, and a blank line ends a block.
fn parse_file(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect();
    let block_after = |i: usize| {
        lines[i + 1..]
            .iter()
            .take_while(|l| !l.is_empty())
            .enumerate()
            .map(move |(k, l)| (i + 2 + k, *l))
    };
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let at = |why: String| format!("line {}: {why}", i + 1);
        let word = line.split_whitespace().next().unwrap_or("");
        if line.is_empty() {
            i += 1;
            continue;
        }
        let block: Vec<(usize, &str)> = block_after(i).collect();
        match word.to_ascii_lowercase().as_str() {
            "clear" => {
                commands.push(Command::Clear);
                i += 1;
                continue;
            }
            "load" => {
                let step_ms = duration_ms(line[4..].trim()).map_err(at)?;
                let series = block
                    .iter()
                    .map(|(n, l)| parse_series(l).map_err(|e| format!("line {n}: {e}")))
                    .collect::<Result<_, _>>()?;
                commands.push(Command::Load { step_ms, series });
            }
            w if w.starts_with("eval") => {
                commands.push(Command::Eval(parse_eval(i + 1, line, &block)?));
            }
            _ => return Err(at(format!("unknown command `{line}`"))),
        }
        i += 1 + block.len();
    }
    Ok(commands)
}

/// `eval[_ordered|_fail] instant at DURATION EXPR` and its expected lines: one number for a
/// scalar, or one labelled value a line for a vector (an empty block expects an empty vector).
fn parse_eval(line_no: usize, line: &str, block: &[(usize, &str)]) -> Result<Eval, String> {
    let at = |why: String| format!("line {line_no}: {why}");
    let (head, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let mode = match head {
        "eval" => Mode::Plain,
        "eval_ordered" => Mode::Ordered,
        "eval_fail" => Mode::Fail,
        other => return Err(at(format!("unknown eval command `{other}`"))),
    };
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("instant")
        .and_then(|r| r.trim_start().strip_prefix("at"))
        .ok_or_else(|| at("expected `instant at`".into()))?
        .trim_start();
    let (time, expr) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| at("expected a time and an expression".into()))?;
    let at_ms = duration_ms(time).map_err(at)?;
    // As in promqltest, a line that is only a number expects a scalar and ends the block.
    let expected = match block.first().and_then(|(_, l)| number(l).ok()) {
        Some(v) => Expected::Scalar(v),
        None => Expected::Vector(
            block
                .iter()
                .map(|(n, l)| match parse_series(l) {
                    Ok((labels, values)) if values.len() == 1 => {
                        Ok((labels, values[0].unwrap_or(f64::NAN)))
                    }
                    Ok(_) => Err(format!("line {n}: expected exactly one value")),
                    Err(e) => Err(format!("line {n}: {e}")),
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Eval {
        line: line_no,
        mode,
        at_ms,
        expr: expr.trim().to_owned(),
        expected,
    })
}

/// A Prometheus duration: one or more `<number><unit>`, units y w d h m s ms.
fn duration_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration `{text}`");
    let mut total = 0i64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let unit = match &rest[digits..digits + unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        total += n * unit;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// A number as promqltest reads one: an integer (any Go base prefix) or a float, `Inf` and
/// `NaN` in any case, with an optional sign.
fn number(text: &str) -> Result<f64, String> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(d) => (-1.0, d),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).map(|n| n as f64).ok()
    } else {
        match lower.as_str() {
            "inf" | "infinity" => Some(f64::INFINITY),
            "nan" => Some(f64::NAN),
            _ => lower.parse::<f64>().ok(),
        }
    };
    magnitude
        .map(|m| sign * m)
        .ok_or_else(|| format!("invalid number `{text}`"))
}

/// A series description: `name{label="value",...} values...`; each value is a number, `_`
/// (no sample), `stale`, `AxN` (N+1 copies), `_xN` (N missing samples) or `A+BxN` / `A-BxN`
/// (N+1 samples from A, adding B each time, as Go does, by repeated addition).
fn parse_series(line: &str) -> Result<(Labels, Vec<Option<f64>>), String> {
    let (labels, rest) = parse_metric(line)?;
    let mut values = Vec::new();
    for item in rest.split_whitespace() {
        let (base, times) = match item.rsplit_once('x') {
            Some((b, n)) if !b.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
                (b, Some(n.parse::<usize>().map_err(|e| e.to_string())?))
            }
            _ => (item, None),
        };
        if base == "_" {
            values.extend(std::iter::repeat_n(None, times.unwrap_or(1)));
            continue;
        }
        // The step's sign is the last + or - that does not start the value or an exponent.
        let split = base
            .char_indices()
            .skip(1)
            .filter(|&(i, c)| {
                (c == '+' || c == '-') && !matches!(base.as_bytes()[i - 1], b'e' | b'E')
            })
            .map(|(i, _)| i)
            .last();
        let (start, step) = match (split, times) {
            (Some(i), Some(_)) => (&base[..i], number(&base[i..])?),
            _ => (base, 0.0),
        };
        let mut v = if start == "stale" {
            f64::from_bits(STALE_NAN)
        } else {
            number(start)?
        };
        match times {
            None => values.push(Some(v)),
            Some(n) => {
                for _ in 0..=n {
                    values.push(Some(v));
                    v += step;
                }
            }
        }
    }
    Ok((labels, values))
}

/// The metric of a series description, and the text after it.
fn parse_metric(line: &str) -> Result<(Labels, &str), String> {
    let mut labels = Labels::new();
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    if name_end > 0 {
        labels.insert("__name__".into(), line[..name_end].to_owned());
    }
    let rest = &line[name_end..];
    let Some(mut inner) = rest.strip_prefix('{') else {
        return Ok((labels, rest));
    };
    loop {
        inner = inner.trim_start_matches([',', ' ', '\t']);
        if let Some(after) = inner.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = inner.find('=').ok_or("expected `=` in labels")?;
        let name = inner[..eq].trim().to_owned();
        let (value, after) = quoted(inner[eq + 1..].trim_start())?;
        labels.insert(name, value);
        inner = after;
    }
}

/// A quoted label value (double or single quotes, backslash escapes), and the text after it.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut chars = text.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('"' | '\''))) => q,
        _ => return Err(format!("expected a quoted value at `{text}`")),
    };
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, c)) => value.push(c),
                None => break,
            },
            c if c == quote => return Ok((value, &text[i + 1..])),
            c => value.push(c),
        }
    }
    Err(format!("unterminated value at `{text}`"))
}

/// The series loaded since the last `clear`, and whether any holds a stale marker.
#[derive(Default)]
struct Storage {
    series: BTreeMap<Labels, BTreeMap<i64, f64>>,
    stale: bool,
    source: Option<FileSource>,
}

impl Storage {
    fn load(&mut self, step_ms: i64, series: &[(Labels, Vec<Option<f64>>)]) {
        // A series listed twice in one block is the later line alone, as in promqltest.
        let block: BTreeMap<&Labels, &Vec<Option<f64>>> =
            series.iter().map(|(l, v)| (l, v)).collect();
        for (labels, values) in block {
            let stored = self.series.entry(labels.clone()).or_default();
            for (i, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    self.stale |= v.to_bits() == STALE_NAN;
                    stored.entry(i as i64 * step_ms).or_insert(*v);
                }
            }
        }
        self.source = None;
    }

    fn source(&mut self) -> &FileSource {
        self.source.get_or_insert_with(|| {
            FileSource::from_series(
                self.series
                    .iter()
                    .map(|(labels, points)| StoredSeries {
                        labels: labels.into(),
                        samples: points.iter().map(|(&t, &v)| (t, v)).collect(),
                    })
                    .collect(),
            )
        })
    }
}

/// promqltest's `almostEqual`: NaN equals NaN; otherwise a relative error under EPSILON.
fn almost_equal(a: f64, b: f64) -> bool {
    let min_normal = f64::MIN_POSITIVE;
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < min_normal {
        return diff < EPSILON * min_normal;
    }
    diff / (a.abs() + b.abs()) < EPSILON
}

fn show(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// promqltest's `compareResult` for a vector: every element expected, at its position when
/// ordered, with its value; every expected element present.
fn compare_vector(e: &Eval, got: &[(Labels, f64)], ordered: bool) -> Result<(), String> {
    let Expected::Vector(want) = &e.expected else {
        return Err(format!("expected a scalar, got a vector of {}", got.len()));
    };
    for (pos, (labels, v)) in got.iter().enumerate() {
        let Some(at) = want.iter().position(|(l, _)| l == labels) else {
            return Err(format!("unexpected {} {v} in the result", show(labels)));
        };
        if ordered && at != pos {
            return Err(format!(
                "{} at position {} but expected at {}",
                show(labels),
                pos + 1,
                at + 1
            ));
        }
        if !almost_equal(want[at].1, *v) {
            return Err(format!(
                "{}: expected {} but got {v}",
                show(labels),
                want[at].1
            ));
        }
    }
    match want.iter().find(|(l, _)| !got.iter().any(|(g, _)| g == l)) {
        Some((l, v)) => Err(format!("expected {} {v}, not in the result", show(l))),
        None => Ok(()),
    }
}

fn compare_scalar(e: &Eval, got: f64) -> Result<(), String> {
    match e.expected {
        Expected::Scalar(want) if almost_equal(want, got) => Ok(()),
        Expected::Scalar(want) => Err(format!("expected scalar {want} but got {got}")),
        Expected::Vector(_) => Err(format!("expected a vector, got scalar {got}")),
    }
}

/// How the engine's failure counts: a refusal is unsupported, anything else is wrong.
fn failed(e: SourceError, mode: &str) -> Outcome {
    match e {
        SourceError::Unsupported(what) => Outcome::Unsupported(what),
        other => Outcome::Wrong(format!("{mode} query failed: {other}")),
    }
}

fn run(source: &FileSource, e: &Eval) -> Outcome {
    let t = e.at_ms as f64 / 1000.0;
    let instant = match (source.instant(&e.expr, t, &Stop::default()), e.mode) {
        (Err(SourceError::Unsupported(what)), _) => return Outcome::Unsupported(what),
        (Err(_), Mode::Fail) => return Outcome::Pass,
        (Ok(_), Mode::Fail) => return Outcome::Wrong("succeeded, but should fail".into()),
        (Err(err), _) => return failed(err, "instant"),
        (Ok(answer), _) => answer.result,
    };
    let checked = match &instant {
        QueryResult::Scalar { value, .. } => compare_scalar(e, *value),
        QueryResult::Vector(v) => {
            let got: Vec<(Labels, f64)> = v.iter().map(|s| (s.labels.clone(), s.value)).collect();
            compare_vector(e, &got, e.mode == Mode::Ordered)
        }
        other => Err(format!("unexpected result {other:?}")),
    };
    if let Err(why) = checked {
        return Outcome::Wrong(format!("instant: {why}"));
    }
    let range = Range {
        start: t - 60.0,
        end: t + 60.0,
        step: 60.0,
    };
    let matrix = match source.range(&e.expr, &range, &Stop::default()) {
        Err(err) => return failed(err, "range"),
        Ok(answer) => match answer.result {
            QueryResult::Matrix(m) => m,
            other => return Outcome::Wrong(format!("range: not a matrix: {other:?}")),
        },
    };
    // As in promqltest, a range query's order is not defined.
    if e.mode == Mode::Ordered {
        return Outcome::Pass;
    }
    let at_t: Vec<(Labels, f64)> = matrix
        .into_iter()
        .filter_map(|s| {
            let point = s.points.iter().find(|p| p.0 == t)?;
            Some((s.labels, point.1))
        })
        .collect();
    let checked = match instant {
        QueryResult::Scalar { .. } => match at_t.first() {
            Some((_, v)) => compare_scalar(e, *v),
            None => Err("no point at the evaluation time".into()),
        },
        _ => compare_vector(e, &at_t, false),
    };
    match checked {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Wrong(format!("range: {why}")),
    }
}

#[derive(Default)]
struct Tally {
    pass: usize,
    wrong: usize,
    unsupported: usize,
    skipped: usize,
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/promqltest")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 11, "the eleven files of Prometheus 2.42");
    let started = std::time::Instant::now();
    let mut report = String::new();
    let mut details = String::new();
    let mut total = Tally::default();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let commands = parse_file(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut storage = Storage::default();
        let mut tally = Tally::default();
        for command in &commands {
            let e = match command {
                Command::Clear => {
                    storage = Storage::default();
                    continue;
                }
                Command::Load { step_ms, series } => {
                    storage.load(*step_ms, series);
                    continue;
                }
                Command::Eval(e) => e,
            };
            let outcome = if storage.stale {
                Outcome::Skipped(SKIP_STALE)
            } else {
                run(storage.source(), e)
            };
            let (count, line) = match outcome {
                Outcome::Pass => (&mut tally.pass, None),
                Outcome::Wrong(why) => (&mut tally.wrong, Some(format!("WRONG {why}"))),
                Outcome::Unsupported(why) => {
                    (&mut tally.unsupported, Some(format!("unsupported: {why}")))
                }
                Outcome::Skipped(why) => (&mut tally.skipped, Some(format!("skipped: {why}"))),
            };
            *count += 1;
            if let Some(line) = line {
                let _ = writeln!(details, "{name}:{} {}\n    {line}", e.line, e.expr);
            }
        }
        let _ = writeln!(
            report,
            "{name:<22} {:>5} {:>6} {:>12} {:>8}",
            tally.pass, tally.wrong, tally.unsupported, tally.skipped
        );
        total.pass += tally.pass;
        total.wrong += tally.wrong;
        total.unsupported += tally.unsupported;
        total.skipped += tally.skipped;
    }
    println!("{details}");
    println!(
        "{:<22} {:>5} {:>6} {:>12} {:>8}",
        "file", "pass", "wrong", "unsupported", "skipped"
    );
    print!("{report}");
    println!(
        "{:<22} {:>5} {:>6} {:>12} {:>8}   ({:.1} s)",
        "total",
        total.pass,
        total.wrong,
        total.unsupported,
        total.skipped,
        started.elapsed().as_secs_f64()
    );
    if total.wrong > 0 {
        eprintln!(
            "promqltest: the embedded engine answered {} evaluations wrong",
            total.wrong
        );
        std::process::exit(1);
    }
}
