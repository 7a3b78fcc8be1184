//! The names a cell binds and the names it reads, known before it runs: what `playbook run`
//! needs to tell that skipping one cell leaves another without a binding it reads.

use super::check::Condition;
use super::probe::Probe;
use super::run::Run;
use super::slo::Events;
use super::source::SourceKind;
use super::{parse_cell, Statement, Step};
use crate::engine::rust_cell;
use crate::engine::syntax::{Part, Template};

/// What a cell binds (`NAME = ...`, `param`, `secret`, `source`) and what it reads
/// (`{{NAME}}`, `@NAME`, `evidence NAME`, a name shown again), each in order, once.
#[derive(Debug, Default, PartialEq)]
pub struct CellNames {
    pub binds: Vec<String>,
    pub reads: Vec<String>,
}

impl CellNames {
    /// The names of a playbook cell; `None` for a cell that does not parse, or a Rust cell,
    /// whose reads are Rust's to know.
    pub fn of(cell: &str) -> Option<CellNames> {
        if rust_cell::marker(cell).is_some() {
            return None;
        }
        let mut names = CellNames::default();
        for step in parse_cell(cell).ok()? {
            names.add(&step);
        }
        Some(names)
    }

    fn add(&mut self, step: &Step) {
        // A step reads before it binds: `x = run echo {{x}}` reads the `x` bound before it.
        match &step.statement {
            Statement::Param(param) => self.bind(&param.name),
            Statement::Secret(secret) => self.bind(&secret.name),
            Statement::Source(source) => {
                if let SourceKind::Prometheus(server)
                | SourceKind::VictoriaLogs(server, _)
                | SourceKind::Loki(server, _) = &source.kind
                {
                    self.template(&server.url);
                }
                self.bind(&source.name);
            }
            Statement::Run(run) => self.run(run),
            Statement::Query(query) => {
                self.source(&query.source);
                self.template(&query.expr);
            }
            Statement::Logs(logs) => {
                self.source(&logs.source);
                self.template(&logs.query);
            }
            Statement::Check(check) => {
                self.template(&check.title);
                match &check.condition {
                    Condition::PromQL { source, expr, .. } => {
                        self.source(source);
                        self.template(expr);
                    }
                    Condition::Run(run) => self.run(run),
                    Condition::Probe(probe) => self.probe(probe),
                    Condition::Slo { name, .. } => self.read(name),
                }
            }
            Statement::Finding(finding) => {
                self.template(&finding.text);
                for (name, _) in &finding.evidence {
                    self.read(name);
                }
            }
            Statement::Probe(probe) => self.probe(probe),
            Statement::Slo(new) => {
                self.source(&new.source);
                match &new.events {
                    Events::Counters { good, total } => {
                        self.template(&good.0);
                        self.template(&total.0);
                    }
                    Events::Latency { histogram, .. } => self.template(&histogram.0),
                }
                self.bind(&new.name);
            }
            Statement::Show(name) => self.read(name),
            Statement::Findings
            | Statement::Window(_)
            | Statement::DryRun(_)
            | Statement::Replay(_)
            | Statement::Resume(_)
            | Statement::Journal => {}
        }
        if let Some(name) = &step.binding {
            self.bind(name);
        }
    }

    fn run(&mut self, run: &Run) {
        self.template(&run.command);
        for template in run.cwd.iter().chain(run.env.iter().map(|(_, value)| value)) {
            self.template(template);
        }
    }

    fn probe(&mut self, probe: &Probe) {
        self.template(&probe.url);
        for (_, value) in &probe.headers {
            self.template(value);
        }
    }

    fn source<S>(&mut self, source: &Option<(String, S)>) {
        if let Some((name, _)) = source {
            self.read(name);
        }
    }

    fn template(&mut self, template: &Template) {
        for part in &template.parts {
            if let Part::Var { name, .. } = part {
                self.read(name);
            }
        }
    }

    /// A name is read from before the cell unless the cell bound it first.
    fn read(&mut self, name: &str) {
        if !self.binds.iter().any(|b| b == name) && !self.reads.iter().any(|r| r == name) {
            self.reads.push(name.to_owned());
        }
    }

    fn bind(&mut self, name: &str) {
        if !self.binds.iter().any(|b| b == name) {
            self.binds.push(name.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CellNames;

    fn names(cell: &str) -> (Vec<&'static str>, Vec<&'static str>) {
        let found = CellNames::of(cell).expect("parses");
        let leak = |v: Vec<String>| v.into_iter().map(|s| &*s.leak()).collect();
        (leak(found.binds), leak(found.reads))
    }

    #[test]
    fn a_cell_reads_what_it_did_not_bind_first() {
        let cell = "param service = \"checkout\"\n\
                    errors = logs @app {service=\"{{service}}\"} |= \"{{needle}}\"\n\
                    up = query @prom up{job=\"{{job}}\"}\n\
                    finding high \"{{errors.count}} errors\" evidence errors, up, earlier\n\
                    check \"ok\": run curl {{url}}\n\
                    shown\n\
                    secret token from env:TOKEN\n\
                    source lk loki {{base}}";
        assert_eq!(
            names(cell),
            (
                vec!["service", "errors", "up", "token", "lk"],
                vec!["app", "needle", "prom", "job", "earlier", "url", "shown", "base"]
            )
        );
    }

    #[test]
    fn an_slo_binds_its_name_and_its_check_reads_it() {
        let cell = "slo api @prom objective 99% latency h{job=\"{{job}}\"} le 0.3\n\
                    check \"budget\": slo api\n\
                    check \"other\": slo elsewhere";
        assert_eq!(names(cell), (vec!["api"], vec!["prom", "job", "elsewhere"]));
    }

    #[test]
    fn a_binding_that_reads_its_own_name_reads_the_one_before() {
        assert_eq!(names("x = run echo {{x}}"), (vec!["x"], vec!["x"]));
    }

    #[test]
    fn unparsed_and_rust_cells_are_not_known() {
        assert_eq!(CellNames::of("frobnicate now"), None);
        assert_eq!(CellNames::of("%%rust\nlet x = 1;"), None);
    }
}
