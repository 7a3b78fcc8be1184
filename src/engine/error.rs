//! Errors a user can act on: what went wrong, of which kind, and where in the cell.

use std::fmt;

/// A place in a cell: 1-based line and column (in characters), and a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

/// The closed set of error kinds; each is the `ename` a frontend shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The cell does not follow the cell language.
    ParseError,
    /// A `{{NAME}}`, an evidence or a shown name that nothing defined.
    UnknownName,
    /// A value of the wrong kind where a scalar (or another kind) was needed.
    TypeError,
    /// The command could not be started at all.
    CommandFailed,
    CommandTimeout,
    /// A command that needs the user's consent did not get it.
    ConsentRequired,
    /// The policy forbids the command, or the policy file is broken.
    CommandDenied,
    /// A secret's environment variable or file is missing.
    SecretUnavailable,
    /// A value that cannot be used as given, such as a secret too short to mask.
    ValueError,
    Interrupted,
    /// The metrics source rejected the expression.
    PromQLError,
    /// The log query is not valid in its source's language (LogQL; LogsQL for VictoriaLogs).
    LogQueryError,
    /// No metrics source is declared, or none by the name given.
    NoSource,
    SourceUnreachable,
    SourceTimeout,
    /// The source answered with an error, or with something that is not its API.
    SourceError,
    /// Valid PromQL that the embedded source does not evaluate; a prometheus source would.
    UnsupportedInEmbeddedEngine,
    /// Replay met a step that the journal does not hold.
    NotRecorded,
    /// A Rust cell did not compile.
    CompileError,
    /// A Rust cell panicked.
    Panic,
    /// Rust cells cannot run: this build has none, or the toolchain is missing.
    RustUnavailable,
    /// evcxr failed, or the process running Rust cells ended.
    RustError,
    /// A fault of playbook itself, caught before it could take the kernel down: the step
    /// failed, the session goes on.
    InternalError,
}

impl ErrorKind {
    pub fn ename(self) -> &'static str {
        match self {
            ErrorKind::ParseError => "ParseError",
            ErrorKind::UnknownName => "UnknownName",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::CommandFailed => "CommandFailed",
            ErrorKind::CommandTimeout => "CommandTimeout",
            ErrorKind::ConsentRequired => "ConsentRequired",
            ErrorKind::CommandDenied => "CommandDenied",
            ErrorKind::SecretUnavailable => "SecretUnavailable",
            ErrorKind::ValueError => "ValueError",
            ErrorKind::Interrupted => "Interrupted",
            ErrorKind::PromQLError => "PromQLError",
            ErrorKind::LogQueryError => "LogQueryError",
            ErrorKind::NoSource => "NoSource",
            ErrorKind::SourceUnreachable => "SourceUnreachable",
            ErrorKind::SourceTimeout => "SourceTimeout",
            ErrorKind::SourceError => "SourceError",
            ErrorKind::UnsupportedInEmbeddedEngine => "UnsupportedInEmbeddedEngine",
            ErrorKind::NotRecorded => "NotRecorded",
            ErrorKind::CompileError => "CompileError",
            ErrorKind::Panic => "Panic",
            ErrorKind::RustUnavailable => "RustUnavailable",
            ErrorKind::RustError => "RustError",
            ErrorKind::InternalError => "InternalError",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Span>,
    /// The text of the cell line the span points into, for the traceback's caret.
    source_line: Option<String>,
}

impl CellError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, span: Span) -> Self {
        CellError {
            kind,
            message: message.into(),
            span: Some(span),
            source_line: None,
        }
    }

    /// An error that belongs to the whole cell, not to a place in it.
    pub fn unplaced(kind: ErrorKind, message: impl Into<String>) -> Self {
        CellError {
            kind,
            message: message.into(),
            span: None,
            source_line: None,
        }
    }

    pub fn parse(message: impl Into<String>, span: Span) -> Self {
        CellError::new(ErrorKind::ParseError, message, span)
    }

    /// Attaches the cell's text, so that the traceback can show the line.
    pub fn in_cell(mut self, cell: &str) -> Self {
        if let Some(span) = self.span {
            self.source_line = cell.lines().nth(span.line - 1).map(str::to_owned);
        }
        self
    }

    /// The same error with its message and source line rewritten, e.g. to mask secrets.
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> CellError {
        CellError {
            kind: self.kind,
            message: f(&self.message),
            span: self.span,
            source_line: self.source_line.as_deref().map(&f),
        }
    }

    pub fn ename(&self) -> &'static str {
        self.kind.ename()
    }

    /// The message with its position, as one line.
    pub fn evalue(&self) -> String {
        match self.span {
            Some(span) => format!(
                "{} (line {}, column {})",
                self.message, span.line, span.column
            ),
            None => self.message.clone(),
        }
    }

    /// The error as a frontend prints it: kind and message, position, the line and a caret.
    pub fn traceback(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "\x1b[0;31m{}\x1b[0m: {}",
            self.ename(),
            self.message
        )];
        let (Some(span), Some(source)) = (self.span, &self.source_line) else {
            return lines;
        };
        let number = span.line.to_string();
        let gutter = " ".repeat(number.len());
        let pad: String = source
            .chars()
            .take(span.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        lines.push(format!(
            "{gutter}--> line {}, column {}",
            span.line, span.column
        ));
        lines.push(format!("{gutter} |"));
        lines.push(format!("{number} | {source}"));
        lines.push(format!(
            "{gutter} | {pad}\x1b[0;31m{}\x1b[0m",
            "^".repeat(span.len.max(1))
        ));
        lines
    }
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.ename(), self.evalue())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceback_points_at_the_span() {
        let cell = "run ls\nfinding bogus \"x\"";
        let span = Span {
            line: 2,
            column: 9,
            len: 5,
        };
        let err = CellError::parse("unknown severity", span).in_cell(cell);
        assert_eq!(err.evalue(), "unknown severity (line 2, column 9)");
        let tb = err.traceback();
        assert_eq!(tb[3], "2 | finding bogus \"x\"");
        assert_eq!(tb[4], "  |         \x1b[0;31m^^^^^\x1b[0m");
    }
}
