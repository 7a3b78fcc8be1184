//! The engine without Jupyter or Python: statements, binding, interpolation, consent, dry run,
//! the journal and replay, driven through `Engine::execute` with fake commands, probes and clock
//! (so that every call can be counted), the real embedded metrics source over the incident
//! fixture, and a sink that collects what a frontend would show.

use playbook::engine::error::{CellError, ErrorKind};
use playbook::engine::sink::OutputSink;
use playbook::engine::stack::{LiveSources, World};
use playbook::engine::{Engine, Options};
use playbook::journal::replay::Recording;
use playbook::journal::verdict::Trust;
use playbook::ops::clock::Clock;
use playbook::ops::command::{
    CommandError, CommandResult, CommandRunner, CommandSpec, Exit, Leftovers, Stream,
};
use playbook::ops::probe::{ProbeResult, ProbeSpec, Prober};
use playbook::ops::rust::NotBuilt;
use playbook::ops::{Io, NotRecorded};
use playbook::render::Bundle;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// 2026-11-20T12:00:00Z: the end of the incident in the fixture.
const NOW: f64 = 1_795_176_000.0;

/// Runs nothing: records each command it is asked to run and answers `echo`-like.
#[derive(Default)]
struct FakeShell {
    ran: RefCell<Vec<CommandSpec>>,
}

#[async_trait::async_trait(?Send)]
impl CommandRunner for FakeShell {
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError> {
        let output = io.output;
        // Stands for a bug inside an op: the engine must contain it.
        assert_ne!(spec.command, "panic", "the fake shell was asked to fail");
        self.ran.borrow_mut().push(spec.clone());
        let stdout = format!("{}\n", spec.command.strip_prefix("echo ").unwrap_or(""));
        output(Stream::Stdout, stdout.clone());
        let code = if spec.command == "false" { 1 } else { 0 };
        // Each job sent to the background is left running.
        let jobs = spec
            .command
            .split_whitespace()
            .filter(|w| *w == "&")
            .count();
        Ok(CommandResult {
            command: spec.command.clone(),
            exit: Exit::Code(code),
            duration: Duration::from_millis(3),
            stdout,
            stderr: String::new(),
            truncated: false,
            leftovers: if spec.leave_running {
                Leftovers::LeftRunning(jobs)
            } else {
                Leftovers::Stopped(jobs)
            },
        })
    }
}

/// Answers every probe with 200, or 503 for URLs that say `down`.
#[derive(Default)]
struct FakeProber {
    probed: RefCell<Vec<String>>,
}

#[async_trait::async_trait(?Send)]
impl Prober for FakeProber {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, NotRecorded> {
        self.probed.borrow_mut().push(spec.url.clone());
        let status = if spec.url.contains("down") { 503 } else { 200 };
        Ok(ProbeResult {
            url: spec.url.clone(),
            status: Some(status),
            latency: Duration::from_millis(12),
            body_bytes: 2,
            cert_days_left: None,
            passed: status == 200,
            reason: format!("{status} in 12 ms"),
        })
    }
}

/// A clock that moves one second each time it is read.
struct FakeClock(RefCell<f64>);

impl Clock for FakeClock {
    fn now(&self) -> f64 {
        let now = *self.0.borrow();
        *self.0.borrow_mut() += 1.0;
        now
    }
}

/// What a frontend would have shown, and the answers its user gives when asked.
#[derive(Default)]
struct Screen {
    shown: RefCell<Vec<String>>,
    asked: RefCell<Vec<String>>,
    /// `None` once empty: nobody can answer (as in a headless run).
    answers: RefCell<VecDeque<String>>,
    /// The user answers only once this is notified, when given.
    slow: Option<Rc<tokio::sync::Notify>>,
}

impl Screen {
    fn answering(answers: &[&str]) -> Screen {
        Screen {
            answers: RefCell::new(answers.iter().map(|a| a.to_string()).collect()),
            ..Screen::default()
        }
    }

    fn text(&self) -> String {
        self.shown.borrow().join("\n")
    }

