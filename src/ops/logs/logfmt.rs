//! logfmt lines: `key=value key="quoted \" value" flag`, as go-logfmt (which Loki uses) reads
//! them.

pub type Pairs = Vec<(String, String)>;

/// A line that is not logfmt: what is wrong, and the pairs read before the fault (Loki keeps
/// those).
pub struct Malformed {
    pub problem: String,
    pub before: Pairs,
}

/// The pairs of a logfmt line in order.
pub fn pairs(line: &str) -> Result<Pairs, Malformed> {
    let mut found = Pairs::new();
    let fault = |problem: String, before: Pairs| Err(Malformed { problem, before });
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(|c: char| c <= ' ');
        if rest.is_empty() {
            return Ok(found);
        }
        let key_end = rest
            .find(|c: char| c <= ' ' || c == '=' || c == '"')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        if key.is_empty() {
            let what = rest.chars().next().map_or(String::new(), String::from);
            return fault(
                format!("unexpected `{what}` where a key was expected"),
                found,
            );
        }
        if let Some(after) = rest.strip_prefix('=') {
            rest = after;
        } else if rest.starts_with('"') {
            return fault(format!("unexpected `\"` in the key `{key}`"), found);
        } else {
            // A key alone is a flag with an empty value.
            found.push((key.to_owned(), String::new()));
            continue;
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            match unquote(quoted) {
                Some((value, used)) => {
                    found.push((key.to_owned(), value));
                    rest = &quoted[used..];
                }
                None => {
                    return fault(format!("the quoted value of `{key}` is not closed"), found);
                }
            }
        } else {
            let end = rest.find(|c: char| c <= ' ').unwrap_or(rest.len());
            let value = &rest[..end];
            if value.contains(['"', '=']) {
                return fault(
                    format!("unexpected `\"` or `=` in the value of `{key}`"),
                    found,
                );
            }
            found.push((key.to_owned(), value.to_owned()));
            rest = &rest[end..];
        }
    }
}

/// The value of a quoted string whose opening quote is already read, and the bytes it took
/// with the closing quote; None when it is not closed.
fn unquote(text: &str) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, at + 1)),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    // `\"`, `\\` and anything else stand for themselves.
                    other => value.push(other),
                }
            }
            other => value.push(other),
        }
    }
    None
}
