//! The primitives a playbook step performs, each behind a small trait so that recording, replay
//! and dry-run can wrap them instead of being woven through them.

pub mod check;
pub mod clock;
pub mod command;
pub mod finding;
pub mod http_api;
pub mod leftovers;
pub mod logs;
pub mod loki;
pub mod metrics;
pub mod policy;
pub mod probe;
pub mod regular_file;
pub mod rust;
pub mod secret;
pub mod slo;
pub mod victoria_logs;

/// How many bytes at the end start a UTF-8 character whose other bytes are not there (not
/// read yet, or cut off).
pub fn unfinished_utf8_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needs = match byte {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if needs > back { back } else { 0 };
    }
    0
}

/// A size as a person reads it: `512 B`, `3.5 KiB`, `256.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// What a running op is handed beside its input: where its output goes as it comes, and the
/// interrupt that stops it.
#[derive(Clone, Copy)]
pub struct Io<'a> {
    pub output: &'a dyn Fn(command::Stream, String),
    pub interrupt: &'a tokio_util::sync::CancellationToken,
}

/// A replayed step that the journal does not hold: replay never falls back to the live world.
/// Names the closest recorded step, to help find what changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct NotRecorded(pub String);

/// How long an op took, to the whole millisecond: the precision the journal keeps, so that a
/// live run shows the very figure its replay shows.
pub fn elapsed_ms(started: std::time::Instant) -> std::time::Duration {
    std::time::Duration::from_millis(started.elapsed().as_millis() as u64)
}
pub mod file_source;
pub mod prometheus;
