//! Loading a journal: every complete line, a warning for a torn last line (a crash mid-write),
//! every place where the hash chain says a line was changed, removed or inserted, and what each
//! line's signature and each session's `end` line say, for the verdict module to judge.

use super::{key_of, sha256_hex, signed_hash, EndInput, JournalError, Line, Record, END, GENESIS};
use std::path::Path;

#[derive(Debug, Default)]
pub struct Loaded {
    /// The steps; `end` lines are not steps, and are only in `links`.
    pub records: Vec<Record>,
    pub warnings: Vec<String>,
    /// Where the chain is broken.
    pub breaks: Vec<Break>,
    /// Every record and `end` line, in order.
    pub links: Vec<Link>,
}

/// A place where the chain is broken.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// 1-based, in the file.
    pub line: usize,
    /// As a person reads it: "line 7 (step 6): ...".
    pub text: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a line says of its signature and of its session.
#[derive(Debug, Clone)]
pub struct Link {
    /// 1-based, in the file.
    pub line: usize,
    /// The signer's public key and the signature, as written; `None` when the line has neither.
    pub seal: Option<Seal>,
    /// For an `end` line, the records it counts and the hash it names as the last.
    pub end: Option<(u64, String)>,
    /// The hash of the line before (its `prev`).
    pub prev: String,
}

#[derive(Debug, Clone)]
pub struct Seal {
    pub signer: String,
    pub sig: String,
    /// What the signature must sign: the hash of the line's text before its `sig`; `None` when
    /// `sig` is not the line's last field, so nothing can match it.
    pub hash: Option<[u8; 32]>,
}

impl Loaded {
    /// The line in the file of each record, in the order of `records`.
    pub fn record_lines(&self) -> impl Iterator<Item = usize> + '_ {
        self.links
            .iter()
            .filter(|l| l.end.is_none())
            .map(|l| l.line)
    }
}

pub fn load(path: &Path) -> Result<Loaded, JournalError> {
    let bytes = crate::ops::regular_file::read(path, crate::ops::regular_file::Cap::data())
        .map_err(|source| JournalError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}

pub fn parse(text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    let lines: Vec<&str> = text.split('\n').collect();
    let last_nonblank = lines.iter().rposition(|l| !l.trim().is_empty());
    let mut prev = GENESIS.to_owned();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let mut record: Line = match serde_json::from_str(line) {
            Ok(record) => record,
            Err(_) if Some(index) == last_nonblank && !text.ends_with('\n') => {
                loaded.warnings.push(format!(
                    "line {number} is incomplete (the journal was cut off while it was written); it was skipped"
                ));
                break;
            }
            Err(e) => {
                loaded.breaks.push(Break {
                    line: number,
                    text: format!("line {number} is not a journal record: {e}"),
                });
                prev = sha256_hex(line.as_bytes());
                continue;
            }
        };
        if record.prev != prev {
            let culprit = if number > 1 {
                format!(
                    "line {} was changed or removed, or line {number} was inserted",
                    number - 1
                )
            } else {
                "the first line is not the start of a journal".to_owned()
            };
            loaded.breaks.push(Break {
                line: number,
                text: format!(
                    "line {number} (step {}): its `prev` does not match the line before it: {culprit}",
                    record.seq
                ),
            });
        }
        if record.key != key_of(&record.input) {
            loaded.breaks.push(Break {
                line: number,
                text: format!(
                    "line {number} (step {}): its input does not match its key: the input was changed",
                    record.seq
                ),
            });
        }
        prev = sha256_hex(line.as_bytes());
        loaded.links.push(link(number, line, &mut record));
        if record.step != END {
            loaded.records.push(record.into_record());
        }
    }
    loaded
}

fn link(number: usize, text: &str, record: &mut Line) -> Link {
    let seal = match (record.signer.clone(), record.sig.take()) {
        (Some(signer), Some(sig)) => Some(Seal {
            signer,
            hash: signed_hash(text, &sig),
            sig,
        }),
        _ => None,
    };
    let end = (record.step == END).then(|| {
        // An `end` line that says nothing it should counts nothing: it matches no session.
        serde_json::from_value::<EndInput>(record.input.clone())
            .map(|end| (end.records, end.last))
            .unwrap_or((u64::MAX, String::new()))
    });
    Link {
        line: number,
        seal,
        end,
        prev: record.prev.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::{Entry, FindingInput, RunInput, RunOutcome};
    use super::super::record::Journal;
    use super::*;
    use crate::ops::command::Exit;
    use ed25519_dalek::SigningKey;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn written(steps: usize) -> (std::path::PathBuf, String) {
        let path = std::env::temp_dir().join(format!(
            "journal-test-{}-{}.jsonl",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let mut journal = Journal::open(
            &path,
            Box::new(|s: String| s.replace("hunter2", "••••")),
            key(),
        )
        .unwrap();
        for i in 0..steps {
            let entry = Entry::Run {
                input: RunInput {
                    command: Some(format!("echo {i} hunter2")),
                    ..RunInput::default()
                },
                result: RunOutcome {
                    exit: Some(Exit::Code(0)),
                    ..RunOutcome::default()
                },
            };
            journal.append(entry.clone(), 3, None).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        (path, text)
    }

    #[test]
    fn a_clean_journal_verifies_and_keeps_no_secret() {
        let (path, text) = written(3);
        let loaded = parse(&text);
        assert_eq!(loaded.records.len(), 3);
        assert!(loaded.breaks.is_empty() && loaded.warnings.is_empty());
        assert!(!text.contains("hunter2"));
        assert_eq!(loaded.records[2].seq, 3);
        // Reopening continues the chain.
        let mut again = Journal::open(&path, Box::new(|s: String| s), key()).unwrap();
        let finding = Entry::Finding {
            input: FindingInput::default(),
        };
        again.append(finding.clone(), 0, None).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.records.len(), 4);
        assert!(loaded.breaks.is_empty());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_changed_line_breaks_the_chain_there() {
        let (path, text) = written(4);
        let changed =
            text.replacen("\"code\":0", "\"code\":1", 2)
                .replacen("\"code\":1", "\"code\":0", 1);
        let loaded = parse(&changed);
        assert_eq!(loaded.breaks.len(), 1, "{:?}", loaded.breaks);
        assert!(
            loaded.breaks[0].text.starts_with("line 3 "),
            "{:?}",
            loaded.breaks
        );
        assert!(loaded.breaks[0].text.contains("line 2 was changed"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_skipped_with_a_warning() {
        let (path, text) = written(3);
        let torn = &text[..text.len() - 20];
        let loaded = parse(torn);
        assert_eq!(loaded.records.len(), 2);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.breaks.is_empty());
        std::fs::remove_file(path).unwrap();
    }
}
