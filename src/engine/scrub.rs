//! Secrets never reach an output: every stream, display and error passes through a [`Scrubbed`]
//! sink that masks the values the session knows to be secret, in every form an output may give
//! them: as written, HTML-, Markdown-, JSON- or shell-escaped, or percent-encoded.

use super::error::CellError;
use super::sink::OutputSink;
use crate::journal::mask_json;
use crate::journal::record::Mask;
use crate::ops::command::Stream;
use crate::render::Bundle;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;
use std::sync::{Arc, PoisonError, RwLock};

use crate::model::MASK;

/// Shorter secrets are refused: masking them would mask ordinary words (and markup).
pub const MIN_SECRET_CHARS: usize = 6;

/// Longer secrets are refused: a token, a password or a private key is shorter, and the matcher
/// of every form of a secret grows with its length.
pub const MAX_SECRET_CHARS: usize = 8192;

/// A secret that cannot be masked well, so is not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unmaskable {
    #[error("a secret must have at least {MIN_SECRET_CHARS} characters (this one has {0}): masking a shorter one would mask ordinary text")]
    TooShort(usize),
    #[error("a secret may have at most {MAX_SECRET_CHARS} characters (this one has {0})")]
    TooLong(usize),
}

/// The secret values of a session, shared with the sinks that mask them.
#[derive(Clone, Default)]
pub struct Secrets(Rc<RefCell<Known>>);

#[derive(Default)]
struct Known {
    values: Vec<String>,
    /// `None` while there is no secret: nothing to search for.
    matcher: Option<Matcher>,
    /// The regex that masks, `None` while there is no secret. Shared with the journal's thread,
    /// which masks each line with the secrets known when it writes it.
    regex: Arc<RwLock<Option<regex::Regex>>>,
}

/// One pattern for every secret in each of its forms: the regex (in [`Known`]) masks, the lazy
/// DFA (anchored) tells whether text could be the beginning of a match.
struct Matcher {
    prefix: DFA,
    cache: Cache,
    /// The most bytes a match can span, so a tail longer than it cannot be one's start.
    longest: usize,
}

impl Secrets {
    pub fn add(&self, value: &str) -> Result<(), Unmaskable> {
        let chars = value.chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(Unmaskable::TooShort(chars));
        }
        if chars > MAX_SECRET_CHARS {
            return Err(Unmaskable::TooLong(chars));
        }
        let mut known = self.0.borrow_mut();
        if !known.values.iter().any(|v| v == value) {
            known.values.push(value.to_owned());
            // Longest first, so that a secret containing another is masked whole.
            known
                .values
                .sort_by_key(|v| std::cmp::Reverse(v.chars().count()));
            let (regex, matcher) = Matcher::new(&known.values);
            *known.regex.write().unwrap_or_else(PoisonError::into_inner) = Some(regex);
            known.matcher = Some(matcher);
        }
        Ok(())
    }

    pub fn mask(&self, text: &str) -> String {
        masked(&self.0.borrow().regex, text).into_owned()
    }

    /// [`Secrets::mask`] for the journal, which masks every line with the secrets known then,
    /// on a thread of its own.
    pub fn mask_fn(&self) -> Mask {
        let regex = self.0.borrow().regex.clone();
        Box::new(move |text: String| match masked(&regex, &text) {
            Cow::Owned(masked) => masked,
            // Most text holds no secret: it is kept, not copied, which matters for a command's
            // 10 MiB of output.
            Cow::Borrowed(_) => text,
        })
    }

    /// How many bytes at the end of `text` could be the start of a secret.
    fn unsafe_tail(&self, text: &str) -> usize {
        match &mut self.0.borrow_mut().matcher {
            Some(matcher) => matcher.unsafe_tail(text),
            None => 0,
        }
    }

    pub fn mask_bundle(&self, bundle: Bundle) -> Bundle {
        Bundle::from_json(mask_json(
            &|text: String| self.mask(&text),
            bundle.into_json(),
        ))
    }

    pub fn mask_error(&self, error: &CellError) -> CellError {
        error.map_text(|text| self.mask(text))
    }
}

