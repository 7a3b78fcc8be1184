//! Completion and inspection: what a person gets from Tab and Shift+Tab. Statement keywords,
//! bound names, severities and `{{` references come from the session; metric names, label names
//! and label values from the live source (in a `logs` statement, the log source's label names
//! and values, and after a `|` the fields of the query's lines), fetched once and kept for the
//! session.

use super::error::Span;
use super::rust_cell;
use super::session::Session;
use super::stmt;
use super::syntax::Template;
use super::Engine;
use crate::ops::finding::Severity;
use crate::ops::metrics::SourceError;
use crate::render::{self, Bundle};
use std::future::Future;
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

/// The stages a log query may go on with after a `|`, offered with the fields of its lines.
const LOGQL_STAGES: &[&str] = &[
    "json",
    "logfmt",
    "regexp",
    "pattern",
    "unpack",
    "line_format",
    "label_format",
    "keep",
    "drop",
    "decolorize",
];

/// When the word after `before` (a `logs` statement's text) names a field of the query's
/// lines, the query whose lines have them: the text before the last `|` if the word begins that
/// stage or follows `and`, `or` or a comma in it (LogQL's label filters, `keep` and `drop`;
/// LogsQL's `fields`, `delete`, `filter`, and `by (` lists), or the query before `fields`.
fn field_query(before: &str, logsql: bool) -> Option<&str> {
    let before = before.trim_end();
    let query = match options_start(before) {
        Some(at) => strip_options(&before[..at]),
        None => {
            let pipe = stage_pipes(before).last().copied()?;
            let stage = before[pipe + 1..].trim();
            let names_next = (stage.is_empty() && !logsql)
                || [" and", " or", ",", "("]
                    .iter()
                    .any(|end| stage.ends_with(end))
                || ["keep", "drop", "fields", "delete", "filter", "by (", "by("].contains(&stage);
            if !names_next {
                return None;
            }
            before[..pipe].trim_end()
        }
    };
    // A LogQL query begins with its selector; a LogsQL one with any filter.
    let whole = if logsql {
        !query.is_empty()
    } else {
        query.starts_with('{')
    };
    whole.then_some(query)
}

/// Where a trailing `fields A, B,` option begins: the names are the lines' fields too.
fn options_start(before: &str) -> Option<usize> {
    let at = before.rfind(" fields")?;
    if before[..at].trim_end().ends_with('|') {
        // LogsQL's `| fields` pipe, not the option.
        return None;
    }
    let names = &before[at + " fields".len()..];
    let is_list = names
        .chars()
        .all(|c| c == ',' || c.is_whitespace() || is_word_char(c) || c == '.');
    (is_list && !stage_pipes(before).iter().any(|&p| p > at)).then_some(at + 1)
}

/// The query without the `limit N` and `collapse off` options after it.
fn strip_options(mut query: &str) -> &str {
    loop {
        query = query.trim_end();
        let stripped = query.strip_suffix("collapse off").or_else(|| {
            let count = query.trim_end_matches(|c: char| c.is_ascii_digit());
            (count.len() < query.len())
                .then(|| count.trim_end().strip_suffix("limit"))
                .flatten()
        });
        match stripped {
            Some(rest) => query = rest,
            None => return query,
        }
    }
}

/// The byte offsets of the `|` that begin stages: not line filters (`|=`, `|~`), not in a
/// string or in braces.
fn stage_pipes(query: &str) -> Vec<usize> {
    let bytes = query.as_bytes();
    let (mut pipes, mut depth, mut quote) = (Vec::new(), 0usize, None);
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], quote) {
            (b'\\', Some(b'"')) => i += 1,
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            (q @ (b'"' | b'`'), None) => quote = Some(q),
            (b'{', None) => depth += 1,
            (b'}', None) => depth = depth.saturating_sub(1),
            (b'|', None) if depth == 0 && !matches!(bytes.get(i + 1), Some(b'=' | b'~')) => {
                pipes.push(i)
            }
            _ => {}
        }
        i += 1;
    }
    pipes
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

