//! What a command runs. Wrappers (`env`, `sudo`, `timeout 5`, `xargs`...) are looked through to
//! the command they start; code handed to a shell or an interpreter is named as such, since the
//! policy cannot see what it will do.

use super::parse::Word;

/// What a command line's simple command comes down to, once its wrappers are removed.
#[derive(Debug)]
pub enum Runs<'a> {
    /// A program and its arguments (`words[0]` names it).
    Program(&'a [Word]),
    /// Shell code in plain sight, judged as a line: what a wrapper hands to a shell (`su -c`,
    /// `ssh HOST CMD`, `watch`), and what `trap` and `alias` keep for later.
    Shell(String),
    /// Code the policy cannot read. `code` is shell code when there is some to look into
    /// (`sh -c`, `eval`): what it holds can still be denied, never allowed.
    Opaque {
        interpreter: &'a [Word],
        why: String,
        code: Option<String>,
    },
    /// Nothing runs (`command -v x`, `env` alone, `ssh HOST` with no command).
    Nothing,
}

#[derive(Debug)]
pub struct Unwrapped<'a> {
    /// The wrappers looked through, outermost first.
    pub wrappers: Vec<String>,
    /// Variables the wrappers set (`env NAME=value cmd`).
    pub assigns: Vec<String>,
    pub runs: Runs<'a>,
}

/// A command that runs another: where, in its arguments, that command starts.
struct Wrapper {
    names: &'static [&'static str],
    /// Options whose value is the next word (or the rest of a short option cluster).
    takes_value: &'static [&'static str],
    /// Options whose value is shell code (`su -c CMD`, `flock -c CMD`).
    code: &'static [&'static str],
    /// Options after which nothing runs (`command -v`, `sudo -l`).
    inert: &'static [&'static str],
    /// Operands before the command (`timeout DURATION`, `ssh HOST`).
    operands: usize,
    /// The command and its arguments are joined and read by a shell (`ssh`, `watch`).
    joined: bool,
}

const fn wrapper(names: &'static [&'static str], takes_value: &'static [&'static str]) -> Wrapper {
    Wrapper {
        names,
        takes_value,
        code: &[],
        inert: &[],
        operands: 0,
        joined: false,
    }
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        code: &["-S", "--split-string"],
        ..wrapper(&["env"], &["-u", "--unset", "-C", "--chdir"])
    },
    Wrapper {
        inert: &[
            "-l",
            "--list",
            "-v",
            "--validate",
            "-K",
            "--remove-timestamp",
        ],
        ..wrapper(
            &["sudo"],
            &[
                "-u",
                "--user",
                "-g",
                "--group",
                "-h",
                "--host",
                "-p",
                "--prompt",
                "-C",
                "--close-from",
                "-D",
                "--chdir",
                "-r",
                "--role",
                "-t",
                "--type",
                "-U",
                "--other-user",
                "-T",
                "--command-timeout",
                "-R",
                "--chroot",
            ],
        )
    },
    wrapper(&["doas"], &["-u", "-C"]),
    Wrapper {
        code: &["-c", "--command", "--session-command"],
        ..wrapper(
            &["su"],
            &["-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w"],
        )
    },
    wrapper(
        &["xargs"],
        &[
            "-a",
            "--arg-file",
            "-d",
            "--delimiter",
            "-E",
            "-I",
            "-L",
            "--max-lines",
            "-n",
            "--max-args",
            "-P",
            "--max-procs",
            "-s",
            "--max-chars",
            "--process-slot-var",
        ],
    ),
    Wrapper {
        inert: &["-v", "-V"],
        ..wrapper(&["command"], &[])
    },
    wrapper(&["exec"], &["-a"]),
    wrapper(&["builtin", "nohup"], &[]),
    wrapper(&["nice"], &["-n", "--adjustment"]),
    Wrapper {
        inert: &["-p", "-P", "-u", "--pid", "--pgid", "--uid"],
        ..wrapper(&["ionice"], &["-c", "--class", "-n", "--classdata"])
    },
    Wrapper {
        operands: 1,
        ..wrapper(&["timeout"], &["-k", "--kill-after", "-s", "--signal"])
    },
    wrapper(&["setsid"], &[]),
    wrapper(
        &["stdbuf"],
        &["-i", "--input", "-o", "--output", "-e", "--error"],
    ),
    wrapper(&["time"], &["-f", "--format", "-o", "--output"]),
    Wrapper {
        joined: true,
        ..wrapper(&["watch"], &["-n", "--interval", "-q", "--equexit"])
    },
    Wrapper {
        operands: 1,
        ..wrapper(&["chroot"], &[])
    },
    Wrapper {
        code: &["-c", "--command"],
        operands: 1,
        ..wrapper(
            &["flock"],
            &["-w", "--wait", "--timeout", "-E", "--conflict-exit-code"],
        )
    },
    wrapper(
        &["nsenter"],
        &["-t", "--target", "-S", "--setuid", "-G", "--setgid"],
    ),
    Wrapper {
        operands: 1,
        joined: true,
        ..wrapper(
            &["ssh"],
            &[
                "-B", "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O",
                "-o", "-p", "-Q", "-R", "-S", "-W", "-w",
            ],
        )
    },
];

