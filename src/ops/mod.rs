//! The primitives a playbook step performs, each behind a small trait so that recording, replay
//! and dry-run can wrap them instead of being woven through them.

pub mod check;
pub mod command;
pub mod finding;
pub mod metrics;
pub mod policy;
pub mod probe;
pub mod prometheus;
