//! Which commands may run, and which change things and so need the user's consent.
//!
//! A policy is an optional TOML file (`.playbook/policy.toml` beside the notebook, or the file
//! `PLAYBOOK_POLICY` names):
//!
//! ```toml
//! deny = ["rm -rf /*", "kubectl delete namespace *"]   # never run
//! allow = ["kubectl get *", "df *", "uptime"]          # if given, only these run
//! mutating = ["kubectl delete *", "my-deploy-tool *"]   # need consent; replaces the defaults
//! ```
//!
//! Patterns are shell-style globs (`*`, `?`) matched against each simple command of a line (the
//! parts between `;`, `&&`, `||`, `|` and newlines), with runs of blanks folded. A pattern with no
//! `*` also matches the same words followed by arguments: `rm` matches `rm -rf x`, not `rmdir x`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Commands that change things, asked about unless a policy file says otherwise.
const DEFAULT_MUTATING: &[&str] = &[
    "kubectl delete",
    "kubectl apply",
    "kubectl create",
    "kubectl replace",
    "kubectl patch",
    "kubectl edit",
    "kubectl scale",
    "kubectl rollout restart",
    "kubectl rollout undo",
    "kubectl drain",
    "kubectl cordon",
    "kubectl uncordon",
    "kubectl taint",
    "kubectl label",
    "kubectl annotate",
    "kubectl set",
    "helm install",
    "helm upgrade",
    "helm uninstall",
    "helm rollback",
    "rm",
    "mv",
    "dd",
    "truncate",
    "shred",
    "mkfs*",
    "systemctl restart",
    "systemctl stop",
    "systemctl start",
    "systemctl reload",
    "systemctl disable",
    "systemctl kill",
    "service * restart",
    "service * stop",
    "reboot",
    "shutdown",
    "halt",
    "poweroff",
    "kill",
    "pkill",
    "killall",
    "terraform apply",
    "terraform destroy",
    "docker rm",
    "docker stop",
    "docker kill",
    "docker restart",
    "git push",
    "aws * delete*",
    "aws * terminate*",
    "gcloud * delete",
    "iptables",
    "nft",
];

/// Never run, whatever a policy file says: they destroy the machine they run on.
const ALWAYS_DENIED: &[&str] = &[
    "rm -rf /",
    "rm -rf /*",
    "rm -fr /",
    "rm -fr /*",
    ":(){ :|:& };:",
];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    mutating: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// Where the rules came from, to name in messages.
    origin: String,
    allow: Vec<String>,
    deny: Vec<String>,
    mutating: Vec<String>,
}

/// A policy file that cannot be used; commands do not run until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy file {}: {why}", path.display())]
    Read { path: PathBuf, why: std::io::Error },
    #[error("the policy file {origin} is not valid: {why}")]
    Invalid {
        origin: String,
        why: toml::de::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Allowed,
    /// Changes things: runs only with the user's consent. Holds the rule that said so.
    NeedsConsent(String),
    /// Never runs. Holds why, naming the rule.
    Denied(String),
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            origin: "the default policy".into(),
            allow: Vec::new(),
            deny: Vec::new(),
            mutating: DEFAULT_MUTATING.iter().map(|s| s.to_string()).collect(),
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
                if !beside.exists() {
                    return Ok(Policy::default());
                }
                beside
            }
        };
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
        let defaults = Policy::default();
        Ok(Policy {
            origin: origin.to_owned(),
            allow: file.allow,
            deny: file.deny,
            mutating: file.mutating.unwrap_or(defaults.mutating),
        })
    }

    pub fn judge(&self, command: &str) -> Judgement {
        let parts = simple_commands(command);
        for part in &parts {
            if let Some(rule) = ALWAYS_DENIED.iter().find(|r| matches(r, part)) {
                return Judgement::Denied(format!("`{part}` matches `{rule}`, which never runs"));
            }
            if let Some(rule) = self.deny.iter().find(|r| matches(r, part)) {
                return Judgement::Denied(format!(
                    "`{part}` matches the deny rule `{rule}` of {}",
                    self.origin
                ));
            }
            if !self.allow.is_empty() && !self.allow.iter().any(|r| matches(r, part)) {
                return Judgement::Denied(format!(
                    "`{part}` matches no allow rule of {}",
                    self.origin
                ));
            }
        }
        for part in &parts {
            if let Some(rule) = self.mutating.iter().find(|r| matches(r, part)) {
                return Judgement::NeedsConsent(format!(
                    "`{part}` changes things (rule `{rule}` of {})",
                    self.origin
                ));
            }
        }
        Judgement::Allowed
    }
}

fn matches(rule: &str, command: &str) -> bool {
    let rule = fold_blanks(rule);
    crate::glob::matches(&rule, command)
        || (!rule.contains('*') && crate::glob::matches(&format!("{rule} *"), command))
}

fn fold_blanks(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The simple commands of a shell line, roughly: split where the shell would start a new one.
fn simple_commands(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, ';' | '\n' | '|' | '&' | '(' | ')' | '`') => {
                // `&&`, `||` and a trailing `&` all end a command.
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                parts.push(std::mem::take(&mut current));
            }
            (None, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                parts.push(std::mem::take(&mut current));
            }
            (None, c) => current.push(c),
        }
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| fold_blanks(p))
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_ask_before_changes() {
        let policy = Policy::default();
        assert_eq!(policy.judge("kubectl get pods"), Judgement::Allowed);
        assert!(
            matches!(policy.judge("kubectl   delete pod x"), Judgement::NeedsConsent(r) if r.contains("kubectl delete"))
        );
        assert!(matches!(
            policy.judge("cd /tmp && rm -f x"),
            Judgement::NeedsConsent(_)
        ));
        assert!(matches!(
            policy.judge("echo $(systemctl restart nginx)"),
            Judgement::NeedsConsent(_)
        ));
        assert_eq!(policy.judge("rmdir x"), Judgement::Allowed);
        assert_eq!(policy.judge("echo 'rm -rf x'"), Judgement::Allowed);
        assert!(matches!(policy.judge("rm -rf /"), Judgement::Denied(_)));
    }

    #[test]
    fn a_file_can_allow_deny_and_redefine_mutating() {
        let policy = Policy::parse(
            r#"
            allow = ["kubectl get *", "df", "my-tool *"]
            deny = ["kubectl get secrets*"]
            mutating = ["my-tool apply"]
            "#,
            "policy.toml",
        )
        .unwrap();
        assert_eq!(policy.judge("df -h"), Judgement::Allowed);
        assert!(
            matches!(policy.judge("kubectl get secrets -A"), Judgement::Denied(r) if r.contains("deny rule `kubectl get secrets*` of policy.toml"))
        );
        assert!(
            matches!(policy.judge("uptime"), Judgement::Denied(r) if r.contains("no allow rule"))
        );
        assert!(matches!(
            policy.judge("my-tool apply x"),
            Judgement::NeedsConsent(_)
        ));
        let broken = Policy::parse("alow = []", "p.toml").unwrap_err();
        assert!(
            matches!(&broken, PolicyError::Invalid { origin, .. } if origin == "p.toml"),
            "{broken:?}"
        );
        assert!(broken.to_string().contains("p.toml"), "{broken}");
    }
}
