//! Which code cells a run runs: `--tags`, `--skip-tags` and `--from`, and the check, made before
//! anything runs, that no running cell reads a name only a skipped cell binds.

use crate::engine::stmt::names::CellNames;

/// The cell tag papermill gives the parameters cell: it runs whatever `--tags` or `--from` say.
pub const PARAMETERS: &str = "parameters";

/// What `playbook run` was asked to run; everything when empty.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Run only cells tagged with one of these (and the parameters cell).
    pub tags: Vec<String>,
    /// Run no cell tagged with one of these.
    pub skip_tags: Vec<String>,
    /// Start at this cell: its number among the code cells, or the first cell with this tag.
    pub from: Option<String>,
    /// The cells before `from` run, answered from the journal a run resumes.
    pub resumed: bool,
}

/// A code cell as the selection sees it.
pub struct Cell<'a> {
    pub tags: &'a [String],
    pub code: &'a str,
}

/// Why a cell does not run, as its one-line output says it.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    NotTagged(Vec<String>),
    Tagged(String),
    BeforeFrom(String),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::NotTagged(tags) => {
                write!(f, "skipped: not tagged {} (--tags)", tags.join(" or "))
            }
            Skip::Tagged(tag) => write!(f, "skipped: tagged {tag} (--skip-tags)"),
            Skip::BeforeFrom(from) => write!(f, "skipped: before --from {from}"),
        }
    }
}

/// A selection that cannot be run, said before any cell runs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectionError {
    #[error("--from {0}: the notebook has {1} code cells, counted from 1")]
    NoSuchCell(String, usize),
    /// A tag no code cell has: a typo would otherwise pass a gate that ran nothing.
    #[error("{option} {tag}: no code cell is tagged {tag}")]
    NoSuchTag { option: &'static str, tag: String },
    #[error(
        "cell {reader} reads `{name}`, which cell {binder} binds, and cell {binder} does not run ({why}): run it too, or leave `{name}` out of cell {reader}"
    )]
    Unbound {
        reader: usize,
        name: String,
        binder: usize,
        why: Skip,
    },
}

impl Selection {
    /// For each cell, in order (cell 1 first), why it does not run, or `None` when it runs.
    pub fn plan(&self, cells: &[Cell]) -> Result<Vec<Option<Skip>>, SelectionError> {
        let untagged = |option: &'static str, tags: &[String]| {
            let missing = tags
                .iter()
                .find(|t| !cells.iter().any(|c| c.tags.contains(t)));
            missing.map_or(Ok(()), |tag| {
                Err(SelectionError::NoSuchTag {
                    option,
                    tag: tag.clone(),
                })
            })
        };
        untagged("--tags", &self.tags)?;
        untagged("--skip-tags", &self.skip_tags)?;
        let from = match self.from_number(cells)? {
            Some(n) if !self.resumed => n - 1,
            _ => 0,
        };
        let plan: Vec<Option<Skip>> = (cells.iter().enumerate())
            .map(|(i, cell)| self.skip(i, cell, from))
            .collect();
        unbound(cells, &plan)?;
        Ok(plan)
    }

    /// The number of the cell `--from` names, counted from 1.
    pub fn from_number(&self, cells: &[Cell]) -> Result<Option<usize>, SelectionError> {
        let Some(from) = &self.from else {
            return Ok(None);
        };
        let number = match from.parse::<usize>() {
            Ok(n) if (1..=cells.len()).contains(&n) => n,
            Ok(_) => return Err(SelectionError::NoSuchCell(from.clone(), cells.len())),
            Err(_) => {
                let index = (cells.iter()).position(|c| c.tags.contains(from));
                1 + index.ok_or_else(|| SelectionError::NoSuchTag {
                    option: "--from",
                    tag: from.clone(),
                })?
            }
        };
        Ok(Some(number))
    }

    fn skip(&self, index: usize, cell: &Cell, from: usize) -> Option<Skip> {
        let tagged = |tag: &String| cell.tags.contains(tag);
        if let Some(tag) = self.skip_tags.iter().find(|t| tagged(t)) {
            return Some(Skip::Tagged(tag.clone()));
        }
        if cell.tags.iter().any(|t| t == PARAMETERS) {
            return None;
        }
        if index < from {
            return Some(Skip::BeforeFrom(self.from.clone().unwrap_or_default()));
        }
        if !self.tags.is_empty() && !self.tags.iter().any(tagged) {
            return Some(Skip::NotTagged(self.tags.clone()));
        }
        None
    }
}