fn masked<'a>(regex: &RwLock<Option<regex::Regex>>, text: &'a str) -> Cow<'a, str> {
    match &*regex.read().unwrap_or_else(PoisonError::into_inner) {
        Some(regex) => regex.replace_all(text, MASK),
        None => Cow::Borrowed(text),
    }
}

impl Matcher {
    /// The regex that masks `values`, and the matcher of their beginnings.
    fn new(values: &[String]) -> (regex::Regex, Matcher) {
        let forms: Vec<String> = values.iter().map(|v| pattern(v)).collect();
        let pattern = forms.join("|");
        // Room for every form of every secret: the defaults hold a few hundred characters.
        let chars: usize = values.iter().map(|v| v.chars().count()).sum();
        let prefix = DFA::builder()
            .configure(DFA::config().cache_capacity((chars << 10).max(2 << 20)))
            .build(&pattern)
            .expect("escaped secrets make a valid pattern");
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit((chars << 12).max(10 << 20))
            .build()
            .expect("escaped secrets make a valid pattern");
        let matcher = Matcher {
            cache: prefix.create_cache(),
            prefix,
            longest: values.iter().map(|v| longest_form(v)).max().unwrap_or(0),
        };
        (regex, matcher)
    }

    fn unsafe_tail(&mut self, text: &str) -> usize {
        // The whole text too: a read may be nothing but the first letters of a secret.
        let from = text.len().saturating_sub(self.longest - 1);
        (from..text.len())
            .filter(|&start| text.is_char_boundary(start))
            .find(|&start| self.could_begin(&text.as_bytes()[start..]))
            .map_or(0, |start| text.len() - start)
    }

    /// Whether `tail` could be the first bytes of a secret in one of its forms.
    fn could_begin(&mut self, tail: &[u8]) -> bool {
        let input = Input::new(tail).anchored(Anchored::Yes);
        let Ok(mut state) = self.prefix.start_state_forward(&mut self.cache, &input) else {
            return true;
        };
        for &byte in tail {
            match self.prefix.next_state(&mut self.cache, state, byte) {
                Ok(next) if next.is_dead() => return false,
                Ok(next) => state = next,
                // The lazy DFA gave up: holding text back is the safe side.
                Err(_) => return true,
            }
        }
        true
    }
}

/// The forms a character may take in an output, as regex alternatives.
fn char_forms(c: char) -> Vec<String> {
    let mut forms = vec![regex::escape(&c.to_string())];
    // HTML, by name and by number.
    let named = match c {
        '&' => &["&amp;"][..],
        '<' => &["&lt;"],
        '>' => &["&gt;"],
        '"' => &["&quot;"],
        '\'' => &["&apos;", r"'\\''", r#"'"'"'"#],
        ' ' => &[r"\+"],
        _ => &[],
    };
    forms.extend(named.iter().map(|s| s.to_string()));
    forms.push(format!("&#{};", c as u32));
    forms.push(format!(
        "&#[xX]{};",
        hex_any_case(&format!("{:x}", c as u32))
    ));
    // Percent-encoding, byte by byte.
    let mut utf8 = [0; 4];
    let percent = c
        .encode_utf8(&mut utf8)
        .bytes()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "%{}", hex_any_case(&format!("{b:02x}")));
            s
        });
    forms.push(percent);
    // JSON's \uXXXX, by UTF-16 unit.
    let mut units = [0; 2];
    let json = c
        .encode_utf16(&mut units)
        .iter()
        .fold(String::new(), |mut s, u| {
            let _ = write!(s, r"\\u{}", hex_any_case(&format!("{u:04x}")));
            s
        });
    forms.push(json);
    forms
}

