//! Secrets never reach an output: every stream, display and error passes through a [`Scrubbed`]
//! sink that masks the values the session knows to be secret.

use super::error::CellError;
use super::sink::OutputSink;
use crate::ops::command::Stream;
use crate::render::Bundle;
use std::cell::RefCell;
use std::rc::Rc;

use crate::model::MASK;

/// The secret values of a session, shared with the sinks that mask them.
#[derive(Clone, Default)]
pub struct Secrets(Rc<RefCell<Vec<String>>>);

impl Secrets {
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut values = self.0.borrow_mut();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
            // Longest first, so that a secret containing another is masked whole.
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.0.borrow().iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        text
    }

    /// How many bytes at the end of `text` could be the start of a secret.
    fn unsafe_tail(&self, text: &str) -> usize {
        let values = self.0.borrow();
        // The whole text too: a read may be nothing but the first letters of a secret.
        (1..=text.len())
            .rev()
            .filter(|&n| text.is_char_boundary(text.len() - n))
            .find(|&n| {
                let tail = &text[text.len() - n..];
                values.iter().any(|v| v.len() > n && v.starts_with(tail))
            })
            .unwrap_or(0)
    }

    fn mask_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.mask(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }

    pub fn mask_bundle(&self, bundle: Bundle) -> Bundle {
        let mut json = bundle.into_json();
        self.mask_json(&mut json);
        Bundle::from_json(json)
    }

    pub fn mask_error(&self, error: &CellError) -> CellError {
        error.map_text(|text| self.mask(text))
    }
}

/// A sink that masks secrets before passing anything on. Stream text is held back while its end
/// could be the start of a secret split across two reads.
pub struct Scrubbed<'a> {
    inner: &'a dyn OutputSink,
    secrets: Secrets,
    held: RefCell<Option<(Stream, String)>>,
}

impl<'a> Scrubbed<'a> {
    pub fn new(inner: &'a dyn OutputSink, secrets: Secrets) -> Self {
        Scrubbed {
            inner,
            secrets,
            held: RefCell::new(None),
        }
    }

    /// Passes on stream text held back; called before any other output and at the cell's end.
    pub fn flush(&self) {
        if let Some((stream, text)) = self.held.borrow_mut().take() {
            self.inner.stream(stream, self.secrets.mask(&text));
        }
    }
}

#[async_trait::async_trait(?Send)]
impl OutputSink for Scrubbed<'_> {
    fn stream(&self, stream: Stream, text: String) {
        let mut text = text;
        let held = self.held.borrow_mut().take();
        match held {
            Some((held_stream, held_text)) if held_stream == stream => {
                text = held_text + &text;
            }
            Some((held_stream, held_text)) => {
                self.inner
                    .stream(held_stream, self.secrets.mask(&held_text));
            }
            None => {}
        }
        let masked = self.secrets.mask(&text);
        let keep = self.secrets.unsafe_tail(&masked);
        let (now, later) = masked.split_at(masked.len() - keep);
        if !later.is_empty() {
            *self.held.borrow_mut() = Some((stream, later.to_owned()));
        }
        if !now.is_empty() {
            self.inner.stream(stream, now.to_owned());
        }
    }

    fn display(&self, bundle: Bundle, id: Option<&str>) {
        self.flush();
        self.inner.display(self.secrets.mask_bundle(bundle), id);
    }

    fn update_display(&self, bundle: Bundle, id: &str) {
        self.flush();
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

    #[test]
    fn a_secret_split_across_reads_is_still_masked() {
        let secrets = Secrets::default();
        secrets.add("hunter22");
        let seen = Collect::default();
        let sink = Scrubbed::new(&seen, secrets);
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
    fn bundles_are_masked_everywhere() {
        let secrets = Secrets::default();
        secrets.add("s3cr3t");
        let seen = Collect::default();
        Scrubbed::new(&seen, secrets).display(Bundle::plain("key s3cr3t!"), None);
        assert_eq!(*seen.0.borrow(), format!("key {MASK}!"));
    }
}
