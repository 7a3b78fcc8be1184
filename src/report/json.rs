//! The report as JSON, for tools: every section, and the whole timeline with its bookkeeping
//! steps. A value the journal did not have is `null`.

use super::model::Report;
use super::rows::Place;
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
        "verified": r.verified(),
        "breaks": r.breaks,
        "warnings": r.warnings,
        "windows": r.windows.iter().map(|w| with(&w.place, json!({
            "written": w.written, "start": w.start, "end": w.end, "step_seconds": w.step_seconds,
        }))).collect::<Vec<_>>(),
        "sources": r.sources.iter().map(|s| with(&s.place, json!({
            "name": s.name, "kind": s.kind, "url": s.url,
        }))).collect::<Vec<_>>(),
        "findings": r.findings.iter().map(|f| with(&f.place, json!({
            "severity": f.severity, "text": f.text, "evidence": f.evidence,
        }))).collect::<Vec<_>>(),
        "checks": r.checks.iter().map(|c| with(&c.place, json!({
            "title": c.title, "condition": c.condition, "passed": c.passed, "detail": c.detail,
        }))).collect::<Vec<_>>(),
        "commands": r.commands.iter().map(|c| {
            let (code, signal, not_run) = match c.exit {
                Some(Exit::Code(n)) => (Some(n), None, false),
                Some(Exit::Signal(n)) => (None, Some(n), false),
                Some(Exit::NotRun) => (None, None, true),
                None => (None, None, false),
            };
            with(&c.place, json!({
                "command": c.command, "cwd": c.cwd, "exit_code": code, "signal": signal,
                "not_run": not_run, "exit": c.exit_text(), "duration_ms": c.duration_ms,
                "truncated": c.truncated, "error": c.error,
            }))
        }).collect::<Vec<_>>(),
        "queries": r.queries.iter().map(|q| with(&q.place, json!({
            "source": q.source, "expr": q.expr, "instant": q.instant,
            "start": q.start.map(rfc3339), "end": q.end.map(rfc3339), "step_seconds": q.step,
            // No journal holds a query's `now`: the key stays for the tools that read this format.
            "now": Value::Null,
            "time": q.time.map(rfc3339), "result_type": q.result_type, "series": q.series,
            "warnings": q.warnings, "error": q.error, "summary": q.summary(),
        }))).collect::<Vec<_>>(),
        "probes": r.probes.iter().map(|p| with(&p.place, json!({
            "url": p.url, "expect": p.expect, "status": p.status, "latency_ms": p.latency_ms,
            "body_bytes": p.body_bytes, "cert_days_left": p.cert_days_left, "passed": p.passed,
            "reason": p.reason,
        }))).collect::<Vec<_>>(),
        "secrets": r.secrets.iter().map(|s| with(&s.place, json!({
            "name": s.name, "reference": s.reference,
        }))).collect::<Vec<_>>(),
        "timeline": r.timeline.iter().map(|e| with(&e.place, json!({
            "step": e.step, "summary": e.line, "ms": e.ms,
        }))).collect::<Vec<_>>(),
    })
}
