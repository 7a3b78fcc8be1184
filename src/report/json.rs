//! The report as JSON, for tools: every section, and the whole timeline with its bookkeeping
//! steps. A value the journal did not have is `null`.

use super::model::Report;
use super::rows::Place;
use crate::journal::verdict::Verdict;
use crate::ops::command::Exit;
use crate::render::format::rfc3339;
use serde_json::{json, Value};

/// The report as pretty-printed JSON, ending in a newline.
pub(super) fn render(r: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&value(r)).expect("JSON values serialize");
    text.push('\n');
    text
}

fn value(r: &Report) -> Value {
    let at = |p: &Place| json!({"seq": p.seq, "at": p.at});
    let with = |p: &Place, fields: Value| {
        let mut object = at(p);
        if let (Some(object), Value::Object(fields)) = (object.as_object_mut(), fields) {
            object.extend(fields);
        }
        object
    };
    json!({
        "span": {"first": r.first, "last": r.last},
        "steps": r.steps,
        "integrity": r.verdict.map(integrity),
        "breaks": r.breaks,
        "warnings": r.warnings,
        "windows": r.windows.iter().map(|w| with(&w.place, json!({
            "written": w.written(), "start": w.result.start, "end": w.result.end,
            "step_seconds": w.result.step_seconds,
        }))).collect::<Vec<_>>(),
        "sources": r.sources.iter().map(|s| with(&s.place, json!({
            "name": s.input.name, "kind": s.kind(), "url": s.url(), "location": s.location(),
        }))).collect::<Vec<_>>(),
        "findings": r.findings.iter().map(|f| with(&f.place, json!({
            "severity": f.input.severity, "text": f.input.text, "evidence": f.input.evidence,
        }))).collect::<Vec<_>>(),
        "checks": r.checks.iter().map(|c| with(&c.place, json!({
            "title": c.input.title, "condition": c.input.condition,
            "passed": c.result.passed, "detail": c.result.detail,
        }))).collect::<Vec<_>>(),
        "commands": r.commands.iter().map(|c| {
            let (code, signal, not_run) = match c.result.exit {
                Some(Exit::Code(n)) => (Some(n), None, false),
                Some(Exit::Signal(n)) => (None, Some(n), false),
                Some(Exit::NotRun) => (None, None, true),
                None => (None, None, false),
            };
            with(&c.place, json!({
                "command": c.input.command, "cwd": c.input.cwd, "exit_code": code,
                "signal": signal, "not_run": not_run, "exit": c.exit_text(),
                "duration_ms": c.result.duration_ms, "truncated": c.result.truncated,
                "error": c.error(),
            }))
        }).collect::<Vec<_>>(),
        "queries": r.queries.iter().map(|q| with(&q.place, json!({
            "source": q.input.source, "expr": q.input.expr, "instant": q.input.instant,
            "start": q.input.start.map(rfc3339), "end": q.input.end.map(rfc3339),
            "step_seconds": q.input.step,
            // No journal holds a query's `now`: the key stays for the tools that read this format.
            "now": Value::Null,
            "time": q.input.time.map(rfc3339), "result_type": q.result_type(),
            "series": q.series(), "warnings": q.warnings(), "error": q.error(),
            "summary": q.summary(),
        }))).collect::<Vec<_>>(),
        "probes": r.probes.iter().map(|p| with(&p.place, json!({
            "url": p.input.url, "expect": p.input.expect, "status": p.result.status,
            "latency_ms": p.result.latency_ms, "body_bytes": p.result.body_bytes,
            "cert_days_left": p.result.cert_days_left, "passed": p.result.passed,
            "reason": p.result.reason,
        }))).collect::<Vec<_>>(),
        "secrets": r.secrets.iter().map(|s| with(&s.place, json!({
            "name": s.input.name, "reference": s.input.reference,
        }))).collect::<Vec<_>>(),
        "timeline": r.timeline.iter().map(|e| with(&e.place, json!({
            "step": e.step, "summary": e.line, "ms": e.ms, "broken_at_line": e.broken_at,
        }))).collect::<Vec<_>>(),
    })
}

/// The verdict as data: its name, what it says, and the key or the line it names.
fn integrity(verdict: &Verdict) -> Value {
    let mut object = json!({"verdict": verdict.name(), "text": verdict.to_string()});
    match verdict {
        Verdict::Intact { key_id } | Verdict::UnknownKey { key_id } => {
            object["key_id"] = json!(key_id);
        }
        Verdict::Broken { line, .. } => object["line"] = json!(line),
        Verdict::Truncated { .. } | Verdict::Unsigned => {}
    }
    object
}