/// The pattern of one secret: each character in any of its forms, after up to two backslashes
/// (Markdown, shell or JSON escaping, and JSON around either).
fn pattern(secret: &str) -> String {
    secret
        .chars()
        .map(|c| format!(r"\\{{0,2}}(?:{})", char_forms(c).join("|")))
        .collect()
}

/// The most bytes any one form of `secret` can take.
fn longest_form(secret: &str) -> usize {
    // Two backslashes, then `%F0%9F%98%80` or `\ud83d\ude00`, the longest forms of a character.
    const LONGEST_CHAR_FORM: usize = 2 + 12;
    secret.chars().count() * LONGEST_CHAR_FORM
}

fn hex_any_case(hex: &str) -> String {
    hex.chars()
        .map(|d| match d {
            'a'..='f' => format!("[{d}{}]", d.to_ascii_uppercase()),
            d => d.to_string(),
        })
        .collect()
}

/// A sink that masks secrets before passing anything on. Stream text is held back, per stream,
/// while its end could be the start of a secret split across two reads; only the next read of
/// that stream, or the end of the step, decides it.
pub struct Scrubbed<'a> {
    inner: &'a dyn OutputSink,
    secrets: Secrets,
    held: RefCell<Vec<(Stream, String)>>,
}

impl<'a> Scrubbed<'a> {
    pub fn new(inner: &'a dyn OutputSink, secrets: Secrets) -> Self {
        Scrubbed {
            inner,
            secrets,
            held: RefCell::default(),
        }
    }

    /// Passes on stream text held back: the stream it belongs to has ended.
    pub fn flush(&self) {
        for (stream, text) in self.held.take() {
            self.inner.stream(stream, self.secrets.mask(&text));
        }
    }

    fn take_held(&self, stream: Stream) -> String {
        let mut held = self.held.borrow_mut();
        match held.iter().position(|(s, _)| *s == stream) {
            Some(i) => held.remove(i).1,
            None => String::new(),
        }
    }
}