    fn show(&self, bundle: &Bundle) {
        self.shown
            .borrow_mut()
            .push(bundle.get("text/plain").unwrap_or_default().to_owned());
    }
}

#[async_trait::async_trait(?Send)]
impl OutputSink for Screen {
    fn stream(&self, _stream: Stream, text: String) {
        self.shown.borrow_mut().push(text);
    }
    fn display(&self, bundle: Bundle, _id: Option<&str>) {
        self.show(&bundle);
    }
    fn update_display(&self, bundle: Bundle, _id: &str) {
        self.show(&bundle);
    }
    fn result(&self, bundle: Bundle) {
        self.show(&bundle);
    }
    fn error(&self, error: &CellError) {
        self.shown
            .borrow_mut()
            .push(format!("{}: {}", error.ename(), error.evalue()));
    }
    async fn ask(&self, prompt: &str) -> Option<String> {
        self.asked.borrow_mut().push(prompt.to_owned());
        if let Some(slow) = &self.slow {
            slow.notified().await;
        }
        self.answers.borrow_mut().pop_front()
    }
}

/// The fakes an engine was given, to count what reached them.
struct Fakes {
    shell: Rc<FakeShell>,
    prober: Rc<FakeProber>,
}

fn world() -> (World, Fakes) {
    let shell = Rc::new(FakeShell::default());
    let prober = Rc::new(FakeProber::default());
    let world = World {
        commands: shell.clone(),
        prober: prober.clone(),
        clock: Rc::new(FakeClock(RefCell::new(NOW))),
        rust: Rc::new(NotBuilt),
        sources: Rc::new(LiveSources {
            base_dir: PathBuf::from("tests/fixtures"),
        }),
    };
    (world, Fakes { shell, prober })
}

fn engine_with(options: Options) -> (Engine, Fakes) {
    let (world, fakes) = world();
    let engine = Engine::new(Options {
        world: Some(world),
        ..options
    })
    .expect("the engine starts");
    (engine, fakes)
}

fn engine() -> (Engine, Fakes) {
    engine_with(Options::default())
}

/// Runs a cell; what it showed, and its error.
async fn run(engine: &mut Engine, cell: &str) -> (String, Option<CellError>) {
    run_on(engine, cell, &Screen::default()).await
}

/// Runs a cell that must succeed; what it showed.
async fn run_ok(engine: &mut Engine, cell: &str) -> String {
    let (shown, error) = run(engine, cell).await;
    assert!(error.is_none(), "{cell}: {error:?}");
    shown
}

async fn run_on(engine: &mut Engine, cell: &str, screen: &Screen) -> (String, Option<CellError>) {
    let result = engine
        .execute(cell, screen, &CancellationToken::new())
        .await;
    (screen.text(), result.err())
}

fn assert_shows(shown: &str, expected: &str) {
    assert!(shown.contains(expected), "{expected:?} is not in:\n{shown}");
}

