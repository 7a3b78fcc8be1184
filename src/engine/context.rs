//! What a step is given while it runs.

use super::session::{Config, Investigation};
use super::sink::OutputSink;
use super::stack::Ops;
use tokio_util::sync::CancellationToken;

/// What one step needs while it runs: the investigation so far, the session's set-up, the ops
/// it may reach, where its outputs go, and the user's interrupt.
pub struct Context<'a> {
    pub state: &'a mut Investigation,
    pub config: &'a Config,
    pub ops: &'a mut Ops,
    pub out: &'a dyn OutputSink,
    pub interrupt: &'a CancellationToken,
}
