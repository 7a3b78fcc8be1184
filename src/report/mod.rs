//! `playbook report JOURNAL`: an investigation journal as a postmortem timeline a person pastes
//! into an incident document (GitHub-flavoured markdown, or a self-contained HTML page), or as
//! JSON for tools.
//!
//! A report leads with what it can vouch for: the time span, the number of steps, and the
//! journal's integrity verdict (`journal::verdict`), with every break of the chain named, by line. Then the sections: windows and sources,
//! findings by severity, checks, commands, queries, probes and secrets (by reference only), and
//! the whole timeline, one line a step.
//!
//! A journal is read as data, not trusted as code (see `journal::entry`): an unknown field is
//! ignored, an unknown step is shown by its kind, and a missing value, or one in an input or a
//! result that does not fit its type, reads `?` (`null` in JSON). Nothing here panics on a
//! journal's content.
//!
//! The modules, each using only those before it: `wording` has the words rows share (times,
//! durations, failures, verdicts); `rows` the rows of each section and how each reads; `model`
//! files each journal entry under its section and says what the report is (its span, its steps);
//! `sections` writes the sections once for any `Markup`, which `markdown` and `html` implement
//! (with their own heads); `json` writes the report as data.

mod html;
mod json;
mod markdown;
mod model;
mod rows;
mod sections;
mod wording;

#[cfg(test)]
mod tests;

use crate::journal::read::Loaded;
use crate::journal::verdict::Verdict;
use model::Report;
use std::str::FromStr;

/// What `--format` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown report format `{other}`: use md, html or json"
            )),
        }
    }
}

/// The report of a loaded journal, judged `verdict`, in `format`.
pub fn render(loaded: &Loaded, verdict: &Verdict, format: Format) -> String {
    let report = Report::of(loaded, verdict);
    match format {
        Format::Markdown => markdown::render(&report),
        Format::Html => html::render(&report),
        Format::Json => json::render(&report),
    }
}
