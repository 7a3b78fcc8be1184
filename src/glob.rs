//! Shell-style glob patterns, as history searches and command policies write them.

/// Shell-style glob: `*` any run of characters, `?` one; the whole text must match.
pub fn matches(pattern: &str, text: &str) -> bool {
    // Most patterns are plain words, matched against every word of every command judged.
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    if pattern == "*" {
        return true;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("*param*", "x\nparam y = 2"));
        assert!(matches("r?n *", "run ls"));
        assert!(!matches("run", "run ls"));
        assert!(matches("*", ""));
    }
}
