//! The default rules, the variables that change what runs, and how a rule matches a command.
//!
//! A rule is words; each matches one word of the command as a glob (`*`, `?`), except a word
//! that is only `*`, which matches any number of words. A rule matches a command that starts
//! with words matching it: `rm` matches `rm -rf x` (not `rmdir x`), `find * -delete` matches
//! `find . -name x -delete`. Commands of the tools in `tools.rs` are matched in their parsed
//! form, so `kubectl delete namespace *` also matches `kubectl --context x delete ns/prod`.

/// A policy's rules, each list as its file gives it.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Where the rules came from, to name in messages.
    pub origin: String,
    /// If given, only commands matching one of these run.
    pub allow: Vec<Rule>,
    /// Never run.
    pub deny: Vec<Rule>,
    /// Need consent.
    pub mutating: Vec<Rule>,
    /// Where `mutating` came from; `None` for the defaults.
    pub mutating_origin: Option<String>,
}

/// Commands that change things, asked about unless a policy file's `mutating` replaces them.
pub const DEFAULT_MUTATING: &[&str] = &[
    // Kubernetes and Helm
    "kubectl delete",
    "kubectl apply",
    "kubectl create",
    "kubectl replace",
    "kubectl patch",
    "kubectl edit",
    "kubectl scale",
    "kubectl autoscale",
    "kubectl rollout restart",
    "kubectl rollout undo",
    "kubectl rollout pause",
    "kubectl rollout resume",
    "kubectl drain",
    "kubectl cordon",
    "kubectl uncordon",
    "kubectl taint",
    "kubectl label",
    "kubectl annotate",
    "kubectl set",
    "kubectl exec",
    "kubectl cp",
    "helm install",
    "helm upgrade",
    "helm uninstall",
    "helm delete",
    "helm rollback",
    // Files
    "rm",
    "mv",
    "unlink",
    "truncate",
    "shred",
    "dd * of=*",
    "mkfs*",
    "wipefs",
    "chmod * -*R*",
    "chmod * --recursive",
    "chown * -*R*",
    "chown * --recursive",
    "sed * -i*",
    "sed * --in-place*",
    "find * -delete",
    "find * -exec",
    "find * -execdir",
    "find * -ok",
    "find * -okdir",
    "find * -fprint*",
    "find * -fls",
    // Processes, services, the machine
    "kill",
    "pkill",
    "killall",
    "reboot",
    "shutdown",
    "halt",
    "poweroff",
    "systemctl restart",
    "systemctl stop",
    "systemctl start",
    "systemctl reload",
    "systemctl disable",
    "systemctl enable",
    "systemctl mask",
    "systemctl kill",
    "systemctl isolate",
    "systemctl reboot",
    "systemctl poweroff",
    "service * restart",
    "service * stop",
    "service * start",
    "service * reload",
    "crontab * -*r*",
    "iptables",
    "ip6tables",
    "nft",
    // Cloud and infrastructure
    "terraform apply",
    "terraform destroy",
    "terraform import",
    "terraform taint",
    "terraform state rm",
    "terraform state mv",
    "terraform force-unlock",
    "aws * delete-*",
    "aws * terminate-*",
    "aws * put-*",
    "aws * update-*",
    "aws s3 rm",
    "aws s3 mv",
    "aws s3 rb",
    "gcloud * delete",
    "gcloud * update",
    "gcloud * resize",
    "docker rm",
    "docker rmi",
    "docker stop",
    "docker kill",
    "docker restart",
    "docker system prune",
    "docker container rm",
    "docker container stop",
    "docker container kill",
    "docker container prune",
    "docker image rm",
    "docker image prune",
    "docker volume rm",
    "docker volume prune",
    "docker network rm",
    // Source control
    "git push",
    "git reset * --hard",
    "git clean",
];

/// Variables that decide which programs run or what they load: assigning them needs consent.
const SENSITIVE_VARIABLES: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PERL5LIB",
    "PERL5OPT",
    "PERLLIB",
    "RUBYLIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_CONFIG_GLOBAL",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "SUDO_ASKPASS",
];