#[async_trait::async_trait(?Send)]
impl OutputSink for Scrubbed<'_> {
    fn stream(&self, stream: Stream, text: String) {
        let text = self.take_held(stream) + &text;
        let masked = self.secrets.mask(&text);
        let keep = self.secrets.unsafe_tail(&masked);
        let (now, later) = masked.split_at(masked.len() - keep);
        if !later.is_empty() {
            self.held.borrow_mut().push((stream, later.to_owned()));
        }
        if !now.is_empty() {
            self.inner.stream(stream, now.to_owned());
        }
    }

    fn display(&self, bundle: Bundle, id: Option<&str>) {
        // A live line (a display with an id) shows while the command still writes: what is
        // held back stays so. Any other display comes after the stream has ended.
        if id.is_none() {
            self.flush();
        }
        self.inner.display(self.secrets.mask_bundle(bundle), id);
    }

    fn update_display(&self, bundle: Bundle, id: &str) {
        self.inner
            .update_display(self.secrets.mask_bundle(bundle), id);
    }

    fn result(&self, bundle: Bundle) {
        self.flush();
        self.inner.result(self.secrets.mask_bundle(bundle));
    }

    fn error(&self, error: &CellError) {
        self.flush();
        self.inner.error(&self.secrets.mask_error(error));
    }

    async fn ask(&self, prompt: &str) -> Option<String> {
        self.flush();
        self.inner.ask(&self.secrets.mask(prompt)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(RefCell<String>);

    #[async_trait::async_trait(?Send)]
    impl OutputSink for Collect {
        fn stream(&self, _: Stream, text: String) {
            self.0.borrow_mut().push_str(&text);
        }
        fn display(&self, bundle: Bundle, _: Option<&str>) {
            self.0
                .borrow_mut()
                .push_str(bundle.get("text/plain").unwrap_or_default());
        }
        fn update_display(&self, _: Bundle, _: &str) {}
        fn result(&self, _: Bundle) {}
        fn error(&self, _: &CellError) {}
        async fn ask(&self, _: &str) -> Option<String> {
            None
        }
    }

    fn secrets(values: &[&str]) -> Secrets {
        let secrets = Secrets::default();
        for value in values {
            secrets.add(value).unwrap();
        }
        secrets
    }

    #[test]
    fn a_secret_split_across_reads_is_still_masked() {
        let seen = Collect::default();
        let sink = Scrubbed::new(&seen, secrets(&["hunter22"]));
        sink.stream(Stream::Stdout, "token=hun".into());
        assert_eq!(
            *seen.0.borrow(),
            "token=",
            "a possible secret start is held back"
        );
        sink.stream(Stream::Stdout, "te".into());
        sink.stream(Stream::Stdout, "r22 ok hunt".into());
        sink.flush();
        assert_eq!(*seen.0.borrow(), format!("token={MASK} ok hunt"));
    }

    #[test]
    fn a_live_line_does_not_release_half_a_secret() {
        let seen = Collect::default();
        let sink = Scrubbed::new(&seen, secrets(&["hunter22"]));
        sink.stream(Stream::Stdout, "hun".into());
        sink.display(Bundle::plain("[running 1 s]"), Some("live"));
        sink.stream(Stream::Stderr, "warning\n".into());
        sink.stream(Stream::Stdout, "ter22\n".into());
        assert_eq!(*seen.0.borrow(), format!("[running 1 s]warning\n{MASK}\n"));
    }

    #[test]
    fn bundles_are_masked_everywhere() {
        let seen = Collect::default();
        Scrubbed::new(&seen, secrets(&["s3cr3t"])).display(Bundle::plain("key s3cr3t!"), None);
        assert_eq!(*seen.0.borrow(), format!("key {MASK}!"));
    }

    #[test]
    fn every_escaped_and_encoded_form_is_masked() {
        let secrets = secrets(&["p&ss<w>rd-1.x", "it's a pw"]);
        for form in [
            "p&ss<w>rd-1.x",
            "p&amp;ss&lt;w&gt;rd-1.x",
            r"p&ss\<w\>rd\-1\.x",
            "p%26ss%3Cw%3Erd-1.x",
            "p%26ss%3cw%3erd%2D1%2ex",
            r"p\u0026ss\u003Cw\u003erd-1.x",
            "p&#38;ss&#x3c;w&#X3E;rd-1.x",
            r"it'\''s a pw",
            "it%27s+a+pw",
            "it&#39;s%20a pw",
        ] {
            assert_eq!(
                secrets.mask(&format!("[{form}]")),
                format!("[{MASK}]"),
                "{form}"
            );
        }
        assert_eq!(secrets.mask("pass<w>rd-1.x"), "pass<w>rd-1.x");
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert_eq!(Secrets::default().add("e"), Err(Unmaskable::TooShort(1)));
        assert_eq!(
            Secrets::default().add("ééééé"),
            Err(Unmaskable::TooShort(5))
        );
        assert!(Secrets::default().add("éééééé").is_ok());
    }

    /// A private key or a long token is masked whole in every form; past the bound it is
    /// refused with an error, never a failure of the matcher (a 60,000-character secret once
    /// panicked building it).
    #[test]
    fn a_long_secret_is_masked_up_to_the_bound_and_refused_past_it() {
        let mut rng = fastrand::Rng::with_seed(8192);
        let alphabet: Vec<char> = "abcXYZ019&<>\"'% +\\-_=/é".chars().collect();
        let long: String = (0..MAX_SECRET_CHARS)
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect();
        let secrets = Secrets::default();
        secrets.add(&long).unwrap();
        secrets.add("another-secret").unwrap();
        assert_eq!(
            secrets.mask(&format!("key={long};")),
            format!("key={MASK};")
        );
        let escaped = long
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert_eq!(secrets.mask(&escaped), MASK);
        let over = "a".repeat(60_000);
        assert_eq!(
            Secrets::default().add(&over),
            Err(Unmaskable::TooLong(60_000))
        );
    }
}
