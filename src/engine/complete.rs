//! Completion and inspection: what a person gets from Tab and Shift+Tab. Statement keywords,
//! bound names, severities and `{{` references come from the session; metric names, label names
//! and label values from the live source (in a `logs` statement, the log source's label names
//! and values), fetched once and kept for the session.

use super::rust_cell;
use super::session::Vocabulary;
use super::stmt;
use super::Engine;
use crate::ops::finding::Severity;
use crate::render::{self, Bundle};
use std::time::Duration;

/// Completion must never keep a person waiting on a slow source.
const VOCABULARY_TIMEOUT: Duration = Duration::from_secs(2);

/// What the word at the cursor is, in a PromQL expression.
#[derive(Debug, PartialEq)]
enum PromqlSlot {
    Metric,
    Label,
    LabelValue(String),
}

/// The PromQL of a `query` or `check` line up to the cursor, and the source it names.
fn promql_before_cursor(line: &str) -> Option<(Option<String>, &str)> {
    let mut rest = line.trim_start();
    if let Some((name, after)) = rest.split_once('=') {
        if super::syntax::is_name(name.trim()) && !after.starts_with(['=', '~']) {
            rest = after.trim_start();
        }
    }
    if let Some(after) = rest.strip_prefix("query ") {
        let mut after = after.trim_start();
        let mut source = None;
        if let Some(tail) = after.strip_prefix('@') {
            let (name, tail) = tail.split_once(' ')?;
            source = Some(name.to_owned());
            after = tail.trim_start();
        }
        if let Some(tail) = after.strip_prefix("instant ") {
            after = tail.trim_start();
        }
        return Some((source, after));
    }
    let after = rest.strip_prefix("check ")?;
    let (_, expr) = after.split_once("\":")?;
    let expr = expr.trim_start();
    if expr.starts_with("run ") || expr.starts_with("probe ") {
        return None;
    }
    Some((None, expr))
}

/// The LogQL of a `logs` line up to the cursor, and the source it names.
fn logql_before_cursor(line: &str) -> Option<(Option<String>, &str)> {
    let mut rest = line.trim_start();
    if let Some((name, after)) = rest.split_once('=') {
        if super::syntax::is_name(name.trim()) && !after.starts_with(['=', '~']) {
            rest = after.trim_start();
        }
    }
    let after = rest.strip_prefix("logs ")?.trim_start();
    if let Some(tail) = after.strip_prefix('@') {
        let (name, tail) = tail.split_once(' ')?;
        return Some((Some(name.to_owned()), tail.trim_start()));
    }
    Some((None, after))
}

