//! Inserting a value into a query (PromQL, LogQL, LogsQL) as exactly that text, so that a
//! parameter can never add query syntax: with `-p 'service=x"} or vector(1) or y{a="'`,
//! `{service="{{service}}"}` still selects the service of that odd name, and a check cannot be
//! made to pass by what a parameter holds (an alert's labels, given to a scheduled run).

/// Where in a query text stops, as far as quoting goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    Plain,
    /// Inside a string opened by this quote: `"` or `'` (backslash escapes), or a backquote
    /// (raw, no escapes).
    Quoted(char),
}

/// `value`, written so that where `before` ends it reads as exactly that text: escaped inside a
/// quoted string; outside one, it must be one word (a number, a duration, a name), else an
/// error says what to write instead.
pub fn insert(before: &str, value: &str, _secret: bool) -> Result<String, String> {
    match context(before) {
        // A backslash too: Prometheus reads it as itself there, the embedded engine's parser as
        // an escape, so no writing means the same to both.
        Context::Quoted('`') if value.contains(['`', '\\']) => Err(format!(
            "a value holding a backquote or a backslash cannot go inside a backquoted string: write \"{{{{NAME}}}}\" instead (it holds {})",
            shown(value)
        )),
        Context::Quoted('`') => Ok(value.to_owned()),
        Context::Quoted(quote) => {
            let mut text = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '\\' => text.push_str(r"\\"),
                    '\n' => text.push_str(r"\n"),
                    '\r' => text.push_str(r"\r"),
                    '\t' => text.push_str(r"\t"),
                    c if c == quote => {
                        text.push('\\');
                        text.push(c);
                    }
                    // Go's strconv.Unquote, which PromQL's parser follows, takes \u escapes.
                    c if c.is_control() => text.push_str(&format!(r"\u{:04x}", c as u32)),
                    c => text.push(c),
                }
            }
            Ok(text)
        }
        Context::Plain if is_word(value) => Ok(value.to_owned()),
        Context::Plain => Err(format!(
            "a value outside quotes must be one word (a number, a duration or a name), and {} is not: put `{{{{NAME}}}}` inside quotes if it is a label value",
            shown(value)
        )),
    }
}

/// A number, a duration, or a metric or label name, with an optional sign.
fn is_word(value: &str) -> bool {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    !unsigned.is_empty()
        && unsigned
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:".contains(c))
}

/// A value as an error shows it: short, on one line.
fn shown(value: &str) -> String {
    let mut text: String = value.chars().take(40).collect();
    if text.len() < value.len() {
        text.push('…');
    }
    format!("{text:?}")
}

fn context(text: &str) -> Context {
    let mut context = Context::Plain;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        context = match (context, c) {
            (Context::Plain, '"' | '\'' | '`') => Context::Quoted(c),
            (Context::Quoted(quote), '\\') if quote != '`' => {
                chars.next();
                context
            }
            (Context::Quoted(quote), c) if c == quote => Context::Plain,
            (context, _) => context,
        };
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::label::MatchOp;
    use promql_parser::parser::{self, Expr};

    /// The value of the one matcher of `x{l=...}` as PromQL's parser reads it.
    fn matched(query: &str) -> String {
        let Ok(Expr::VectorSelector(selector)) = parser::parse(query) else {
            panic!("{query} does not parse as a selector");
        };
        let matcher = (selector.matchers.matchers.iter())
            .find(|m| m.name == "l")
            .expect("the matcher l");
        assert_eq!(matcher.op, MatchOp::Equal);
        matcher.value.clone()
    }

    #[test]
    fn a_value_in_a_string_reads_as_itself_whatever_it_holds() {
        // A seeded generator over the characters that matter to quoting, and any others.
        let alphabet: Vec<char> = "\"'`\\{}()[], \n\t\r\u{0}\u{7f}=~!aé😀#/".chars().collect();
        let mut rng = fastrand::Rng::with_seed(18);
        for _ in 0..5_000 {
            let len = rng.usize(0..12);
            let value: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            for quote in ['"', '\''] {
                let before = format!("x{{l={quote}");
                let inserted = insert(&before, &value, false).unwrap();
                let query = format!("{before}{inserted}{quote}}}");
                assert_eq!(matched(&query), value, "{query}");
            }
            match insert("x{l=`", &value, false) {
                Ok(inserted) => assert_eq!(matched(&format!("x{{l=`{inserted}`}}")), value),
                Err(_) => assert!(value.contains(['`', '\\'])),
            }
        }
    }

    #[test]
    fn outside_quotes_only_a_word_goes_in() {
        for word in [
            "5m",
            "0.5",
            "-1",
            "1e3",
            "http_requests_total",
            "job:rate5m",
        ] {
            assert_eq!(insert("rate(x[", word, false).as_deref(), Ok(word));
        }
        for attack in [
            "1 or vector(1)",
            "x) or (y",
            "5m]) > 0 #",
            "",
            "a b",
            "-",
            "{a=\"b\"}",
        ] {
            let error = insert("up > ", attack, false).unwrap_err();
            assert!(error.contains("inside quotes"), "{error}");
        }
    }

    #[test]
    fn the_context_follows_quotes_and_escapes() {
        assert_eq!(context(r#"x{a="b", c=""#), Context::Quoted('"'));
        assert_eq!(context(r#"x{a="b\"", c="d"} > "#), Context::Plain);
        assert_eq!(context(r#"x{a='it\'s "#), Context::Quoted('\''));
        assert_eq!(context(r"x{a=`C:\`} or y{b=`"), Context::Quoted('`'));
        assert_eq!(context(r#"{app="api"} |= "#), Context::Plain);
    }
}
