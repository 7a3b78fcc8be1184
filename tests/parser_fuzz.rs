//! The cell parser against random input: 100,000 cells, from a fixed seed, built from the
//! language's keywords and options, numbers of every size, non-ASCII look-alikes (U+2212 minus,
//! smart quotes, combining marks) and control characters. No input may panic, and every error
//! must say where it is.

use playbook::engine::stmt::{parse_cell, STATEMENTS};
use playbook::engine::Engine;

mod seeded;
use seeded::Seeded;

const PIECES: &[&str] = &[
    " ",
    " ",
    " ",
    "\n",
    "\\\n",
    "\t",
    "=",
    ":",
    ",",
    "..",
    "\"",
    "\"",
    "'",
    "{{",
    "}}",
    "{",
    "}",
    "@",
    "#",
    "--timeout",
    "--confirm",
    "--cwd",
    "--env",
    "K=V",
    "last",
    "now",
    "now-2h",
    "now−2h",
    "now+1d",
    "2026-11-20T10:00:00Z",
    "step",
    "baseline",
    "instant",
    "evidence",
    "from",
    "env:X",
    "file:/dev/null",
    "expect",
    "within",
    "header",
    "insecure",
    "on",
    "off",
    "high",
    "info",
    "prometheus",
    "file",
    "http://127.0.0.1:1",
    "x",
    "name",
    "_",
    "0",
    "1",
    "18446744073709551615ms",
    "99999999999999999999999s",
    "1e308",
    "-1",
    "5m",
    "1h30m",
    "7d",
    "NaN",
    "é",
    "\u{301}",
    "“",
    "”",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{feff}",
    "𝔁",
    "ß",
    "ǅ",
    "sum(rate(x[5m]))",
    "{{x}}",
    "{{ x }}",
    "{{",
    "%%rust",
];

fn cell(rng: &mut Seeded) -> String {
    let keywords: Vec<&str> = STATEMENTS.iter().map(|k| k.name).collect();
    let mut text = String::new();
    for _ in 0..1 + rng.below(4) {
        if rng.below(3) == 0 {
            text.push_str("name = ");
        }
        text.push_str(rng.pick(&keywords));
        for _ in 0..rng.below(8) {
            text.push_str(rng.pick(PIECES));
        }
        text.push('\n');
    }
    text
}

#[test]
fn no_cell_panics_the_parser_and_every_error_is_placed() {
    let mut rng = Seeded(0x5eed_cafe_f00d_d00d);
    let engine = Engine::default();
    for _ in 0..100_000 {
        let text = cell(&mut rng);
        let parsed = std::panic::catch_unwind(|| parse_cell(&text));
        let Ok(parsed) = parsed else {
            panic!("the parser panicked on {text:?}");
        };
        if let Err(error) = parsed {
            assert!(error.span.is_some(), "{text:?}: {error:?} has no place");
        }
        // What a console asks on every Enter.
        let asked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.is_complete(&text)));
        assert!(asked.is_ok(), "is_complete panicked on {text:?}");
    }
}
