//! The playbook kernel: the engine served over the Jupyter protocol. The only module that knows
//! both sides; it translates, and decides nothing.

use crate::engine::error::CellError;
use crate::engine::sink::OutputSink;
use crate::engine::{self, Engine, Options};
use crate::journal::record::Journal;
use crate::jupyter::{self, Completeness, Completion, ErrorReport, Outputs};
use crate::ops::command::Stream;
use crate::ops::policy::Policy;
use crate::render::Bundle;
use serde_json::{json, Value};

pub struct PlaybookKernel {
    engine: Engine,
}

impl PlaybookKernel {
    /// A kernel for the playbooks in the working directory, under its command policy.
    pub fn in_working_directory() -> Self {
        let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
        let policy = Policy::find(&dir);
        if let Err(problem) = &policy {
            log::warn!("{problem}: no command will run until it is fixed");
        }
        let journaled = Options {
            policy,
            journal: Some(Journal::default_path(&dir)),
            ..Options::default()
        };
        // The policy is read again only when the journal cannot be opened: rare, and an error
        // is not Clone.
        let engine = Engine::new(journaled).unwrap_or_else(|problem| {
            log::error!("{problem}: this session keeps no journal");
            Engine::new(Options {
                policy: Policy::find(&dir),
                ..Options::default()
            })
            .expect("an engine without a journal always starts")
        });
        PlaybookKernel { engine }
    }
}

fn report(error: &CellError) -> ErrorReport {
    ErrorReport {
        ename: error.ename().to_owned(),
        evalue: error.evalue(),
        traceback: error.traceback(),
    }
}

#[async_trait::async_trait(?Send)]
impl jupyter::Interpreter for PlaybookKernel {
    fn kernel_info(&self) -> Value {
        let version = env!("CARGO_PKG_VERSION");
        json!({
            "implementation": "playbook",
            "implementation_version": version,
            "language_info": {
                "name": "playbook",
                "version": version,
                "mimetype": "text/x-playbook",
                "file_extension": ".playbook",
                "codemirror_mode": "shell",
                "pygments_lexer": "bash",
            },
            "banner": format!(
                "playbook {version}: operational playbooks as notebooks. Shift+Tab on a statement shows its help.\n{}",
                match self.engine.journal_path() {
                    Some(path) => format!("journal: {}", path.display()),
                    None => "this session keeps no journal".to_owned(),
                }
            ),
            "help_links": [],
        })
    }

    async fn execute(&self, code: &str, out: &Outputs) -> Result<(), ErrorReport> {
        self.engine
            .execute_from(out.subshell(), code, &IopubSink(out), out.interrupted())
            .await
            .map_err(|e| report(&e))
    }

    async fn evaluate(&self, expression: &str) -> Result<Value, ErrorReport> {
        self.engine
            .evaluate(expression)
            .await
            .map(Bundle::into_json)
            .map_err(|e| report(&e))
    }

    async fn complete(&self, code: &str, cursor: usize) -> Completion {
        let (matches, start, end) = self.engine.complete(code, cursor).await;
        Completion {
            matches,
            start,
            end,
        }
    }

    async fn inspect(&self, code: &str, cursor: usize) -> Option<Value> {
        self.engine
            .inspect(code, cursor)
            .await
            .map(Bundle::into_json)
    }

    fn is_complete(&self, code: &str) -> Completeness {
        match self.engine.is_complete(code) {
            engine::Completeness::Complete => Completeness::Complete,
            engine::Completeness::Incomplete => Completeness::Incomplete {
                indent: String::new(),
            },
            engine::Completeness::Invalid => Completeness::Invalid,
        }
    }
}

/// The engine's outputs, published on IOPub as the request's outputs.
struct IopubSink<'a>(&'a Outputs);

#[async_trait::async_trait(?Send)]
impl OutputSink for IopubSink<'_> {
    fn stream(&self, stream: Stream, text: String) {
        match stream {
            Stream::Stdout => self.0.stdout(text),
            Stream::Stderr => self.0.stderr(text),
        }
    }

    fn display(&self, bundle: Bundle, id: Option<&str>) {
        self.0.display(bundle.into_json(), id);
    }

    fn update_display(&self, bundle: Bundle, id: &str) {
        self.0.update_display(bundle.into_json(), id);
    }

    fn result(&self, bundle: Bundle) {
        self.0.execute_result(bundle.into_json());
    }

    fn error(&self, error: &CellError) {
        self.0.error(&report(error));
    }

    async fn ask(&self, prompt: &str) -> Option<String> {
        self.0.input(prompt, false).await
    }
}
