//! `.ipynb` files, read and written through the nbformat crate, for `playbook run`.

use nbformat::v4::{Cell, Notebook, Output};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A notebook that cannot be read, or written back with its outputs.
#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("cannot read {}: {why}", path.display())]
    Read { path: PathBuf, why: std::io::Error },
    /// Not JSON, or not a notebook; nbformat's parser and its upgrade of a legacy notebook fail
    /// with different types, so `why` is their message.
    #[error("{} is not a valid notebook: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
    /// Format 3, which nbformat reads but does not upgrade.
    #[error(
        "{} is in an older notebook format; open and save it with a current Jupyter first",
        .0.display()
    )]
    OldFormat(PathBuf),
    #[error("cannot serialize the notebook: {0}")]
    Serialize(nbformat::NotebookError),
    #[error("cannot write {}: {why}", path.display())]
    Write { path: PathBuf, why: std::io::Error },
    /// An output the engine made that nbformat's model refuses.
    #[error("an output does not fit the notebook format: {0}")]
    Output(serde_json::Error),
}

/// Reads a notebook of format 4 (older minor versions are upgraded to 4.5).
pub fn read(path: &Path) -> Result<Notebook, NotebookError> {
    let text = std::fs::read_to_string(path).map_err(|why| NotebookError::Read {
        path: path.to_owned(),
        why,
    })?;
    let invalid = |why: &dyn std::fmt::Display| NotebookError::Invalid {
        path: path.to_owned(),
        why: why.to_string(),
    };
    match nbformat::parse_notebook(&text).map_err(|e| invalid(&e))? {
        nbformat::Notebook::V4(notebook) => Ok(notebook),
        nbformat::Notebook::V4QuirksMode(quirks) => Ok(quirks.repair()),
        nbformat::Notebook::Legacy(legacy) => {
            nbformat::upgrade_legacy_notebook(legacy).map_err(|e| invalid(&e))
        }
        _ => Err(NotebookError::OldFormat(path.to_owned())),
    }
}

pub fn write(path: &Path, notebook: Notebook) -> Result<(), NotebookError> {
    let text = nbformat::serialize_notebook(&nbformat::Notebook::V4(notebook))
        .map_err(NotebookError::Serialize)?;
    std::fs::write(path, text).map_err(|why| NotebookError::Write {
        path: path.to_owned(),
        why,
    })
}

/// The code of a code cell, or `None` for other cells.
pub fn code(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Code { source, .. } => Some(source.concat()),
        _ => None,
    }
}

/// A cell's tags, as JupyterLab edits them.
pub fn tags(cell: &Cell) -> Vec<String> {
    let metadata = match cell {
        Cell::Code { metadata, .. }
        | Cell::Markdown { metadata, .. }
        | Cell::Raw { metadata, .. } => metadata,
    };
    metadata.tags.clone().unwrap_or_default()
}

/// Marks a code cell the run did not run: no execution count, one line saying why, and
/// `playbook.skipped` in its metadata for tools.
pub fn mark_skipped(cell: &mut Cell, why: &str) {
    if let Cell::Code {
        execution_count,
        outputs,
        metadata,
        ..
    } = cell
    {
        *execution_count = None;
        *outputs = vec![Output::Stream {
            name: "stdout".into(),
            text: nbformat::v4::MultilineString(format!("{why}\n")),
        }];
        metadata
            .additional
            .insert("playbook".into(), serde_json::json!({ "skipped": why }));
    }
}

/// Replaces a code cell's outputs and execution count.
pub fn set_outputs(
    cell: &mut Cell,
    count: i32,
    new_outputs: Vec<Value>,
) -> Result<(), NotebookError> {
    if let Cell::Code {
        execution_count,
        outputs,
        ..
    } = cell
    {
        *execution_count = Some(count);
        *outputs = new_outputs
            .into_iter()
            .map(serde_json::from_value::<Output>)
            .collect::<Result<_, _>>()
            .map_err(NotebookError::Output)?;
    }
    Ok(())
}