/// Shells: with `-c` their code is the first operand; with no operand they read code from
/// their input. Either way the policy cannot see it.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "fish", "csh", "tcsh",
    "busybox",
];

/// Interpreters and the options that hand them code to run.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("pwsh", &["-c", "-Command"]),
];

/// Commands whose arguments are code for the shell that runs them.
const SHELL_CODE: &[&str] = &["eval"];

const AWKS: &[&str] = &["awk", "gawk", "mawk", "nawk"];

/// The name a command is known by: its basename, so `/bin/rm` is `rm`.
pub fn base_name(word: &Word) -> &str {
    word.text.rsplit('/').next().unwrap_or(&word.text)
}

/// Looks through the wrappers of a command (`words` from its name on).
pub fn unwrap(mut words: &[Word]) -> Unwrapped<'_> {
    let mut wrappers = Vec::new();
    let mut assigns = Vec::new();
    loop {
        let Some(first) = words.first() else {
            return Unwrapped {
                wrappers,
                assigns,
                runs: Runs::Nothing,
            };
        };
        let name = base_name(first);
        let Some(wrapper) = WRAPPERS.iter().find(|w| w.names.contains(&name)) else {
            let runs = if first.literal {
                interpreter(name, words)
            } else {
                Runs::Program(words)
            };
            return Unwrapped {
                wrappers,
                assigns,
                runs,
            };
        };
        wrappers.push(name.to_owned());
        let takes_value = [wrapper.takes_value, wrapper.code].concat();
        let scan = options(&words[1..], &takes_value);
        // `flock FILE -c CMD`, `su - root -c CMD`: the code may follow an operand.
        let code = words[1..]
            .iter()
            .position(|w| wrapper.code.contains(&w.text.as_str()))
            .and_then(|at| words.get(at + 2));
        if let Some(code) = scan
            .value_of(wrapper.code)
            .or(code.map(|w| w.text.as_str()))
        {
            let runs = Runs::Shell(code.to_owned());
            return Unwrapped {
                wrappers,
                assigns,
                runs,
            };
        }
        let mut rest = &words[1 + scan.end..];
        if name == "env" {
            while let Some((name, _)) = rest.first().and_then(|w| w.text.split_once('=')) {
                assigns.push(name.to_owned());
                rest = &rest[1..];
            }
        }
        let rest = rest.get(wrapper.operands..).unwrap_or_default();
        if scan.has(wrapper.inert) || rest.is_empty() {
            return Unwrapped {
                wrappers,
                assigns,
                runs: Runs::Nothing,
            };
        }
        if wrapper.joined {
            let code = rest.iter().map(|w| w.text.as_str()).collect::<Vec<_>>();
            return Unwrapped {
                wrappers,
                assigns,
                runs: Runs::Shell(code.join(" ")),
            };
        }
        words = rest;
    }
}