/// A source's names, sorted, if it gives them in the time completion allows; else why not, kept
/// for inspect to tell.
async fn ask(
    failure: &mut Option<String>,
    fetch: impl Future<Output = Result<Vec<String>, SourceError>>,
) -> Option<Vec<String>> {
    let why = match tokio::time::timeout(VOCABULARY_TIMEOUT, fetch).await {
        Ok(Ok(mut names)) => {
            names.sort();
            *failure = None;
            return Some(names);
        }
        Ok(Err(e)) => format!("the source answered: {e}"),
        Err(_) => format!(
            "the source did not answer within {} s",
            VOCABULARY_TIMEOUT.as_secs()
        ),
    };
    *failure = Some(why);
    None
}

impl Engine {
    /// Candidates for the word that ends at `cursor` (a count of Unicode code points), and the
    /// range of code points they replace.
    ///
    /// Completion works on the session itself, not a copy, to keep what it fetched: it holds the
    /// session while it asks a source, which steps ending meanwhile wait for, within
    /// [`VOCABULARY_TIMEOUT`].
    pub async fn complete(&self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        self.session.lock().await.complete(cell, cursor).await
    }

    /// Help for the statement keyword, the bound name, or (in a query) the metric at `cursor`.
    pub async fn inspect(&self, cell: &str, cursor: usize) -> Option<Bundle> {
        self.session.lock().await.inspect(cell, cursor).await
    }
}

impl Session {
    async fn complete(&mut self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        let (matches, start, end) = self.candidates(cell, cursor).await;
        let secrets = &self.state.secrets;
        let matches = matches.iter().map(|m| secrets.mask(m)).collect();
        (matches, start, end)
    }

    async fn candidates(&mut self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        if let Some(marker) = rust_cell::marker(cell) {
            // Jupyter counts characters, evcxr bytes.
            let code = rust_cell::code(cell, marker);
            let found = self
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
            // A log query has no metric names; outside braces its words are LogQL's own, or
            // the fields of its lines.
            if logs && slot == PromqlSlot::Metric {
                let before_word = &expr[..expr.len() - prefix.len()];
                let Some((mut candidates, logsql)) =
                    self.fields(source.as_deref(), before_word).await
                else {
                    return (Vec::new(), start, cursor);
                };
                let stage_begins = (stage_pipes(before_word).last())
                    .is_some_and(|&p| before_word[p + 1..].trim().is_empty());
                if stage_begins && !logsql {
                    candidates.extend(LOGQL_STAGES.iter().map(|s| s.to_string()));
                }
                candidates.retain(|c| c.starts_with(&prefix));
                candidates.sort();
                candidates.dedup();
                return (candidates, start, cursor);
            }
            let mut candidates = self.vocabulary(source.as_deref(), logs, &slot).await;
            candidates.retain(|c| c.starts_with(&prefix));
            return (candidates, start, cursor);
        }
        let start = word_start(&chars, cursor, false);
        let word: String = chars[start..cursor].iter().collect();
        let before: String = chars[line_start..start].iter().collect();
        let names = || self.state.names().map(str::to_owned).collect::<Vec<_>>();
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
        let window = self.state.window.clone();
        let interval = window.resolve(self.ops.clock.now()).interval();
        let Some((words, source)) = self.state.words_of(source, logs) else {
            return Vec::new();
        };
        words.keep_for(window);
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
        let Some(fetched) = ask(&mut words.failure, fetch).await else {
            return Vec::new();
        };
        match slot {
            PromqlSlot::Metric => words.metric_names = Some(fetched.clone()),
            PromqlSlot::Label => words.label_names = Some(fetched.clone()),
            PromqlSlot::LabelValue(label) => {
                words.label_values.insert(label.clone(), fetched.clone());
            }
        }
        fetched
    }

