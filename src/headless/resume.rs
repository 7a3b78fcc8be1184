//! `--resume J`: which cells of a run are answered from the journal of an earlier run of the same
//! notebook, and the check, made before anything runs, that J is of this notebook as it is now.

use crate::journal::entry::CellInput;
use crate::journal::replay::Recording;
use crate::journal::sha256_hex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

/// A journal a run resumes, and the cells it holds as having ended without an error.
pub struct Resumption {
    pub recording: Rc<Recording>,
    /// Cell number → the step of its record.
    ended: BTreeMap<u64, u64>,
}

/// Why a journal cannot be resumed with this notebook; said before any cell runs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResumeError {
    #[error(
        "{}: it records no cell, so it cannot be resumed (only `playbook run` records its cells, since this version)",
        .0.display()
    )]
    NoCells(PathBuf),
    /// Cells answered from a journal are taken as done: only a journal proven to be the user's
    /// (or a trusted colleague's) may say so.
    #[error(
        "{}: {verdict}; a resumed run takes the cells it answers from the journal as done, so the journal must be signed by a key you trust (--public-key FILE trusts a colleague's); nothing ran",
        .journal.display()
    )]
    Untrusted { journal: PathBuf, verdict: String },
    #[error(
        "{}: cell {cell} of the notebook is not the cell {cell} this journal recorded (its code differs): the journal is of another notebook, or the notebook changed since; nothing ran",
        .journal.display()
    )]
    Differs { journal: PathBuf, cell: u64 },
    #[error(
        "{}: it records a cell {cell}, and the notebook has {cells} code cells: the journal is of another notebook; nothing ran",
        .journal.display()
    )]
    Missing {
        journal: PathBuf,
        cell: u64,
        cells: usize,
    },
    #[error(
        "--from {from} with --resume {}: cell {cell} comes before it, and the journal holds no end of it, so it cannot be answered from it",
        .journal.display()
    )]
    NotBeforeFrom {
        journal: PathBuf,
        from: String,
        cell: u64,
    },
}

impl Resumption {
    /// Checks every cell `recording` holds against the notebook's code cells (cell 1 first).
    pub fn of(recording: Rc<Recording>, codes: &[&str]) -> Result<Resumption, ResumeError> {
        let journal = || recording.path().to_owned();
        // A journal cut off by a kill is what a resumed run is for; its signatures are trusted.
        if !recording.verdict().vouched_for() {
            return Err(ResumeError::Untrusted {
                journal: journal(),
                verdict: recording.verdict().to_string(),
            });
        }
        let mut ended = BTreeMap::new();
        let mut any = false;
        for (
            seq,
            CellInput {
                number, sha256, ok, ..
            },
        ) in recording.cells()
        {
            any = true;
            let index = (*number as usize).checked_sub(1);
            let Some(code) = index.and_then(|i| codes.get(i)) else {
                return Err(ResumeError::Missing {
                    journal: journal(),
                    cell: *number,
                    cells: codes.len(),
                });
            };
            if sha256_hex(code.as_bytes()) != *sha256 {
                return Err(ResumeError::Differs {
                    journal: journal(),
                    cell: *number,
                });
            }
            if *ok {
                ended.insert(*number, seq);
            }
        }
        if !any {
            return Err(ResumeError::NoCells(journal()));
        }
        Ok(Resumption { recording, ended })
    }

    /// The step of the record of cell `number`, when the journal answers it: it ended there
    /// without an error, and comes before `--from`, if given.
    pub fn answers(&self, number: u64, from: Option<usize>) -> Option<u64> {
        match from {
            Some(from) if number >= from as u64 => None,
            _ => self.ended.get(&number).copied(),
        }
    }

    /// Refuses `--from` when a cell before it that `runs` (by number) did not end in the journal.
    pub fn answers_all_before(
        &self,
        from: usize,
        from_as_given: &str,
        runs: impl Fn(usize) -> bool,
    ) -> Result<(), ResumeError> {
        let unended = (1..from).find(|&n| runs(n) && !self.ended.contains_key(&(n as u64)));
        match unended {
            Some(cell) => Err(ResumeError::NotBeforeFrom {
                journal: self.recording.path().to_owned(),
                from: from_as_given.to_owned(),
                cell: cell as u64,
            }),
            None => Ok(()),
        }
    }
}
