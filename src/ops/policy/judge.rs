//! Judging a parsed command line: every simple command in it, through its wrappers, against
//! the always-denied forms, the policy's rules and the writes it makes. The most severe verdict
//! wins, and says why.

use super::parse::{self, Simple, Word};
use super::rules::{self, Rules};
use super::tools;
use super::unwrap::{self, Runs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Allowed,
    /// Changes things: runs only with the user's consent. Says why.
    NeedsConsent(String),
    /// Never runs. Says why, naming the rule.
    Denied(String),
}

impl Judgement {
    /// The judgement of a command whose leftovers stay running (`run --leave-running`) when
    /// `leaves`: what outlives its step changes the system, so it needs consent.
    pub fn leaving_running(self, leaves: bool) -> Judgement {
        match self {
            Judgement::Allowed if leaves => Judgement::NeedsConsent(
                "`--leave-running` leaves processes running after the step, which changes things"
                    .to_owned(),
            ),
            judgement => judgement,
        }
    }
}

/// Code handed to shells nested deeper than this is not looked into (it is opaque anyway).
const MAX_CODE_DEPTH: usize = 4;

pub(super) struct Judge<'p> {
    policy: &'p Rules,
    /// The working directory as far as the line tells (`cd /`), for `rm -rf *`.
    cwd: Option<String>,
    denied: Option<String>,
    consent: Option<String>,
    depth: usize,
}

impl<'p> Judge<'p> {
    pub fn new(policy: &'p Rules, cwd: Option<String>) -> Self {
        Judge {
            policy,
            cwd,
            denied: None,
            consent: None,
            depth: 0,
        }
    }

    pub fn verdict(self) -> Judgement {
        match (self.denied, self.consent) {
            (Some(why), _) => Judgement::Denied(why),
            (None, Some(why)) => Judgement::NeedsConsent(why),
            (None, None) => Judgement::Allowed,
        }
    }

    fn deny(&mut self, why: String) {
        self.denied.get_or_insert(why);
    }

    fn ask(&mut self, why: String) {
        self.consent.get_or_insert(why);
    }

    /// What cannot be judged: asked about, and denied where only listed commands may run.
    fn unknown(&mut self, why: String) {
        match self.policy.allow.is_empty() {
            true => self.ask(why),
            false => self.deny(format!(
                "{why}, and only what {} allows runs",
                self.policy.origin
            )),
        }
    }