/// Where output may go without changing anything.
const SINKS: &[&str] = &["/dev/null", "/dev/stdout", "/dev/stderr"];

pub fn is_sensitive(variable: &str) -> bool {
    SENSITIVE_VARIABLES.contains(&variable)
        || variable.starts_with("LD_")
        || variable.starts_with("DYLD_")
}

pub fn is_sink(target: &str) -> bool {
    SINKS.contains(&target)
}

/// One rule, split into its words once: every rule meets every command judged.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    words: Vec<Pattern>,
}

#[derive(Debug, Clone)]
enum Pattern {
    /// `*` alone: any number of words.
    AnyWords,
    Literal(String),
    Glob(String),
}

impl Rule {
    pub fn new(text: &str) -> Rule {
        let words = (text.split_whitespace())
            .map(|word| match word {
                "*" => Pattern::AnyWords,
                glob if glob.contains(['*', '?']) => Pattern::Glob(glob.to_owned()),
                literal => Pattern::Literal(literal.to_owned()),
            })
            .collect();
        Rule {
            text: text.to_owned(),
            words,
        }
    }

    /// Its first word as written (the program it names, unless it is a glob).
    pub fn first_word(&self) -> Option<&str> {
        self.text.split_whitespace().next()
    }

    /// Whether it matches the command `words`.
    pub fn matches(&self, words: &[String]) -> bool {
        match_words(&self.words, words)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn match_words(patterns: &[Pattern], words: &[String]) -> bool {
    let Some((first, rest)) = patterns.split_first() else {
        return true;
    };
    let word_matches = |word: &String| match first {
        Pattern::Literal(literal) => literal == word,
        Pattern::Glob(glob) => crate::glob::matches(glob, word),
        Pattern::AnyWords => true,
    };
    match first {
        Pattern::AnyWords => (0..=words.len()).any(|skip| match_words(rest, &words[skip..])),
        _ => words.first().is_some_and(word_matches) && match_words(rest, &words[1..]),
    }
}

/// Where a path leads, lexically, from `cwd` (`None`: unknown), with `~` for the home
/// directory: `//usr/..` is `/`, `$HOME/` is `~`. `None` when it cannot be told.
pub fn resolve(path: &str, cwd: Option<&str>) -> Option<String> {
    let home = ["~", "$HOME", "${HOME}"]
        .iter()
        .find_map(|home| path.strip_prefix(home))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let full = match home {
        _ if path.starts_with('/') => path.to_owned(),
        Some(rest) => format!("~{rest}"),
        None => format!("{}/{path}", cwd?),
    };
    let (root, rest) = match full.strip_prefix('~') {
        Some(rest) => ("~", rest),
        None => ("", full.as_str()),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    Some(match (root, parts.is_empty()) {
        ("~", true) => "~".to_owned(),
        (root, _) => format!("{root}/{}", parts.join("/")),
    })
}

/// Whether `rm` with these arguments, run in `cwd`, deletes the root or the home directory
/// recursively, in any spelling: `-r -f`, `-fR`, `--recursive`, `"/"`, `//`, `/*`, `~`.
pub fn wipes_everything(args: &[String], cwd: Option<&str>) -> bool {
    let mut recursive = false;
    let mut targets = Vec::new();
    let mut options_end = false;
    for arg in args {
        if options_end || !arg.starts_with('-') || arg == "-" {
            targets.push(arg.as_str());
        } else if arg == "--" {
            options_end = true;
        } else if let Some(long) = arg.strip_prefix("--") {
            recursive |= long == "recursive";
        } else {
            recursive |= arg.contains(['r', 'R']);
        }
    }
    let vital = |place: &str| matches!(place, "/" | "/*" | "~" | "~/*");
    recursive
        && targets
            .iter()
            .any(|t| resolve(t, cwd).is_some_and(|place| vital(&place)))
}
