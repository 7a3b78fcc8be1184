//! The seam between the protocol server and a language: what a kernel's language implements.
//!
//! The server does the bookkeeping of every request (busy and idle, execute_input, execution
//! counts, history, replies); an [`Interpreter`] only evaluates, completes and explains code, and
//! publishes its outputs through the [`Outputs`] of the request it serves.

use super::iopub::Iopub;
use super::stdin::Stdin;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// An error as the protocol shows it: in the `error` output and in the `execute_reply`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

/// A `complete_reply`: the matches replace the code between `start` and `end`, counted in
/// Unicode code points.
#[derive(Debug, Default, PartialEq)]
pub struct Completion {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, PartialEq)]
pub enum Completeness {
    Complete,
    Incomplete { indent: String },
    Invalid,
}

/// The language side of a kernel. Methods run on the shell task; requests of different
/// subshells run at once, so each method takes `&self`, and what they share is the language's
/// to keep consistent.
#[async_trait::async_trait(?Send)]
pub trait Interpreter {
    /// `implementation`, `implementation_version`, `language_info`, `banner` and `help_links`
    /// of the kernel_info_reply.
    fn kernel_info(&self) -> Value;

    /// Runs one cell. Outputs, the error output included, go through `out`; the returned error
    /// becomes the execute_reply's content.
    async fn execute(&self, code: &str, out: &Outputs) -> Result<(), ErrorReport>;

    /// Evaluates one of the request's `user_expressions` into a MIME bundle.
    async fn evaluate(&self, expression: &str) -> Result<Value, ErrorReport>;

    async fn complete(&self, code: &str, cursor: usize) -> Completion;

    /// A MIME bundle explaining what stands at the cursor, if anything.
    async fn inspect(&self, code: &str, cursor: usize) -> Option<Value>;

    fn is_complete(&self, code: &str) -> Completeness;
}

/// Where one execute request's outputs go: IOPub with that request as parent, and, when the
/// frontend allows it, the stdin channel. Silent requests publish nothing.
pub struct Outputs {
    iopub: Iopub,
    parent: Arc<Value>,
    silent: bool,
    execution_count: u64,
    stdin: Option<(Stdin, Vec<Bytes>)>,
    interrupted: CancellationToken,
    subshell: Option<String>,
    /// The text/plain of execute results, kept for the history's output.
    results: Mutex<Vec<String>>,
}

impl Outputs {
    pub(super) fn new(
        iopub: Iopub,
        parent: Arc<Value>,
        silent: bool,
        execution_count: u64,
        stdin: Option<(Stdin, Vec<Bytes>)>,
        interrupted: CancellationToken,
        subshell: Option<String>,
    ) -> Self {
        Outputs {
            iopub,
            parent,
            silent,
            execution_count,
            stdin,
            interrupted,
            subshell,
            results: Mutex::default(),
        }
    }

    fn publish(&self, msg_type: &'static str, content: Value) {
        if !self.silent {
            self.iopub.publish(&self.parent, msg_type, content);
        }
    }

    pub fn stdout(&self, text: String) {
        if !self.silent {
            self.iopub.stream(&self.parent, "stdout", text);
        }
    }

    pub fn stderr(&self, text: String) {
        if !self.silent {
            self.iopub.stream(&self.parent, "stderr", text);
        }
    }

    /// A display_data; with a `display_id`, later updates replace it in place.
    pub fn display(&self, data: Value, display_id: Option<&str>) {
        self.publish("display_data", display_content(data, display_id));
    }

    pub fn update_display(&self, data: Value, display_id: &str) {
        self.publish(
            "update_display_data",
            display_content(data, Some(display_id)),
        );
    }

    pub fn execute_result(&self, data: Value) {
        if let Some(text) = data.get("text/plain").and_then(Value::as_str) {
            self.results.lock().unwrap().push(text.to_owned());
        }
        self.publish(
            "execute_result",
            json!({ "execution_count": self.execution_count, "data": data, "metadata": {} }),
        );
    }

    pub fn error(&self, error: &ErrorReport) {
        self.publish(
            "error",
            json!({ "ename": error.ename, "evalue": error.evalue, "traceback": error.traceback }),
        );
    }

    /// The subshell this request runs in; `None` for the main shell.
    pub fn subshell(&self) -> Option<&str> {
        self.subshell.as_deref()
    }

    /// Cancelled when the user interrupts this request.
    pub fn interrupted(&self) -> &CancellationToken {
        &self.interrupted
    }

    /// Asks the user through the stdin channel; `None` when the frontend allows no stdin or the
    /// request is interrupted before an answer comes.
    pub async fn input(&self, prompt: &str, password: bool) -> Option<String> {
        let (stdin, identities) = self.stdin.as_ref()?;
        // The prompt must not sit behind buffered output the user has not seen yet.
        self.iopub.flush().await;
        tokio::select! {
            answer = stdin.ask(identities, &self.parent, prompt, password) => answer,
            _ = self.interrupted.cancelled() => None,
        }
    }

    pub(super) fn into_results(self) -> Option<String> {
        let results = self.results.into_inner().unwrap();
        (!results.is_empty()).then(|| results.join("\n"))
    }
}

fn display_content(data: Value, display_id: Option<&str>) -> Value {
    let transient = match display_id {
        Some(id) => json!({ "display_id": id }),
        None => json!({}),
    };
    json!({ "data": data, "metadata": {}, "transient": transient })
}
