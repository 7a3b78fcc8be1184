//! `.ipynb` files, read and written through the nbformat crate, for `playbook run`.

use nbformat::v4::{Cell, Notebook, Output};
use serde_json::Value;
use std::path::Path;

/// Reads a notebook of format 4 (older minor versions are upgraded to 4.5).
pub fn read(path: &Path) -> Result<Notebook, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let invalid =
        |e: &dyn std::fmt::Display| format!("{} is not a valid notebook: {e}", path.display());
    match nbformat::parse_notebook(&text).map_err(|e| invalid(&e))? {
        nbformat::Notebook::V4(notebook) => Ok(notebook),
        nbformat::Notebook::V4QuirksMode(quirks) => Ok(quirks.repair()),
        nbformat::Notebook::Legacy(legacy) => {
            nbformat::upgrade_legacy_notebook(legacy).map_err(|e| invalid(&e))
        }
        _ => Err(format!(
            "{} is in an older notebook format; open and save it with a current Jupyter first",
            path.display()
        )),
    }
}

pub fn write(path: &Path, notebook: Notebook) -> Result<(), String> {
    let text = nbformat::serialize_notebook(&nbformat::Notebook::V4(notebook))
        .map_err(|e| format!("cannot serialize the notebook: {e}"))?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The code of a code cell, or `None` for other cells.
pub fn code(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Code { source, .. } => Some(source.concat()),
        _ => None,
    }
}

/// Replaces a code cell's outputs and execution count.
pub fn set_outputs(cell: &mut Cell, count: i32, new_outputs: Vec<Value>) -> Result<(), String> {
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
            .map_err(|e| format!("an output does not fit the notebook format: {e}"))?;
    }
    Ok(())
}
