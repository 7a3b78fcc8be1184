//! The inputs (and text outputs) of the executions of this kernel process, for history_request.

use serde_json::{json, Value};

/// jupyter_client addresses history by session number; this kernel keeps only its own process's
/// history, which is always session 1.
const SESSION: u64 = 1;

/// Inputs and outputs longer than this are kept as a note of their size: history is for recalling
/// what was typed, and a 100 MB paste kept for the kernel's life would be memory never returned.
const KEPT: usize = 1 << 20;

struct Entry {
    line: u64,
    input: String,
    output: Option<String>,
}

#[derive(Default)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    pub fn record(&mut self, line: u64, input: &str, output: Option<String>) {
        self.entries.push(Entry {
            line,
            input: kept(input),
            output: output.as_deref().map(kept),
        });
    }

    /// The `history` list of a history_reply for the request's content.
    pub fn answer(&self, request: &Value) -> Value {
        let output = request["output"].as_bool().unwrap_or(false);
        let n = request["n"].as_u64().map(|n| n as usize);
        let chosen: Vec<&Entry> = match request["hist_access_type"].as_str().unwrap_or("tail") {
            "range" => {
                let session = request["session"].as_i64().unwrap_or(0);
                let start = request["start"].as_u64().unwrap_or(1);
                let stop = request["stop"].as_u64().unwrap_or(u64::MAX);
                // 0 and negative numbers count back from the current session, which is ours.
                if session > 0 && session as u64 != SESSION {
                    Vec::new()
                } else {
                    self.entries
                        .iter()
                        .filter(|e| e.line >= start && e.line < stop)
                        .collect()
                }
            }
            "search" => {
                let pattern = request["pattern"].as_str().unwrap_or("*");
                let unique = request["unique"].as_bool().unwrap_or(false);
                let mut seen = std::collections::HashSet::new();
                let mut hits: Vec<&Entry> = self
                    .entries
                    .iter()
                    .rev()
                    .filter(|e| crate::glob::matches(pattern, &e.input))
                    .filter(|e| !unique || seen.insert(e.input.as_str()))
                    .collect();
                if let Some(n) = n {
                    hits.truncate(n);
                }
                hits.reverse();
                hits
            }
            _ => {
                let n = n.unwrap_or(self.entries.len());
                self.entries[self.entries.len().saturating_sub(n)..]
                    .iter()
                    .collect()
            }
        };
        chosen
            .into_iter()
            .map(|e| {
                if output {
                    json!([SESSION, e.line, [e.input, e.output]])
                } else {
                    json!([SESSION, e.line, e.input])
                }
            })
            .collect()
    }
}

fn kept(text: &str) -> String {
    if text.len() <= KEPT {
        text.to_owned()
    } else {
        format!("# ({} bytes, too long to keep in history)", text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        let mut h = History::default();
        h.record(1, "run ls", None);
        h.record(2, "param x = 1\nx", Some("1".into()));
        h.record(3, "run ls", None);
        h
    }

    #[test]
    fn tail_range_search() {
        let h = history();
        let tail = h.answer(&json!({"hist_access_type": "tail", "n": 2}));
        assert_eq!(tail, json!([[1, 2, "param x = 1\nx"], [1, 3, "run ls"]]));
        let range =
            h.answer(&json!({"hist_access_type": "range", "session": 0, "start": 2, "stop": 3}));
        assert_eq!(range, json!([[1, 2, "param x = 1\nx"]]));
        let with_output = h.answer(&json!({"hist_access_type": "tail", "n": 1, "output": true}));
        assert_eq!(with_output, json!([[1, 3, ["run ls", null]]]));
        let search = h.answer(&json!({"hist_access_type": "search", "pattern": "run*"}));
        assert_eq!(search.as_array().unwrap().len(), 2);
        let unique =
            h.answer(&json!({"hist_access_type": "search", "pattern": "run*", "unique": true}));
        assert_eq!(unique, json!([[1, 3, "run ls"]]));
    }

    #[test]
    fn huge_inputs_are_kept_as_their_size() {
        let mut h = History::default();
        let huge = "x".repeat(KEPT + 1);
        h.record(1, &huge, Some(huge.clone()));
        let tail = h.answer(&json!({"hist_access_type": "tail", "n": 1, "output": true}));
        let note = format!("# ({} bytes, too long to keep in history)", KEPT + 1);
        assert_eq!(tail, json!([[1, 1, [note, note]]]));
    }
}
