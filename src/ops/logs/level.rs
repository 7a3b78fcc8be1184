//! A line's level, as Loki's `detected_level` finds it: from a label a parser or the stream
//! gave, else from a `level` field written in the line (JSON or logfmt), else from a level word
//! among the line's first words (`2026-11-20 10:28:01 ERROR ...`). The volume chart stacks its
//! bars by it and the table colours lines by it.

use super::Labels;

/// Most severe first: the order bars stack in, from the axis up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Critical,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
    Unknown,
}

/// Names a level is given under, as labels or fields.
const NAMES: [&str; 5] = ["level", "lvl", "severity", "detected_level", "loglevel"];

/// How far into a line a level word or field is looked for: it is written near the start, and
/// a line may be 1 MiB.
const LOOK_BYTES: usize = 512;

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
            Level::Unknown => "unknown",
        }
    }

    /// A level's name as programs write it, in any case; `None` for a word that is not one.
    pub fn parse(word: &str) -> Option<Level> {
        const WORDS: [(&str, Level); 22] = [
            ("critical", Level::Critical),
            ("crit", Level::Critical),
            ("fatal", Level::Critical),
            ("panic", Level::Critical),
            ("emerg", Level::Critical),
            ("emergency", Level::Critical),
            ("alert", Level::Critical),
            ("error", Level::Error),
            ("err", Level::Error),
            ("eror", Level::Error),
            ("warn", Level::Warn),
            ("warning", Level::Warn),
            ("wrn", Level::Warn),
            ("info", Level::Info),
            ("inf", Level::Info),
            ("information", Level::Info),
            ("notice", Level::Info),
            ("debug", Level::Debug),
            ("dbg", Level::Debug),
            ("trace", Level::Trace),
            ("trc", Level::Trace),
            ("unknown", Level::Unknown),
        ];
        (WORDS.iter())
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|&(_, level)| level)
    }

    /// The level of a line with these labels (the stream's and what its pipeline parsed).
    pub fn of(labels: &Labels, line: &str) -> Level {
        NAMES
            .iter()
            .find_map(|name| labels.get(*name))
            .and_then(|value| Level::parse(value))
            .or_else(|| Level::written_in(line))
            .unwrap_or(Level::Unknown)
    }

    fn written_in(line: &str) -> Option<Level> {
        let mut end = line.len().min(LOOK_BYTES);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let head = &line[..end];
        // A name written as a JSON key (`"level":`) or a logfmt key (`level=`).
        for name in NAMES {
            for (at, _) in head.match_indices(name) {
                let after = &head[at + name.len()..];
                let quoted = head[..at].ends_with('"');
                let value = match (quoted, after.strip_prefix('"'), after.strip_prefix('=')) {
                    (true, Some(rest), _) => rest.trim_start().strip_prefix(':'),
                    (false, _, Some(rest)) => Some(rest),
                    _ => None,
                };
                let word = (value
                    .unwrap_or_default()
                    .trim_start()
                    .trim_start_matches('"'))
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default();
                if let Some(level) = Level::parse(word) {
                    return Some(level);
                }
            }
        }
        head.split_whitespace().take(6).find_map(|word| {
            Level::parse(word.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
                .filter(|level| *level != Level::Unknown)
        })
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Level::parse(&name).unwrap_or(Level::Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(line: &str) -> Level {
        Level::of(&Labels::new(), line)
    }

    #[test]
    fn a_label_wins_then_a_field_then_a_word() {
        let labels = Labels::from([("lvl".to_owned(), "WARNING".to_owned())]);
        assert_eq!(Level::of(&labels, r#"{"level":"error"}"#), Level::Warn);
        assert_eq!(
            of(r#"{"ts": "x", "level": "error", "msg": "m"}"#),
            Level::Error
        );
        assert_eq!(of("ts=x level=debug msg=\"info here\""), Level::Debug);
        assert_eq!(
            of("2026-11-20 10:28:01 [FATAL] out of memory"),
            Level::Critical
        );
        assert_eq!(of("2026-11-20T10:28:01Z INFO: started"), Level::Info);
        assert_eq!(of("GET /api/checkout 200"), Level::Unknown);
        // A level word deep in a message is not the line's level.
        assert_eq!(
            of("2026-11-20 10:28:01 a b c d e f g error"),
            Level::Unknown
        );
    }

    #[test]
    fn a_long_line_of_multibyte_characters_is_cut_on_a_boundary() {
        let line = "é".repeat(LOOK_BYTES);
        assert_eq!(of(&line), Level::Unknown);
    }

    #[test]
    fn names_round_trip_and_stack_most_severe_first() {
        let all = [
            Level::Critical,
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
            Level::Unknown,
        ];
        for level in all {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert!(Level::Critical < Level::Error && Level::Trace < Level::Unknown);
    }
}
