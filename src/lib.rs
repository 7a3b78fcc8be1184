//! `playbook`: a Jupyter kernel for operational playbooks.
//!
//! Layout, from the outside in:
//! - [`jupyter`]: the Jupyter protocol and kernel server; knows nothing of playbooks;
//! - [`kernel`]: the engine served as a Jupyter interpreter, and [`headless`]: the engine run
//!   over a notebook file; the two front ends of one engine;
//! - [`engine`]: the cell language: parsing, the session, running steps; knows nothing of ZeroMQ;
//! - [`ops`]: the primitives behind traits (commands, metrics, findings);
//! - [`journal`]: recording and replay, as wrappers around the ops;
//! - [`model`]: the values a session binds and shows, shared by the engine and render;
//! - [`render`]: pure functions from results to MIME bundles;
//! - [`notebook`]: `.ipynb` read and write; [`glob`]: shell-style patterns.

pub mod engine;
pub mod glob;
pub mod headless;
pub mod journal;
pub mod jupyter;
pub mod kernel;
pub mod model;
pub mod notebook;
pub mod ops;
pub mod render;
pub mod report;
