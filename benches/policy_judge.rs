//! How long the policy takes to judge a command line of 10 KB: parsed as `sh` reads it, every
//! simple command judged. Several shapes, each about 10,000 bytes, under the default policy and
//! under an allow list.
//!
//! Run with `cargo bench --bench policy_judge`. The target: under 1 ms a line.

use playbook::ops::policy::{Judgement, Policy};
use std::time::{Duration, Instant};

const LINE_BYTES: usize = 10_000;
const ITERATIONS: usize = 200;
const TARGET: Duration = Duration::from_millis(1);

/// `part(i)` repeated, joined by `separator`, until the line holds about [`LINE_BYTES`].
fn line(separator: &str, part: impl Fn(usize) -> String) -> String {
    let mut line = String::new();
    let mut i = 0;
    while line.len() < LINE_BYTES {
        if i > 0 {
            line.push_str(separator);
        }
        line.push_str(&part(i));
        i += 1;
    }
    line
}

/// The shapes measured: what a long playbook step may hold.
fn shapes() -> Vec<(&'static str, String)> {
    vec![
        (
            "one command, 10 KB of arguments",
            format!("echo {}", line(" ", |i| format!("word-{i}"))),
        ),
        (
            "a pipeline",
            line(" | ", |i| format!("grep -v 'pattern {i}' --color=never")),
        ),
        (
            "a list of kubectl reads",
            line(" && ", |i| {
                format!("kubectl --context prod -n ns-{i} get pods -o wide")
            }),
        ),
        (
            "substitutions in quotes",
            line("; ", |i| {
                format!("echo \"host $(hostname) at $(date +%s) step {i}\"")
            }),
        ),
        (
            "loops, ifs, subshells",
            line("; ", |i| {
                format!("for f in a b; do if test -e /tmp/$f{i}; then (cat /tmp/$f{i} | wc -l); fi; done")
            }),
        ),
        (
            "wrappers and a change",
            line("; ", |i| {
                format!("sudo -u app env X={i} timeout 5 nice -n 5 rm /tmp/f{i}")
            }),
        ),
    ]
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let allow = Policy::parse(
        r#"allow = ["echo *", "grep *", "kubectl get *", "hostname", "date *", "cat *", "wc *", "test *"]"#,
        "policy.toml",
    )
    .expect("the benchmark's policy parses");
    let policies = [("default", Policy::default()), ("allow list", allow)];
    println!(
        "policy judge: lines of {LINE_BYTES} bytes or a little more, {ITERATIONS} iterations{}",
        if cfg!(debug_assertions) {
            " (DEBUG BUILD: figures mean nothing)"
        } else {
            ""
        }
    );
    println!();
    println!(
        "{:<34} {:<11} {:>7} {:>10} {:>10} {:>9} {:>4}",
        "line", "policy", "bytes", "median", "max", "verdict", "met"
    );
    for (name, line) in shapes() {
        for (policy_name, policy) in &policies {
            let judge = || policy.judge(&line, &[], None);
            // The first judgement warms caches and the allocator.
            let verdict = match judge() {
                Judgement::Allowed => "runs",
                Judgement::NeedsConsent(_) => "consent",
                Judgement::Denied(_) => "denied",
            };
            let times: Vec<Duration> = (0..ITERATIONS)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(judge());
                    start.elapsed()
                })
                .collect();
            let max = times.iter().copied().max().unwrap_or_default();
            let median = median(times);
            println!(
                "{name:<34} {policy_name:<11} {:>7} {:>7.3} ms {:>7.3} ms {verdict:>9} {:>4}",
                line.len(),
                median.as_secs_f64() * 1000.0,
                max.as_secs_f64() * 1000.0,
                if median < TARGET { "yes" } else { "NO" }
            );
        }
    }
    println!("(the target, under 1 ms, is met when the median is under it)");
}
