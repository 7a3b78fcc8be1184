//! `playbook`: the command line. Start here: `kernel` serves a notebook frontend through
//! [`jupyter::serve`] with [`kernel::PlaybookKernel`] as its language, and `run` executes a
//! notebook headless through [`headless::run`]; both drive the same engine.

use clap::{Args, Parser, Subcommand};
use playbook::journal::read::{self, Loaded};
use playbook::journal::verdict::{self, Trust, Verdict};
use playbook::ops::leftovers;
use playbook::{headless, jupyter, kernel, report};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "playbook",
    version,
    about = "A Jupyter kernel for operational playbooks: run commands, check conditions, record findings",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once, when the process starts: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the Jupyter protocol (what the kernelspec's argv runs)
    Kernel {
        /// The connection file written by the frontend
        #[arg(long, short = 'f', value_name = "FILE")]
        connection_file: PathBuf,
    },
    /// Write the kernelspec, with this binary's absolute path, where Jupyter finds it
    Install(InstallTarget),
    /// Execute every code cell of a notebook headless and write the executed notebook.
    /// Exit status: 0 when every cell and check passed, 1 when a check failed, 2 when a cell
    /// failed (or SIGINT stopped it), 143 on SIGTERM and 129 on SIGHUP, which stop the run as
    /// SIGINT does
    Run {
        /// The notebook to run
        notebook: PathBuf,
        /// Where to write the executed notebook [default: NAME.out.ipynb beside the input]
        #[arg(short, long, value_name = "OUT.ipynb")]
        output: Option<PathBuf>,
        /// Give parameter NAME this value instead of its `param` default (repeatable)
        #[arg(short = 'p', long = "param", value_name = "NAME=VALUE", value_parser = headless::parse_param)]
        params: Vec<(String, String)>,
        /// Show what each command would do; start none
        #[arg(long)]
        dry_run: bool,
        /// Consent in advance to every command that needs it (--confirm, or changing things by
        /// the policy); without it such commands fail, as nobody can be asked
        #[arg(long)]
        yes: bool,
        /// Record every step in this journal (JSON Lines)
        #[arg(long, value_name = "J")]
        journal: Option<PathBuf>,
        /// Answer every step from this journal: no server, no command run
        #[arg(long, value_name = "J", conflicts_with = "resume")]
        replay: Option<PathBuf>,
        /// Go on from where the run that recorded journal J stopped: the cells J holds as ended
        /// are answered from it, the rest run live and are recorded at the end of J
        #[arg(long, value_name = "J", conflicts_with_all = ["journal", "dry_run"])]
        resume: Option<PathBuf>,
        /// Run live again only the checks that failed in journal J, every other step answered
        /// from it; the exit status says whether they pass now
        #[arg(long, value_name = "J", conflicts_with_all = ["replay", "resume", "dry_run"])]
        rerun_failed: Option<PathBuf>,
        /// Write each check as a JUnit test case to FILE
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Trust this public key (hex, as in journal-key.pub), besides your own, when judging the
        /// --replay, --resume or --rerun-failed journal's signatures
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Run only the code cells tagged with one of these (comma-separated), and the cell
        /// tagged `parameters`
        #[arg(long, value_name = "TAG,...", value_delimiter = ',', value_parser = headless::parse_tag)]
        tags: Vec<String>,
        /// Run no code cell tagged with one of these (comma-separated)
        #[arg(long, value_name = "TAG,...", value_delimiter = ',', value_parser = headless::parse_tag)]
        skip_tags: Vec<String>,
        /// Start at this code cell: its number (the first code cell is 1), or the first cell
        /// with this tag; the cell tagged `parameters` still runs
        #[arg(long, value_name = "N|TAG", value_parser = headless::parse_tag)]
        from: Option<String>,
    },
    /// The investigation in a journal as a timeline: findings, checks, commands, queries; and
    /// what its signatures prove. Exit status: 0 signed and intact, 1 broken, 2 unreadable,
    /// 3 truncated, 4 unsigned, 5 signed by an unknown key
    Report {
        /// The journal (a .jsonl file)
        journal: PathBuf,
        #[arg(long, value_enum, default_value = "md")]
        format: report::Format,
        /// Trust this public key (hex, as in journal-key.pub), besides your own
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
}

#[derive(Args)]
#[group(multiple = false)]
struct InstallTarget {
    /// Into the user's Jupyter data directory (the default)
    #[arg(long)]
    user: bool,
    /// Into the active Python environment (virtualenv or conda)
    #[arg(long)]
    sys_prefix: bool,
    /// Into PREFIX/share/jupyter
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<PathBuf>,
}

const LOGOS: &[(&str, &[u8])] = &[
    (
        "logo-32x32.png",
        include_bytes!("../kernelspec/logo-32x32.png"),
    ),
    (
        "logo-64x64.png",
        include_bytes!("../kernelspec/logo-64x64.png"),
    ),
    ("logo-svg.svg", include_bytes!("../kernelspec/logo-svg.svg")),
];

fn main() -> ExitCode {
    // evcxr starts this binary again to run Rust cells: the hook takes over that process.
    #[cfg(feature = "rust-cells")]
    playbook::ops::rust::prepare_process();
    StderrLog::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Kernel { connection_file } => serve_kernel(&connection_file),
        Command::Install(target) => install(target),
        Command::Report {
            journal,
            format,
            public_key,
        } => match judged(&journal, public_key.as_deref()) {
            Ok((loaded, verdict)) => {
                print!("{}", report::render(&loaded, &verdict, format));
                // A CI job can gate on a journal signed by a key it trusts and intact.
                return ExitCode::from(verdict.exit_code());
            }
            Err(e) => Err(e),
        },
        Command::Run {
            notebook,
            output,
            params,
            dry_run,
            yes,
            journal,
            replay,
            resume,
            rerun_failed,
            junit,
            public_key,
            tags,
            skip_tags,
            from,
        } => {
            if public_key.is_some()
                && replay.is_none()
                && resume.is_none()
                && rerun_failed.is_none()
            {
                eprintln!("playbook: --public-key judges the journal of --replay, --resume or --rerun-failed, and none was given");
                return ExitCode::from(2);
            }
            let output = output.unwrap_or_else(|| headless::default_output(&notebook));
            let settings = headless::Settings {
                dry_run,
                yes,
                journal,
                replay,
                junit,
                public_key,
                selection: headless::Selection {
                    tags,
                    skip_tags,
                    from,
                    resumed: resume.is_some(),
                },
                resume,
                rerun_failed,
            };
            contain_leftovers();
            let run = headless::run(&notebook, &output, params, settings);
            match runtime().and_then(|rt| Ok(rt.block_on(run)?)) {
                Ok(verdict) => return ExitCode::from(verdict as u8),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("playbook: {message}");
            ExitCode::from(2)
        }
    }
}

/// A journal and what its signatures prove to this user.
fn judged(
    journal: &std::path::Path,
    public_key: Option<&std::path::Path>,
) -> Result<(Loaded, Verdict), Failure> {
    let trust = Trust::of(public_key)?;
    let loaded = read::load(journal)?;
    let verdict = verdict::judge(&loaded, &trust);
    Ok((loaded, verdict))
}

/// One thread serves the protocol and runs the steps: what takes long (PromQL evaluation, loading
/// a metrics file, reading a journal, a command) runs on a thread of its own or waits on I/O, so
/// heartbeats and control are answered meanwhile; and a kernel that sits idle most of the day
/// should hold as little as it can.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}").into())
}