/// The first running cell that reads a name which, at that point, only a skipped cell bound.
fn unbound(cells: &[Cell], plan: &[Option<Skip>]) -> Result<(), SelectionError> {
    let mut bound: Vec<String> = Vec::new();
    let mut skipped: Vec<(String, usize, &Skip)> = Vec::new();
    for (i, (cell, skip)) in cells.iter().zip(plan).enumerate() {
        let Some(names) = CellNames::of(cell.code) else {
            continue;
        };
        match skip {
            Some(why) => skipped.extend(names.binds.into_iter().map(|n| (n, i + 1, why))),
            None => {
                for name in &names.reads {
                    if bound.contains(name) {
                        continue;
                    }
                    if let Some((_, binder, why)) = skipped.iter().rev().find(|(n, ..)| n == name) {
                        return Err(SelectionError::Unbound {
                            reader: i + 1,
                            name: name.clone(),
                            binder: *binder,
                            why: (*why).clone(),
                        });
                    }
                }
                bound.extend(names.binds);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells<'a>(specs: &'a [(&'a [String], &'a str)]) -> Vec<Cell<'a>> {
        specs
            .iter()
            .map(|(tags, code)| Cell { tags, code })
            .collect()
    }

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tags_skip_tags_and_from_choose_the_cells() {
        let (params, triage, slow, none) = (
            tags(&["parameters"]),
            tags(&["triage"]),
            tags(&["triage", "slow"]),
            tags(&[]),
        );
        let specs = [
            (&params[..], "param service = \"checkout\""),
            (&none[..], "window last 1h"),
            (&triage[..], "up = query up"),
            (&slow[..], "run sleep 1"),
        ];
        let cells = cells(&specs);
        let only = |s: Selection| -> Vec<bool> {
            s.plan(&cells)
                .unwrap()
                .iter()
                .map(Option::is_none)
                .collect()
        };
        assert_eq!(only(Selection::default()), [true; 4]);
        let triage_only = Selection {
            tags: tags(&["triage"]),
            ..Selection::default()
        };
        assert_eq!(only(triage_only), [true, false, true, true]);
        let not_slow = Selection {
            skip_tags: tags(&["slow"]),
            ..Selection::default()
        };
        assert_eq!(only(not_slow), [true, true, true, false]);
        let from_3 = Selection {
            from: Some("3".into()),
            ..Selection::default()
        };
        assert_eq!(only(from_3), [true, false, true, true]);
        let from_slow = Selection {
            from: Some("slow".into()),
            ..Selection::default()
        };
        assert_eq!(only(from_slow), [true, false, false, true]);
        let plan = Selection {
            tags: tags(&["triage"]),
            ..Selection::default()
        }
        .plan(&cells)
        .unwrap();
        assert_eq!(
            plan[1].as_ref().unwrap().to_string(),
            "skipped: not tagged triage (--tags)"
        );
    }

    #[test]
    fn a_from_that_names_no_cell_is_refused() {
        let none = tags(&[]);
        let specs = [(&none[..], "window last 1h")];
        let cells = cells(&specs);
        for (from, error) in [
            ("0", SelectionError::NoSuchCell("0".into(), 1)),
            ("2", SelectionError::NoSuchCell("2".into(), 1)),
            (
                "later",
                SelectionError::NoSuchTag {
                    option: "--from",
                    tag: "later".into(),
                },
            ),
        ] {
            let selection = Selection {
                from: Some(from.into()),
                ..Selection::default()
            };
            assert_eq!(selection.plan(&cells), Err(error));
        }
        // A gate asked for by a tag nobody gave would pass having run nothing.
        let typo = Selection {
            tags: tags(&["gaet"]),
            ..Selection::default()
        };
        assert_eq!(
            typo.plan(&cells).unwrap_err().to_string(),
            "--tags gaet: no code cell is tagged gaet"
        );
    }

    #[test]
    fn a_running_cell_that_reads_a_skipped_binding_names_both() {
        let (none, slow) = (tags(&[]), tags(&["slow"]));
        let specs = [
            (&none[..], "svc = run echo checkout"),
            (&slow[..], "errors = run echo 3\nsvc = run echo cart"),
            (&none[..], "finding high \"{{errors}} errors in {{svc}}\""),
        ];
        let cells = cells(&specs);
        let selection = Selection {
            skip_tags: tags(&["slow"]),
            ..Selection::default()
        };
        let error = selection.plan(&cells).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cell 3 reads `errors`, which cell 2 binds, and cell 2 does not run (skipped: tagged slow (--skip-tags)): run it too, or leave `errors` out of cell 3"
        );
        // `svc`, bound by a cell that runs too, is no reason to refuse.
        let specs = [
            (&none[..], "svc = run echo checkout"),
            (&slow[..], "svc = run echo cart"),
            (&none[..], "run echo {{svc}}"),
        ];
        assert!(selection.plan(&super::tests::cells(&specs)).is_ok());
    }
}