fn temp_journal(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("playbook-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

fn commands(fakes: &Fakes) -> Vec<String> {
    fakes
        .shell
        .ran
        .borrow()
        .iter()
        .map(|s| s.command.clone())
        .collect()
}

#[tokio::test]
async fn params_fill_templates_and_results_bind_to_names() {
    let (mut engine, fakes) = engine();
    run_ok(
        &mut engine,
        "param service = \"checkout\"\nout = run echo {{service}} is slow",
    )
    .await;
    assert_eq!(commands(&fakes), ["echo checkout is slow"]);
    let (shown, _) = run(&mut engine, "out").await;
    assert_shows(&shown, "checkout is slow");
    let value = engine.evaluate("out").await.expect("out is bound");
    assert!(value.get("text/plain").unwrap().contains("exit 0"));
}

#[tokio::test]
async fn overrides_replace_param_defaults_and_unused_ones_are_reported() {
    let (mut engine, fakes) = engine_with(Options {
        overrides: vec![
            ("service".into(), "cart".into()),
            ("typo".into(), "x".into()),
        ],
        ..Options::default()
    });
    run(
        &mut engine,
        "param service = checkout\nrun echo {{service}}",
    )
    .await;
    assert_eq!(commands(&fakes), ["echo cart"]);
    assert_eq!(engine.investigation().pending_overrides(), ["typo"]);
}

#[tokio::test]
async fn a_cell_with_a_parse_error_runs_none_of_its_steps() {
    let (mut engine, fakes) = engine();
    let (_, error) = run(&mut engine, "run echo one\nrnu echo two").await;
    let error = error.expect("a parse error");
    assert_eq!(error.kind, ErrorKind::ParseError);
    assert_eq!(error.span.map(|s| (s.line, s.column)), Some((2, 1)));
    assert!(
        error.message.contains("did you mean `run`"),
        "{}",
        error.message
    );
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn an_unknown_name_is_an_error_at_its_place_and_later_steps_do_not_run() {
    let (mut engine, fakes) = engine();
    let (_, error) = run(&mut engine, "run echo {{nope}}\nrun echo after").await;
    let error = error.expect("an unknown name");
    assert_eq!(error.kind, ErrorKind::UnknownName);
    assert_eq!(error.span.map(|s| (s.line, s.column)), Some((1, 10)));
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn a_command_that_changes_things_runs_only_when_the_user_says_yes() {
    let (mut engine, fakes) = engine();
    let refused = Screen::answering(&["n"]);
    let (_, error) = run_on(&mut engine, "run rm -r /tmp/x", &refused).await;
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::ConsentRequired));
    assert_eq!(refused.asked.borrow().len(), 1);
    assert!(commands(&fakes).is_empty(), "a refused command never runs");

    let agreed = Screen::answering(&["y"]);
    let (_, error) = run_on(&mut engine, "run rm -r /tmp/x", &agreed).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(commands(&fakes), ["rm -r /tmp/x"], "it runs once");

    // Nobody to ask: it fails closed.
    let (_, error) = run(&mut engine, "run --confirm echo hi").await;
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::ConsentRequired));
    assert_eq!(commands(&fakes).len(), 1);
}

#[tokio::test]
async fn consent_given_in_advance_is_said_and_asks_nobody() {
    let (mut engine, fakes) = engine_with(Options {
        approve_all: true,
        ..Options::default()
    });
    let screen = Screen::default();
    let (shown, error) = run_on(&mut engine, "run --confirm echo hi", &screen).await;
    assert!(error.is_none(), "{error:?}");
    assert_shows(&shown, "approved in advance (--yes)");
    assert!(screen.asked.borrow().is_empty());
    assert_eq!(commands(&fakes), ["echo hi"]);
}