/// Why a subcommand failed, as the one line `playbook` prints before exiting with 2.
type Failure = Box<dyn std::error::Error>;

fn serve_kernel(connection_file: &std::path::Path) -> Result<(), Failure> {
    let info = jupyter::ConnectionInfo::read(connection_file)?;
    contain_leftovers();
    let limits = wire_limits()?;
    let kernel = kernel::PlaybookKernel::in_working_directory();
    let served = runtime()?.block_on(async {
        let served = jupyter::serve(&info, limits, &kernel).await;
        // Shut down (by request or SIGTERM): nothing a command started outlives the kernel.
        leftovers::stop().await;
        served
    });
    Ok(served?)
}

/// What commands leave running stays this process's, to be stopped when their step ends.
fn contain_leftovers() {
    if let Err(e) = leftovers::become_subreaper() {
        log::warn!("cannot become a subreaper ({e}): what commands leave running may escape");
    }
}

/// The environment variable that sets the largest frame or message the kernel accepts.
const MAX_MESSAGE_BYTES_VAR: &str = "PLAYBOOK_MAX_MESSAGE_BYTES";

/// A value of `PLAYBOOK_MAX_MESSAGE_BYTES` that is not a size.
#[derive(Debug, thiserror::Error)]
#[error("{MAX_MESSAGE_BYTES_VAR}={value:?} is not a number of bytes from 1 up")]
struct MaxMessageBytesError {
    value: String,
}

fn wire_limits() -> Result<jupyter::WireLimits, MaxMessageBytesError> {
    let Ok(value) = std::env::var(MAX_MESSAGE_BYTES_VAR) else {
        return Ok(jupyter::WireLimits::default());
    };
    match value.trim().parse::<u64>() {
        Ok(max_message_bytes) if max_message_bytes > 0 => {
            Ok(jupyter::WireLimits { max_message_bytes })
        }
        _ => Err(MaxMessageBytesError { value }),
    }
}

fn install(target: InstallTarget) -> Result<(), Failure> {
    use jupyter::kernelspec::{KernelSpec, Location};
    let location = match (target.prefix, target.sys_prefix) {
        (Some(prefix), _) => Location::Prefix(prefix),
        (None, true) => Location::SysPrefix,
        (None, false) => Location::User,
    };
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find this binary's own path: {e}"))?;
    let spec = KernelSpec {
        name: "playbook",
        display_name: "Playbook",
        language: "playbook",
        argv: vec![
            exe.display().to_string(),
            "kernel".into(),
            "--connection-file".into(),
            "{connection_file}".into(),
        ],
        logos: LOGOS,
    };
    let dir = spec.install(&location)?;
    println!("installed the playbook kernelspec in {}", dir.display());
    Ok(())
}

/// Log lines on stderr, where Jupyter shows a kernel's log; `PLAYBOOK_LOG=debug` says more.
struct StderrLog;

impl StderrLog {
    fn init() {
        let level = match std::env::var("PLAYBOOK_LOG").as_deref() {
            Ok("debug") => log::LevelFilter::Debug,
            Ok("info") => log::LevelFilter::Info,
            Ok("error") => log::LevelFilter::Error,
            _ => log::LevelFilter::Warn,
        };
        static LOGGER: StderrLog = StderrLog;
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(level);
        }
    }
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level() && metadata.target().starts_with("playbook")
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("[playbook {}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}