    /// Variables set for the command (`--env`, `NAME=value`, `env NAME=value`).
    pub fn assigns<'a>(&mut self, names: impl IntoIterator<Item = &'a String>, place: &str) {
        for name in names {
            if rules::is_sensitive(name) {
                self.unknown(format!(
                    "assigning `{name}`{place} changes which programs run or what they load"
                ));
            }
        }
    }

    pub fn line(&mut self, line: &str) {
        match parse::commands(line) {
            Ok(commands) => commands.iter().for_each(|c| self.simple(c)),
            Err(why) => self.unknown(format!("the line is not understood: {}", why.0)),
        }
    }

    fn simple(&mut self, simple: &Simple) {
        let outer = place(&simple.inside, &[]);
        self.assigns(&simple.assigns, &outer);
        for target in &simple.writes {
            if !(target.literal && rules::is_sink(&target.text)) {
                self.ask(format!(
                    "a redirection{outer} writes to `{}`, which changes things",
                    target.text
                ));
            }
        }
        let unwrapped = unwrap::unwrap(&simple.words);
        let place = place(&simple.inside, &unwrapped.wrappers);
        self.assigns(&unwrapped.assigns, &place);
        match unwrapped.runs {
            Runs::Nothing => {}
            Runs::Program(words) => self.program(words, simple, &place),
            Runs::Shell(code) => self.code(&code, &place),
            Runs::Opaque {
                interpreter,
                why,
                code,
            } => {
                let words = normalized(interpreter);
                if self.denied_by_rules(&words, &place) {
                    return;
                }
                if let Some(code) = code {
                    // What the code holds can still be denied; nothing in it is allowed.
                    let mut inner = Judge::new(self.policy, self.cwd.clone());
                    inner.depth = self.depth + 1;
                    if inner.depth <= MAX_CODE_DEPTH {
                        inner.line(&code);
                    }
                    if let Some(denied) = inner.denied {
                        return self.deny(denied);
                    }
                }
                // Allowed only by a rule that names the interpreter; `*` does not vouch for
                // what the code does.
                let matching: Vec<&str> = (self.policy.allow.iter())
                    .filter(|rule| rule.matches(&words))
                    .filter_map(|rule| rule.first_word())
                    .collect();
                if matching.contains(&words[0].as_str()) {
                    return;
                }
                match matching.is_empty() {
                    true => self.unknown(format!("{why}{place}")),
                    false => self.ask(format!("{why}{place}")),
                }
            }
        }
    }

    /// Shell code a wrapper hands to a shell: judged as a line of its own.
    fn code(&mut self, code: &str, place: &str) {
        self.depth += 1;
        if self.depth > MAX_CODE_DEPTH {
            self.unknown(format!("shell code{place} is nested too deep to judge"));
        } else {
            self.line(code);
        }
        self.depth -= 1;
    }

    /// The deny rules and the always-denied forms; true when the command is denied.
    fn denied_by_rules(&mut self, words: &[String], place: &str) -> bool {
        let shown = shown(words);
        if words[0] == "rm" && rules::wipes_everything(&words[1..], self.cwd.as_deref()) {
            self.deny(format!(
                "`{shown}`{place} deletes everything under / or the home directory, which never runs"
            ));
            return true;
        }
        let policy = self.policy;
        if let Some((n, rule)) = policy
            .deny
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.matches(words))
        {
            self.deny(format!(
                "`{shown}`{place} is denied by rule {} of `deny` in {}: `{rule}`",
                n + 1,
                policy.origin
            ));
            return true;
        }
        false
    }

    fn program(&mut self, words: &[Word], simple: &Simple, place: &str) {
        if !words[0].literal {
            return self.unknown(format!(
                "the command name `{}`{place} is not a literal word, so what runs cannot be told",
                words[0].text
            ));
        }
        let written = words;
        let words = normalized(words);
        if simple.function.as_deref() == Some(words[0].as_str()) {
            return self.deny(format!(
                "the function `{}` calls itself (a fork bomb), which never runs",
                words[0]
            ));
        }
        if self.denied_by_rules(&words, place) {
            return;
        }
        let policy = self.policy;
        let shown = shown(&words);
        if !policy.allow.is_empty() && !policy.allow.iter().any(|r| r.matches(&words)) {
            return self.deny(format!(
                "`{shown}`{place} matches no allow rule of {}",
                policy.origin
            ));
        }
        if let Some(rule) = policy.mutating.iter().find(|r| r.matches(&words)) {
            let which = match &policy.mutating_origin {
                None => format!("default rule `{rule}`"),
                Some(origin) => format!("rule `{rule}` of {origin}"),
            };
            self.ask(format!("`{shown}`{place} changes things ({which})"));
        }
        self.effects(&words, written, place);
    }

    /// What a command does to the session's shell or the files, beside the rules.
    fn effects(&mut self, words: &[String], written: &[Word], place: &str) {
        match words[0].as_str() {
            "cd" | "pushd" => {
                self.cwd = match written.get(1) {
                    None => Some("~".to_owned()),
                    Some(dir) if dir.literal => rules::resolve(&dir.text, self.cwd.as_deref()),
                    Some(_) => None,
                };
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                let names: Vec<String> = words[1..]
                    .iter()
                    .filter_map(|w| w.split_once('=').map(|(name, _)| name.to_owned()))
                    .collect();
                self.assigns(&names, place);
            }
            "tee" => {
                for file in words[1..].iter().filter(|w| !w.starts_with('-')) {
                    if !rules::is_sink(file) {
                        self.ask(format!(
                            "`tee`{place} writes to `{file}`, which changes things"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The command's words as rules see them: its name by basename, tools in their parsed form.
fn normalized(words: &[Word]) -> Vec<String> {
    let mut texts: Vec<String> = words.iter().map(|w| w.text.clone()).collect();
    texts[0] = unwrap::base_name(&words[0]).to_owned();
    tools::normalize(texts)
}

/// A command as messages show it, cut short past a few words.
fn shown(words: &[String]) -> String {
    const MAX: usize = 8;
    let mut text = words[..words.len().min(MAX)].join(" ");
    if words.len() > MAX {
        text.push_str(" ...");
    }
    text
}

/// Where a command sits, for messages: " (run by `sudo`) inside `$(...)`".
fn place(inside: &[&str], wrappers: &[String]) -> String {
    let mut text = String::new();
    if !wrappers.is_empty() {
        let names: Vec<String> = wrappers.iter().map(|w| format!("`{w}`")).collect();
        text.push_str(&format!(" (run by {})", names.join(", ")));
    }
    for what in inside.iter().rev() {
        text.push_str(&format!(" inside {what}"));
    }
    text
}