/// A program that runs code the policy cannot read, or else the program itself.
fn interpreter<'a>(name: &str, words: &'a [Word]) -> Runs<'a> {
    let opaque = |why: String, code: Option<String>| Runs::Opaque {
        interpreter: words,
        why,
        code,
    };
    let args = &words[1..];
    if SHELLS.contains(&name) {
        let scan = options(args, &["-o", "+o", "-O", "+O"]);
        let operand = args.get(scan.end).map(|w| w.text.clone());
        if scan.short_flag('c') {
            return opaque(
                format!("`{name} -c` runs code the policy cannot judge"),
                operand,
            );
        }
        if operand.is_none() {
            return opaque(
                format!("`{name}` reads code from its input, which the policy cannot see"),
                None,
            );
        }
    }
    if SHELL_CODE.contains(&name) {
        let code = args.iter().map(|w| w.text.as_str()).collect::<Vec<_>>();
        return opaque(
            format!("`{name}` runs code the policy cannot judge"),
            Some(code.join(" ")),
        );
    }
    // `trap CODE SIGNAL...`, `alias NAME=CODE...`: the code is a literal, to judge as it is.
    let later: Vec<&str> = match name {
        "trap" => args.first().map(|w| w.text.as_str()).into_iter().collect(),
        "alias" => args
            .iter()
            .filter_map(|w| w.text.split_once('='))
            .map(|(_, code)| code)
            .collect(),
        _ => vec![],
    };
    if !later.is_empty() {
        if args.iter().any(|w| !w.literal) {
            return opaque(format!("`{name}` keeps code the policy cannot read"), None);
        }
        return Runs::Shell(later.join("\n"));
    }
    if matches!(name, "source" | ".") {
        return opaque(format!("`{name}` runs a file of code in the shell"), None);
    }
    let family = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if let Some((_, code)) = INTERPRETERS.iter().find(|(n, _)| *n == family) {
        if args.iter().any(|w| {
            code.iter()
                .any(|c| w.text == *c || (c.len() == 2 && w.text.starts_with(c)))
        }) {
            return opaque(
                format!("`{name}` runs code given on its command line"),
                None,
            );
        }
    }
    if AWKS.contains(&name) {
        let scan = options(
            args,
            &["-F", "-v", "-f", "-e", "-i", "-l", "--file", "--source"],
        );
        if scan.value_of(&["-f", "--file", "-e", "--source"]).is_some() {
            return opaque(
                format!("`{name}` runs a program the policy cannot see"),
                None,
            );
        }
        let program = args.get(scan.end).map_or("", |w| w.text.as_str());
        if program.contains("system") || program.contains('|') {
            return opaque(
                format!("the `{name}` program starts commands (`system` or a pipe)"),
                None,
            );
        }
    }
    Runs::Program(words)
}

/// The options at the start of some arguments.
struct Scan<'a> {
    /// Each option with its value, if it takes one.
    found: Vec<(String, Option<&'a str>)>,
    /// Where the first operand is.
    end: usize,
}

impl Scan<'_> {
    fn value_of(&self, names: &[&str]) -> Option<&str> {
        self.found
            .iter()
            .find(|(o, _)| names.contains(&o.as_str()))
            .and_then(|(_, v)| *v)
    }

    fn has(&self, names: &[&str]) -> bool {
        self.found.iter().any(|(o, _)| names.contains(&o.as_str()))
    }

    fn short_flag(&self, flag: char) -> bool {
        self.found.iter().any(|(o, _)| o == &format!("-{flag}"))
    }
}

/// Reads options until the first operand or `--`: long options (`--name value` when listed in
/// `takes_value`, else `--name[=value]`) and clusters of short ones (`-iu root`, `-n10`).
fn options<'a>(args: &'a [Word], takes_value: &[&str]) -> Scan<'a> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let text = word.text.as_str();
        i += 1;
        if text == "--" {
            break;
        }
        if text.len() < 2 || !(text.starts_with('-') || text.starts_with('+')) {
            i -= 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => found.push((format!("--{name}"), Some(value))),
                None if takes_value.contains(&text) => {
                    found.push((text.to_owned(), args.get(i).map(|w| w.text.as_str())));
                    i += 1;
                }
                None => found.push((text.to_owned(), None)),
            }
            continue;
        }
        let sign = &text[..1];
        for (at, flag) in text.char_indices().skip(1) {
            let option = format!("{sign}{flag}");
            if !takes_value.contains(&option.as_str()) {
                found.push((option, None));
                continue;
            }
            let attached = &text[at + flag.len_utf8()..];
            let value = if attached.is_empty() {
                i += 1;
                args.get(i - 1).map(|w| w.text.as_str())
            } else {
                Some(attached)
            };
            found.push((option, value));
            break;
        }
    }
    Scan {
        found,
        end: i.min(args.len()),
    }
}
