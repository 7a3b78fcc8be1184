//! Where a step's outputs go. The Jupyter kernel publishes them on IOPub; the headless runner
//! writes them into the executed notebook. The engine drives the sink and never knows which.
//!
//! Order is meaningful: a sink shows outputs in the order its methods are called. `error` is
//! called at most once per cell, last.

use crate::engine::error::CellError;
use crate::ops::command::Stream;
use crate::render::Bundle;

#[async_trait::async_trait(?Send)]
pub trait OutputSink {
    /// A piece of a command's output, as it arrives; the sink may batch pieces.
    fn stream(&self, stream: Stream, text: String);
    /// A rich output; with an `id`, later `update_display` calls replace it in place.
    fn display(&self, bundle: Bundle, id: Option<&str>);
    fn update_display(&self, bundle: Bundle, id: &str);
    /// The value a cell shows as its result (a line holding only a name).
    fn result(&self, bundle: Bundle);
    fn error(&self, error: &CellError);
    /// Asks the user a question; `None` when nobody can answer (no stdin, headless run).
    async fn ask(&self, prompt: &str) -> Option<String>;
}
