//! The Jupyter messaging protocol (5.5) and the kernel server.
//!
//! This layer knows sockets, signatures and message JSON, and nothing of playbooks: a language
//! plugs in through [`Interpreter`]. Layout:
//! - [`connection`]: the connection file;
//! - [`guard`]: the transport guard, the kernel's own listener on each port, which drops a
//!   connection announcing more than the size limit before ZeroMQ reserves it;
//! - [`wire`]: framing, signing and verifying messages;
//! - [`server`]: the sockets, the request routing and the per-request bookkeeping;
//! - [`iopub`]: the one publisher, which batches stream output;
//! - [`subshell`]: the queues of kernel subshells, served at once;
//! - [`stdin`]: input requests to the frontend;
//! - [`history`]: the inputs of this kernel process, for history requests;
//! - [`kernelspec`]: writing the kernelspec where Jupyter finds it.

mod connection;
mod guard;
mod history;
mod interpreter;
mod iopub;
pub mod kernelspec;
mod server;
mod stdin;
mod subshell;
mod usage;
mod wire;

pub use connection::{ConnectionError, ConnectionInfo};
pub use guard::{BindError, WireLimits};
pub use interpreter::{Completeness, Completion, ErrorReport, Interpreter, Outputs};
pub use server::serve;
