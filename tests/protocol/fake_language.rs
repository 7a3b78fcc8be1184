//! A language of four statements, just enough to drive every path of the server: outputs, output
//! that trickles in, an error, and a cell that runs until it is interrupted.

use async_trait::async_trait;
use playbook::jupyter::{Completeness, Completion, ErrorReport, Interpreter, Outputs};
use serde_json::{json, Value};
use std::time::Duration;

/// How long `fail` runs before it fails: long enough for requests sent right after it to be
/// queued behind it, as cells run from a notebook are.
const TIME_TO_FAIL: Duration = Duration::from_millis(200);

/// How long `count` takes per line: shorter than IOPub's batching tick, so that the last lines
/// are still batched when the cell ends, as a command's are when it exits.
const PER_LINE: Duration = Duration::from_millis(5);

/// `echo TEXT` prints TEXT and returns it; `count N` prints 1 to N, a line at a time; `fail`
/// fails; `wait for interrupt` prints that it waits, then waits for the interrupt.
pub struct FakeLanguage;

#[async_trait(?Send)]
impl Interpreter for FakeLanguage {
    fn kernel_info(&self) -> Value {
        json!({
            "implementation": "fake",
            "implementation_version": "0",
            "language_info": { "name": "fake" },
        })
    }

    async fn execute(&self, code: &str, out: &Outputs) -> Result<(), ErrorReport> {
        if let Some(text) = code.strip_prefix("echo ") {
            out.stdout(format!("{text}\n"));
            out.execute_result(json!({ "text/plain": text }));
            return Ok(());
        }
        if let Some(n) = code.strip_prefix("count ").and_then(|n| n.parse().ok()) {
            for line in 1..=n {
                out.stdout(format!("{line}\n"));
                tokio::time::sleep(PER_LINE).await;
            }
            return Ok(());
        }
        match code {
            "fail" => {
                tokio::time::sleep(TIME_TO_FAIL).await;
                Err(raise(out, "Failure", "it failed, as asked"))
            }
            "wait for interrupt" => {
                out.stdout("waiting for an interrupt\n".into());
                out.interrupted().cancelled().await;
                Err(raise(out, "KeyboardInterrupt", "interrupted"))
            }
            _ => Err(raise(out, "UnknownStatement", code)),
        }
    }

    async fn evaluate(&self, expression: &str) -> Result<Value, ErrorReport> {
        Ok(json!({ "text/plain": expression }))
    }

    async fn complete(&self, _code: &str, _cursor: usize) -> Completion {
        Completion::default()
    }

    async fn inspect(&self, _code: &str, _cursor: usize) -> Option<Value> {
        None
    }

    fn is_complete(&self, _code: &str) -> Completeness {
        Completeness::Complete
    }
}

/// Shows the error as a cell's output and returns it for the reply.
fn raise(out: &Outputs, ename: &str, evalue: &str) -> ErrorReport {
    let error = ErrorReport {
        ename: ename.into(),
        evalue: evalue.into(),
        traceback: vec![format!("{ename}: {evalue}")],
    };
    out.error(&error);
    error
}