/// Where the cursor stands in an expression: in braces, in a quoted label value, or outside.
fn slot(promql: &str) -> PromqlSlot {
    let mut depth = 0usize;
    let mut quote: Option<usize> = None;
    let chars: Vec<char> = promql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], quote) {
            ('\\', Some(_)) => i += 1,
            ('"', Some(_)) => quote = None,
            ('"', None) if depth > 0 => quote = Some(i),
            ('{', None) => depth += 1,
            ('}', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    match (depth, quote) {
        (0, _) => PromqlSlot::Metric,
        (_, None) => PromqlSlot::Label,
        (_, Some(q)) => {
            let before: String = chars[..q].iter().collect();
            let label: String = before
                .trim_end_matches(['=', '~', '!'])
                .trim_end()
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            PromqlSlot::LabelValue(label)
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

fn word_start(chars: &[char], cursor: usize, in_value: bool) -> usize {
    let keep = |c: &char| {
        if in_value {
            *c != '"'
        } else {
            is_word_char(*c)
        }
    };
    cursor - chars[..cursor].iter().rev().take_while(|c| keep(c)).count()
}

/// `NAME =` with nothing after it: a statement keyword comes next.
fn is_binding_prefix(before: &str) -> bool {
    before
        .trim_end()
        .strip_suffix('=')
        .is_some_and(|name| super::syntax::is_name(name.trim()))
}

/// The byte offset of the `chars`-th character.
fn byte_offset(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// The number of characters before byte offset `bytes`.
fn char_offset(text: &str, bytes: usize) -> usize {
    text.get(..bytes)
        .map_or(text.chars().count(), |t| t.chars().count())
}

impl Engine {
    /// Candidates for the word that ends at `cursor` (a count of Unicode code points), and the
    /// range of code points they replace.
    pub async fn complete(&mut self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        let (matches, start, end) = self.candidates(cell, cursor).await;
        let secrets = &self.session.state.secrets;
        let matches = matches.iter().map(|m| secrets.mask(m)).collect();
        (matches, start, end)
    }

    async fn candidates(&mut self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        if let Some(marker) = rust_cell::marker(cell) {
            // Jupyter counts characters, evcxr bytes.
            let code = rust_cell::code(cell, marker);
            let found = self
                .session
                .ops
                .rust
                .complete(&code, byte_offset(&code, cursor))
                .await;
            return match found {
                Some((words, start, end)) => {
                    (words, char_offset(&code, start), char_offset(&code, end))
                }
                None => (Vec::new(), cursor, cursor),
            };
        }
        let chars: Vec<char> = cell.chars().collect();
        let cursor = cursor.min(chars.len());
        let line_start = chars[..cursor]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
        let line: String = chars[line_start..cursor].iter().collect();
        let logql = logql_before_cursor(&line).map(|found| (found, true));
        let expression = logql.or_else(|| promql_before_cursor(&line).map(|found| (found, false)));
        if let Some(((source, expr), logs)) = expression {
            let slot = slot(expr);
            let start = word_start(&chars, cursor, matches!(slot, PromqlSlot::LabelValue(_)));
            let prefix: String = chars[start..cursor].iter().collect();
            // A log query has no metric names; outside braces its words are LogQL's own.
            if logs && slot == PromqlSlot::Metric {
                return (Vec::new(), start, cursor);
            }
            let mut candidates = self.vocabulary(source.as_deref(), logs, &slot).await;
            candidates.retain(|c| c.starts_with(&prefix));
            return (candidates, start, cursor);
        }
        let start = word_start(&chars, cursor, false);
        let word: String = chars[start..cursor].iter().collect();
        let before: String = chars[line_start..start].iter().collect();
        let names = || {
            self.session
                .state
                .names()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let keywords = || stmt::STATEMENTS.iter().map(|k| k.name.to_string());
        let mut candidates: Vec<String> = if before.trim_end().ends_with("{{") {
            names()
        } else if before.trim().is_empty() {
            keywords().chain(names()).collect()
        } else if is_binding_prefix(&before) {
            keywords().collect()
        } else if before.trim() == "finding" || before.trim_end().ends_with("= finding") {
            Severity::ALL.iter().map(|s| s.name().to_owned()).collect()
        } else if before.contains("finding ") && before.contains(" evidence ") {
            names()
        } else {
            Vec::new()
        };
        candidates.retain(|c| c.starts_with(&word));
        candidates.sort();
        candidates.dedup();
        (candidates, start, cursor)
    }

    /// The source's names for a slot within the window, fetched on first use and kept while the
    /// window stays as declared. A source that fails or is slow gives no candidates, and is asked
    /// again next time.
    async fn vocabulary(
        &mut self,
        source: Option<&str>,
        logs: bool,
        slot: &PromqlSlot,
    ) -> Vec<String> {
        let window = self.session.state.window.clone();
        let interval = window.resolve(self.session.ops.clock.now()).interval();
        let Some((words, source)) = self.session.state.words_of(source, logs) else {
            return Vec::new();
        };
        if words.window.as_ref() != Some(&window) {
            *words = Vocabulary {
                window: Some(window),
                ..Vocabulary::default()
            };
        }
        let cached = match slot {
            PromqlSlot::Metric => words.metric_names.as_ref(),
            PromqlSlot::Label => words.label_names.as_ref(),
            PromqlSlot::LabelValue(label) => words.label_values.get(label),
        };
        if let Some(cached) = cached {
            return cached.clone();
        }
        let fetch = match slot {
            PromqlSlot::Metric => source.label_values("__name__", &interval),
            PromqlSlot::Label => source.label_names(&interval),
            PromqlSlot::LabelValue(label) => source.label_values(label, &interval),
        };
        let mut fetched = match tokio::time::timeout(VOCABULARY_TIMEOUT, fetch).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(e)) => {
                words.failure = Some(format!("the source answered: {e}"));
                return Vec::new();
            }
            Err(_) => {
                words.failure = Some(format!(
                    "the source did not answer within {} s",
                    VOCABULARY_TIMEOUT.as_secs()
                ));
                return Vec::new();
            }
        };
        fetched.sort();
        words.failure = None;
        match slot {
            PromqlSlot::Metric => words.metric_names = Some(fetched.clone()),
            PromqlSlot::Label => words.label_names = Some(fetched.clone()),
            PromqlSlot::LabelValue(label) => {
                words.label_values.insert(label.clone(), fetched.clone());
            }
        }
        fetched
    }

    /// Help for the statement keyword, the bound name, or (in a query) the metric at `cursor`.
    pub async fn inspect(&mut self, cell: &str, cursor: usize) -> Option<Bundle> {
        let help = self.help_at(cell, cursor).await?;
        Some(self.session.state.secrets.mask_bundle(help))
    }

    async fn help_at(&mut self, cell: &str, cursor: usize) -> Option<Bundle> {
        if let Some(marker) = rust_cell::marker(cell) {
            let code = rust_cell::code(cell, marker);
            let (plain, html) = self
                .session
                .ops
                .rust
                .inspect(&code, byte_offset(&code, cursor))
                .await?;
            return Some(render::rust_help(plain, html));
        }
        let chars: Vec<char> = cell.chars().collect();
        let cursor = cursor.min(chars.len());
        let start = word_start(&chars, cursor, false);
        let end = cursor
            + chars[cursor..]
                .iter()
                .take_while(|c| is_word_char(**c))
                .count();
        let word: String = chars[start..end].iter().collect();
        if let Some(value) = self.session.state.get(&word) {
            return Some(render::value(value));
        }
        if let Some(keyword) = stmt::keyword(&word) {
            return Some(render::help(keyword.syntax, keyword.help));
        }
        let line_start = chars[..start]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
        let line: String = chars[line_start..start].iter().collect();
        let (source, promql) = promql_before_cursor(&line)?;
        let named = self.session.state.named_source(source.as_deref())?;
        if slot(promql) == PromqlSlot::Metric {
            let info = tokio::time::timeout(VOCABULARY_TIMEOUT, named.source.metadata(&word)).await;
            if let Ok(Ok(Some(info))) = info {
                return Some(render::metric_help(&word, &info));
            }
        }
        // Nothing to tell of the word: if completion came back empty because the source
        // failed, say so rather than leave Tab silent.
        let why = named.vocabulary.failure.as_ref()?;
        Some(render::help(
            &format!("completion from `{}`", named.name),
            &format!("no names could be fetched: {why}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_slots() {
        assert_eq!(slot("rate(http_requests_total"), PromqlSlot::Metric);
        assert_eq!(slot("up{jo"), PromqlSlot::Label);
        assert_eq!(slot("up{job=\"api\", "), PromqlSlot::Label);
        assert_eq!(slot("up{job=~\"ap"), PromqlSlot::LabelValue("job".into()));
        assert_eq!(slot("up{code!=\""), PromqlSlot::LabelValue("code".into()));
        assert_eq!(slot("up{a=\"x\"} + down"), PromqlSlot::Metric);
    }

    #[test]
    fn promql_lines() {
        assert_eq!(promql_before_cursor("query up"), Some((None, "up")));
        assert_eq!(
            promql_before_cursor("e = query @thanos instant sum(x"),
            Some((Some("thanos".into()), "sum(x"))
        );
        assert_eq!(
            promql_before_cursor("check \"no errors\": rate(err"),
            Some((None, "rate(err"))
        );
        assert_eq!(promql_before_cursor("check \"ok\": run ls"), None);
        assert_eq!(promql_before_cursor("run query x"), None);
    }

    #[test]
    fn logql_lines() {
        assert_eq!(logql_before_cursor("logs {serv"), Some((None, "{serv")));
        assert_eq!(
            logql_before_cursor("errors = logs @app {service=\"ch"),
            Some((Some("app".into()), "{service=\"ch"))
        );
        assert_eq!(logql_before_cursor("run logs x"), None);
        assert_eq!(logql_before_cursor("query logs"), None);
    }
}
