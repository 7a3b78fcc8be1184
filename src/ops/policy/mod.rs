//! Which commands may run, and which change things and so need the user's consent.
//!
//! A policy is an optional TOML file (`.playbook/policy.toml` beside the notebook, or the file
//! `PLAYBOOK_POLICY` names):
//!
//! ```toml
//! deny = ["kubectl delete namespace *"]                 # never run
//! allow = ["kubectl get *", "df", "uptime"]            # if given, only these run
//! mutating = ["kubectl delete *", "my-deploy-tool *"]   # need consent; replaces the defaults
//! ```
//!
//! A command line is parsed as `sh` reads it (`parse`), and every simple command in it is
//! judged (`judge`) after its wrappers are looked through (`unwrap`), in the parsed form of its
//! tool (`tools`), against the rules (`rules`, which also says how a rule matches). What cannot
//! be parsed or judged is not run without consent, and never under an allow list.

mod judge;
mod parse;
pub mod quote;
mod rules;
#[cfg(test)]
mod tests;
mod tools;
mod unwrap;

pub use judge::Judgement;
use rules::{Rule, Rules};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    mutating: Option<Vec<String>>,
}

/// The rules commands are judged by (see `rules`).
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Rules,
}

/// A policy file that cannot be used; commands do not run until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy file {}: {why}", path.display())]
    Read { path: PathBuf, why: std::io::Error },
    #[error("the policy file {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("the policy file {origin} is not valid: {why}")]
    Invalid {
        origin: String,
        why: toml::de::Error,
    },
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Rules {
                origin: "the default policy".into(),
                allow: Vec::new(),
                deny: Vec::new(),
                mutating: rules::DEFAULT_MUTATING
                    .iter()
                    .map(|s| Rule::new(s))
                    .collect(),
                mutating_origin: None,
            },
        }
    }
}

impl Policy {
    /// The policy for playbooks in `dir`: `PLAYBOOK_POLICY`, else `dir/.playbook/policy.toml`,
    /// else the defaults.
    pub fn find(dir: &Path) -> Result<Policy, PolicyError> {
        let path = match std::env::var_os("PLAYBOOK_POLICY") {
            Some(path) => PathBuf::from(path),
            None => {
                let beside = dir.join(".playbook").join("policy.toml");
                // Only nothing at all there means no policy: a dangling link is an error.
                if std::fs::symlink_metadata(&beside).is_err() {
                    return Ok(Policy::default());
                }
                beside
            }
        };
        match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => return Err(PolicyError::NotAFile { path }),
            Err(why) => return Err(PolicyError::Read { path, why }),
            Ok(_) => {}
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(why) => return Err(PolicyError::Read { path, why }),
        };
        Policy::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|why| PolicyError::Invalid {
            origin: origin.to_owned(),
            why,
        })?;
        let defaults = Policy::default().rules;
        Ok(Policy {
            rules: Rules {
                origin: origin.to_owned(),
                allow: compiled(&file.allow),
                deny: compiled(&file.deny),
                mutating_origin: file.mutating.as_ref().map(|_| origin.to_owned()),
                mutating: match &file.mutating {
                    Some(rules) => compiled(rules),
                    None => defaults.mutating,
                },
            },
        })
    }

    /// Judges `command` as `sh -c` would run it, with the variables `env` added and in `cwd`.
    pub fn judge(&self, command: &str, env: &[(String, String)], cwd: Option<&Path>) -> Judgement {
        let cwd = cwd.and_then(|dir| rules::resolve(&dir.to_string_lossy(), None));
        let mut judge = judge::Judge::new(&self.rules, cwd);
        judge.assigns(env.iter().map(|(name, _)| name), " (--env)");
        judge.line(command);
        judge.verdict()
    }
}

fn compiled(rules: &[String]) -> Vec<Rule> {
    rules.iter().map(|rule| Rule::new(rule)).collect()
}
