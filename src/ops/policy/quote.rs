//! Inserting a value into a command line as one literal word, so that a parameter can never
//! add shell syntax: `run echo "{{name}}"` with `name=$(rm F)` prints `$(rm F)`.

/// Where in a command line text stops, as far as quoting goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    /// Outside quotes, at the top or in a `$(...)` (with its open parentheses).
    Plain(usize),
    Single,
    Double,
    Backquotes,
}

/// Characters a value may hold and still be one word as it is.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)
}

/// `value`, written so that where `before` ends it reads as exactly that text. Inside
/// backquotes no quoting is sure, so that is an error, which says what to write instead.
/// `always_quoted` quotes even a plain word, so that the command's text around the value does
/// not depend on which characters it holds.
pub fn insert(before: &str, value: &str, always_quoted: bool) -> Result<String, String> {
    let safe = !always_quoted && !value.is_empty() && value.chars().all(is_plain);
    match context(before) {
        Context::Plain(_) if safe => Ok(value.to_owned()),
        Context::Plain(_) => Ok(format!("'{}'", value.replace('\'', r"'\''"))),
        Context::Single => Ok(value.replace('\'', r"'\''")),
        Context::Double => Ok(value
            .chars()
            .flat_map(|c| match c {
                '\\' | '"' | '$' | '`' => vec!['\\', c],
                c => vec![c],
            })
            .collect()),
        Context::Backquotes => Err(
            "a `{{NAME}}` inside backquotes cannot be quoted safely: write `$(...)` instead"
                .to_owned(),
        ),
    }
}

fn context(text: &str) -> Context {
    let mut stack = vec![Context::Plain(0)];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let top = stack.last_mut().expect("the top level is never left");
        match (*top, c) {
            (Context::Single, '\'') | (Context::Double, '"') | (Context::Backquotes, '`') => {
                stack.pop();
            }
            (Context::Single, _) => {}
            (Context::Plain(_) | Context::Double | Context::Backquotes, '\\') => {
                chars.next();
            }
            (Context::Plain(_) | Context::Double, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                stack.push(Context::Plain(1));
            }
            (Context::Plain(_) | Context::Double, '`') => stack.push(Context::Backquotes),
            (Context::Plain(_), '\'') => stack.push(Context::Single),
            (Context::Plain(_), '"') => stack.push(Context::Double),
            (Context::Plain(open), '(') => *top = Context::Plain(open + 1),
            (Context::Plain(open), ')') if open > 0 => {
                *top = Context::Plain(open - 1);
                if open == 1 && stack.len() > 1 {
                    stack.pop();
                }
            }
            _ => {}
        }
    }
    *stack.last().expect("the top level is never left")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_one_word_wherever_they_sit() {
        assert_eq!(insert("echo ", "checkout", false).unwrap(), "checkout");
        assert_eq!(insert("echo ", "$(rm F)", false).unwrap(), "'$(rm F)'");
        assert_eq!(insert("echo ", "it's", false).unwrap(), r"'it'\''s'");
        assert_eq!(insert("echo ", "", false).unwrap(), "''");
        assert_eq!(
            insert("echo \"a ", "$(rm F)`x`\"", false).unwrap(),
            r#"\$(rm F)\`x\`\""#
        );
        assert_eq!(
            insert("echo 'a ", "x'; rm F", false).unwrap(),
            r"x'\''; rm F"
        );
        assert_eq!(insert("echo \"$(echo ", "a b", false).unwrap(), "'a b'");
        assert_eq!(insert("echo \"$(echo (x)) ", "a b", false).unwrap(), r"a b");
        assert_eq!(insert("echo 'a\"' ", "a b", false).unwrap(), "'a b'");
        assert!(insert("echo `echo ", "x", false).is_err());
        assert_eq!(insert("echo ", "hunter22", true).unwrap(), "'hunter22'");
        assert_eq!(insert("echo \"", "hunter22", true).unwrap(), "hunter22");
    }
}