#[tokio::test]
async fn denied_commands_never_start_even_with_consent_in_advance() {
    let (mut engine, fakes) = engine_with(Options {
        approve_all: true,
        ..Options::default()
    });
    let (_, error) = run(&mut engine, "run rm -rf /").await;
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::CommandDenied));
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn a_dry_run_starts_nothing_and_asks_nothing() {
    let (mut engine, fakes) = engine();
    let screen = Screen::default();
    let (shown, error) = run_on(
        &mut engine,
        "dry-run on\nrun rm -r /tmp/x\nr = run --confirm echo hi",
        &screen,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_shows(&shown, "would run `rm -r /tmp/x`");
    assert!(screen.asked.borrow().is_empty());
    assert!(commands(&fakes).is_empty());
    run(&mut engine, "dry-run off\nrun echo live").await;
    assert_eq!(commands(&fakes), ["echo live"]);
}

#[tokio::test]
async fn a_check_fails_on_its_condition_and_the_engine_remembers_it() {
    let (mut engine, fakes) = engine();
    let (shown, error) = run(
        &mut engine,
        concat!(
            "source m file incident.om\n",
            "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z\n",
            "check \"checkout 5xx below 1/s\": sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m])) > 1\n",
            "check \"cart 5xx below 1/s\": sum(rate(http_requests_total{service=\"cart\",code=~\"5..\"}[5m])) > 1\n",
            "check \"the shell agrees\": run false\n",
            "check \"the shop answers\": probe http://shop.example/down",
        ),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_shows(&shown, "✗ FAIL checkout 5xx below 1/s");
    assert_shows(&shown, "✓ PASS cart 5xx below 1/s");
    assert_eq!(
        (engine.investigation().checks())
            .filter(|c| !c.passed)
            .map(|c| c.title.as_str())
            .collect::<Vec<_>>(),
        [
            "checkout 5xx below 1/s",
            "the shell agrees",
            "the shop answers"
        ]
    );
    assert_eq!(commands(&fakes), ["false"]);
    assert_eq!(*fakes.prober.probed.borrow(), ["http://shop.example/down"]);
}

#[tokio::test]
async fn queries_read_the_window_from_the_session_clock() {
    let (mut engine, _) = engine();
    let shown = run_ok(&mut engine, "source m file incident.om\nwindow last 2h\nq = query instant sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m]))").await;
    // The window ends at the clock's first reading (12:00:00); the instant query is evaluated
    // at its own reading, a second later. The incident had ended: 0.5 errors a second.
    assert_shows(
        &shown,
        "window 2026-11-20T10:00:00Z .. 2026-11-20T12:00:00Z",
    );
    assert_shows(&shown, "1 samples at 2026-11-20T12:00:01Z");
    let value: f64 = shown
        .split_whitespace()
        .last()
        .and_then(|v| v.parse().ok())
        .expect("a value");
    assert!((value - 0.5).abs() < 1e-9, "{shown}");
}

#[tokio::test]
async fn windows_beyond_the_calendar_are_refused_and_nothing_is_asked_of_the_source() {
    let (mut engine, _) = engine();
    for window in [
        "window now .. now+10000000000000000000ms",
        "window 1960-01-01T00:00:00Z .. now",
        "window last 18446744073709551615ms18446744073709551615ms",
    ] {
        let (_, error) = run(&mut engine, window).await;
        let error = error.expect("refused");
        assert_eq!(error.kind, ErrorKind::ParseError);
        assert!(error.message.contains("between 1970"), "{}", error.message);
    }
}

#[tokio::test]
async fn findings_need_bound_evidence_and_are_stamped_by_the_session_clock() {
    let (mut engine, _) = engine();
    let (_, error) = run(&mut engine, "finding high \"bad deploy\" evidence nothing").await;
    let error = error.expect("unbound evidence");
    assert_eq!(error.kind, ErrorKind::UnknownName);
    assert_eq!(error.span.map(|s| s.column), Some(36));

    let shown = run_ok(
        &mut engine,
        "r = run echo v2\nf = finding high \"bad deploy\" evidence r\nfindings",
    )
    .await;
    // The fake clock's first reading: 2026-11-20T12:00:00Z.
    assert_shows(&shown, "[HIGH] bad deploy (2026-11-20 12:00:00 UTC)");
    assert_shows(&shown, "1 finding");
}

#[tokio::test]
async fn secrets_are_masked_in_every_output_and_the_error() {
    std::env::set_var("PLAYBOOK_ENGINE_TEST_TOKEN", "hunter22");
    let (mut engine, fakes) = engine();
    let (shown, error) = run(
        &mut engine,
        "secret t from env:PLAYBOOK_ENGINE_TEST_TOKEN\nrun echo token={{t}}\nrun echo {{t}} {{missing}}",
    )
    .await;
    // A secret is always one quoted word, so that the command reads alike with its mask.
    assert_eq!(commands(&fakes), ["echo token='hunter22'"]);
    assert!(!shown.contains("hunter22"), "{shown}");
    assert_shows(&shown, "token='••••••'");
    let error = error.expect("missing is not defined");
    assert!(!error.evalue().contains("hunter22"));
}

#[tokio::test]
async fn a_replay_shows_what_was_recorded_and_reaches_nothing() {
    let journal = temp_journal("replay");
    let cell = concat!(
        "source m file incident.om\n",
        "window last 2h\n",
        "errors = query sum by (code) (rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m]))\n",
        "undo = run --confirm echo rolled back\n",
        "ready = probe http://shop.example/ready\n",
        "check \"ready\": probe http://shop.example/ready\n",
        "finding high \"v2 broke checkout\" evidence errors, undo",
    );
    let (mut live, fakes) = engine_with(Options {
        journal: Some(journal.clone()),
        approve_all: true,
        ..Options::default()
    });
    let (recorded, error) = run(&mut live, cell).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(commands(&fakes), ["echo rolled back"]);

    // Another day, another clock, no metrics file: the replay shows the same and runs nothing,
    // and nobody is asked to consent to a command that does not run.
    let (mut replay, fakes) = engine_with(Options {
        replay: Some(recording(&journal)),
        ..Options::default()
    });
    let screen = Screen::default();
    let (replayed, error) = run_on(
        &mut replay,
        &cell.replace("incident.om", "missing.om"),
        &screen,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert!(screen.asked.borrow().is_empty());
    assert!(commands(&fakes).is_empty());
    assert!(fakes.prober.probed.borrow().is_empty());
    let approval = "approved in advance (--yes): `echo rolled back`: it is marked --confirm\n";
    assert_shows(&recorded, approval);
    assert_eq!(
        replayed.replace("missing.om", "incident.om"),
        recorded.replace(approval, ""),
        "the replay shows what was recorded, finding times included"
    );

    // A step the journal does not hold is an error, never a live call.
    let (_, error) = run(&mut replay, "run echo new").await;
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::NotRecorded));
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn what_a_command_left_running_is_said_and_replayed_alike() {
    let journal = temp_journal("leftovers");
    let cell = "run sleep 9 & sleep 9 & echo up\nrun --leave-running sleep 9 &";
    let (mut live, _) = engine_with(Options {
        journal: Some(journal.clone()),
        approve_all: true,
        ..Options::default()
    });
    let recorded = run_ok(&mut live, cell).await;
    assert_shows(
        &recorded,
        "; stopped 2 processes the command left running\n",
    );
    assert_shows(&recorded, "; left 1 process running (--leave-running)");
    let approval = "approved in advance (--yes): `sleep 9 &`: `--leave-running` leaves processes running after the step, which changes things\n";
    assert_shows(&recorded, approval);

    let (mut replay, _) = engine_with(Options {
        replay: Some(recording(&journal)),
        ..Options::default()
    });
    let replayed = run_ok(&mut replay, cell).await;
    assert_eq!(replayed, recorded.replace(approval, ""));

    // Leaving something running is a change: with nobody to ask, it does not run.
    let (mut engine, fakes) = engine();
    let (_, error) = run(&mut engine, "run --leave-running sleep 9 &").await;
    assert_eq!(error.map(|e| e.kind), Some(ErrorKind::ConsentRequired));
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn the_replay_statement_switches_sources_already_declared() {
    let journal = temp_journal("switch");
    let query =
        "q = query instant sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m]))";
    let (mut live, _) = engine_with(Options {
        journal: Some(journal.clone()),
        ..Options::default()
    });
    let setup = "source m file incident.om\nwindow 2026-11-20T10:00:00Z .. 2026-11-20T11:00:00Z";
    run(&mut live, setup).await;
    let (recorded, _) = run(&mut live, query).await;

    let (mut later, _) = engine();
    run(&mut later, setup).await;
    let shown = run_ok(&mut later, &format!("replay {}", journal.display())).await;
    assert_shows(&shown, "nothing reaches the world");
    let (replayed, error) = run(&mut later, query).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(replayed, recorded);
}

#[tokio::test]
async fn the_journal_holds_every_completed_step_and_verifies() {
    let journal = temp_journal("steps");
    let (mut engine, _) = engine_with(Options {
        journal: Some(journal.clone()),
        ..Options::default()
    });
    run(
        &mut engine,
        "secret t from env:PATH\nsource m file incident.om\nwindow last 1h\nrun echo hi\nprobe http://x.example/\ncheck \"c\": run false\nfinding info \"seen\"",
    )
    .await;
    let loaded = playbook::journal::read::load(Path::new(&journal)).expect("it reads");
    assert!(loaded.breaks.is_empty(), "{:?}", loaded.breaks);
    let steps: Vec<&str> = loaded.records.iter().map(|r| r.entry.step()).collect();
    assert_eq!(
        steps,
        [
            "secret", "source", "clock", "window", "run", "probe", "run", "clock", "check",
            "clock", "finding"
        ]
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    let path = std::env::var("PATH").unwrap();
    assert!(
        !text.contains(&path),
        "the secret's value is not in the journal"
    );
}

/// A journal to replay; how far it can be trusted is not what these tests are about.
fn recording(journal: &Path) -> Rc<Recording> {
    Recording::load(journal, &Trust::default()).unwrap()
}

#[tokio::test]
async fn dry_run_while_replaying_keeps_answering_from_the_journal() {
    let journal = temp_journal("dry-replay");
    let (mut live, _) = engine_with(Options {
        journal: Some(journal.clone()),
        ..Options::default()
    });
    run_ok(&mut live, "r = run echo recorded").await;
    let (mut replay, fakes) = engine_with(Options {
        replay: Some(recording(&journal)),
        ..Options::default()
    });
    let shown = run_ok(
        &mut replay,
        "dry-run on\nr = run echo recorded\ndry-run off",
    )
    .await;
    assert_shows(&shown, "recorded\n");
    assert!(!shown.contains("would run"), "{shown}");
    assert!(commands(&fakes).is_empty());
}

#[tokio::test]
async fn a_panic_inside_a_step_fails_the_cell_and_the_session_goes_on() {
    let (mut engine, fakes) = engine_with(Options {
        approve_all: true,
        ..Options::default()
    });
    run_ok(&mut engine, "before = run echo kept").await;
    let (shown, error) = run(&mut engine, "run echo first\nrun panic\nrun echo never").await;
    let error = error.expect("the cell fails");
    assert_eq!(error.ename(), "InternalError");
    assert!(
        error.evalue().contains("the fake shell was asked to fail"),
        "{}",
        error.evalue()
    );
    assert_shows(&shown, "InternalError");
    assert_eq!(
        fakes.shell.ran.borrow().len(),
        2,
        "the step after the panic never ran"
    );
    assert!(
        engine.evaluate("before").await.is_ok(),
        "the steps before are kept"
    );
    let shown = run_ok(&mut engine, "run echo still serving").await;
    assert_shows(&shown, "still serving");
}

/// Cells of two kernel subshells at once: a step that waits (here, for consent) holds up neither
/// the other cell nor the session; each step sees what the steps ended before it left, and the
/// timeline is in the order steps ended.
#[tokio::test]
async fn cells_run_at_once_share_one_session() {
    let (mut engine, fakes) = engine();
    let answered = Rc::new(tokio::sync::Notify::new());
    let slow = Screen {
        slow: Some(answered.clone()),
        ..Screen::answering(&["yes"])
    };
    let quick = Screen::default();
    let token = CancellationToken::new();
    let held = engine.execute(
        "param service = \"checkout\"\nheld = run --confirm echo {{service}}\nfinding info \"held ended\"\nafter = run echo {{seen}}",
        &slow,
        &token,
    );
    let meanwhile = async {
        // The first cell is waiting for its answer: its `param` is in, its `held` is not.
        tokio::task::yield_now().await;
        let result = engine
            .execute(
                "quick = run echo {{service}} meanwhile\nparam seen = \"by the later step\"\nfinding info \"seen meanwhile\"",
                &quick,
                &token,
            )
            .await;
        answered.notify_one();
        result
    };
    let (held, meanwhile) = tokio::join!(held, meanwhile);
    assert!(held.is_ok(), "{held:?}: {}", slow.text());
    assert!(meanwhile.is_ok(), "{meanwhile:?}");
    assert_eq!(
        commands(&fakes),
        [
            "echo checkout meanwhile",
            "echo checkout",
            "echo 'by the later step'"
        ]
    );
    let findings: Vec<String> = (engine.investigation().timeline().iter())
        .filter_map(|event| match event {
            playbook::model::Event::Finding(finding) => Some(finding.text.clone()),
            playbook::model::Event::Check(_) => None,
        })
        .collect();
    assert_eq!(findings, ["seen meanwhile", "held ended"]);
    for name in ["held", "quick", "after"] {
        assert!(engine.evaluate(name).await.is_ok(), "{name} is bound");
    }
}