    /// When the word after `before` names a field (see [`field_query`]), the fields of the lines
    /// the query selects from the log source within the window, asked once per query and window
    /// as [`Session::vocabulary`] asks names; and whether the source's language is LogsQL. A
    /// source that fails gives no fields.
    async fn fields(&mut self, source: Option<&str>, before: &str) -> Option<(Vec<String>, bool)> {
        let window = self.state.window.clone();
        let interval = window.resolve(self.ops.clock.now()).interval();
        let (_, _, logsql) = self.state.log_words_of(source)?;
        // The query as its step would send it, `{{NAME}}` filled in.
        let written = field_query(before, logsql)?;
        let at = Span {
            line: 1,
            column: 1,
            len: 0,
        };
        let template = Template::parse_word(written, at).ok()?;
        let query = self.state.resolve_query(&template).ok()?;
        let (words, source, _) = self.state.log_words_of(source)?;
        words.keep_for(window);
        if let Some(cached) = words.fields.get(&query) {
            return Some((cached.clone(), logsql));
        }
        let fetched = ask(&mut words.failure, source.field_names(&query, &interval))
            .await
            .unwrap_or_default();
        if words.failure.is_none() {
            words.fields.insert(query, fetched.clone());
        }
        Some((fetched, logsql))
    }

    async fn inspect(&mut self, cell: &str, cursor: usize) -> Option<Bundle> {
        let help = self.help_at(cell, cursor).await?;
        Some(self.state.secrets.mask_bundle(help))
    }

    async fn help_at(&mut self, cell: &str, cursor: usize) -> Option<Bundle> {
        if let Some(marker) = rust_cell::marker(cell) {
            let code = rust_cell::code(cell, marker);
            let (plain, html) = self
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
        if let Some(value) = self.state.get(&word) {
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
        let named = self.state.named_source(source.as_deref())?;
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
    fn a_field_follows_a_stage_pipe_and_the_query_before_it_is_sampled() {
        let q = r#"{app="x"} |= "a|b" | json"#;
        for (before, sampled) in [
            (format!("{q} | "), Some(q)),
            (format!(r#"{q} | level="error" and "#), Some(q)),
            (format!(r#"{q} | level="error" or "#), Some(q)),
            (format!("{q} | status >= 500, "), Some(q)),
            (format!("{q} | keep "), Some(q)),
            (format!("{q} | drop a, "), Some(q)),
            (format!("{q} fields "), Some(q)),
            (format!("{q} limit 5 collapse off fields msg, "), Some(q)),
            (format!("{q} | level="), None),
            (format!(r#"{q} |= ""#), None),
            (format!(r#"{q} | line_format "{{{{."#), None),
            (r#"{app="x|"} | "#.to_owned(), Some(r#"{app="x|"}"#)),
            ("rate(x) | ".to_owned(), None),
        ] {
            assert_eq!(field_query(&before, false), sampled, "{before}");
        }
    }

    #[test]
    fn in_logsql_fields_follow_the_pipes_that_take_them() {
        for (before, sampled) in [
            ("error | fields ", Some("error")),
            ("error | fields _msg, ", Some("error")),
            ("error | stats by (", Some("error")),
            ("_time:5m error | sort by (level, ", Some("_time:5m error")),
            ("error | ", None),
            ("error | stats count() ", None),
            (" | fields ", None),
        ] {
            assert_eq!(field_query(before, true), sampled, "{before}");
        }
    }

    #[test]
    fn stage_pipes_skip_line_filters_strings_and_braces() {
        let query = r#"{a=~"x|y"} |= "p|q" |~ `r|s` | json | x="\"|" | logfmt"#;
        let pipes: Vec<&str> = stage_pipes(query).iter().map(|&p| &query[p..]).collect();
        assert_eq!(
            pipes,
            [
                r#"| json | x="\"|" | logfmt"#,
                r#"| x="\"|" | logfmt"#,
                "| logfmt"
            ]
        );
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
