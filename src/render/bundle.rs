//! A bundle: one output's representations by MIME type, and the escaping its HTML needs.

use serde_json::{Map, Value as Json};

/// One output's representations, keyed by MIME type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle(pub(super) Map<String, Json>);

impl Bundle {
    pub(super) fn with(mut self, mime: &str, content: impl Into<String>) -> Self {
        self.0.insert(mime.to_owned(), Json::String(content.into()));
        self
    }

    /// For MIME types whose data is JSON, not text, as Vega-Lite's.
    pub fn with_json(mut self, mime: &str, content: Json) -> Self {
        self.0.insert(mime.to_owned(), content);
        self
    }

    pub fn plain(text: impl Into<String>) -> Self {
        Bundle::default().with("text/plain", text)
    }

    pub fn has(&self, mime: &str) -> bool {
        self.0.contains_key(mime)
    }

    pub fn get(&self, mime: &str) -> Option<&str> {
        self.0.get(mime).and_then(Json::as_str)
    }

    pub fn into_json(self) -> Json {
        Json::Object(self.0)
    }

    /// A bundle from a MIME-type-keyed JSON object (anything else gives an empty bundle).
    pub fn from_json(json: Json) -> Self {
        match json {
            Json::Object(map) => Bundle(map),
            _ => Bundle::default(),
        }
    }
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text with `code spans` (as check details have): the spans through `code`, the rest through
/// `plain`. Unbalanced backticks are plain text.
pub fn rich(text: &str, plain: fn(&str) -> String, code: fn(&str) -> String) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return plain(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { plain(part) })
        .collect()
}

/// Text with code spans as HTML: the spans as `<code>`, everything escaped.
pub fn rich_html(text: &str) -> String {
    rich(text, escape_html, code_html)
}

pub fn code_html(code: &str) -> String {
    format!("<code>{}</code>", escape_html(code))
}

/// A table cell's alignment, inline: JupyterLab and nbconvert's HTML drop an output's `<style>`
/// and right-align every cell, text too.
pub const TEXT_ALIGN: &str = " style=\"text-align:left\"";
pub const NUMBER_ALIGN: &str = " style=\"text-align:right\"";
