//! The kernel server: binds the five sockets and routes each request to its handler.
//!
//! Tasks: one reads shell requests into the queue of their subshell, one serves control (so that
//! an interrupt, a kernel_info or a new subshell gets through while a cell runs), one owns IOPub,
//! one echoes heartbeats, one turns signals into interrupts. The shell queues are served on the
//! caller's task, because the interpreter is not `Send`: each queue one request at a time, the
//! queues at once ([`super::subshell`]). Run on a runtime with worker threads, the other tasks
//! keep answering while a step holds the caller's thread.

use super::connection::ConnectionInfo;
use super::guard::{BindError, Guard, WireLimits};
use super::history::History;
use super::interpreter::{Completeness, ErrorReport, Interpreter, Outputs};
use super::iopub::Iopub;
use super::stdin::Stdin;
use super::subshell::{subshell_of, Lane, Subshells, UnknownSubshell};
use super::usage::Usage;
use super::wire::{Codec, Request, PROTOCOL_VERSION};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use zeromq::{RepSocket, RouterSocket, Socket, SocketRecv, SocketSend, XPubSocket, ZmqMessage};

/// How long a running cell gets to wind down once shutdown was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves the Jupyter protocol on the connection's sockets until a shutdown_request or SIGTERM.
///
/// Every port is behind the transport guard ([`super::guard`]), which drops a connection that
/// announces more than `limits` allow.
pub async fn serve(
    info: &ConnectionInfo,
    limits: WireLimits,
    interpreter: &dyn Interpreter,
) -> Result<(), BindError> {
    let codec = Codec::new(&info.key);
    let mut shell = RouterSocket::new();
    let mut control = RouterSocket::new();
    let mut stdin = RouterSocket::new();
    let mut iopub = XPubSocket::new();
    let mut heartbeat = RepSocket::new();
    let mut guard = Guard::new(info, limits)?;
    guard.bind(&mut shell, "shell", info.shell_port).await?;
    guard
        .bind(&mut control, "control", info.control_port)
        .await?;
    guard.bind(&mut stdin, "stdin", info.stdin_port).await?;
    guard.bind(&mut iopub, "iopub", info.iopub_port).await?;
    guard
        .bind(&mut heartbeat, "heartbeat", info.hb_port)
        .await?;

    let iopub = Iopub::spawn(iopub, codec.clone());
    let guard = Arc::new(guard);
    let shutdown = CancellationToken::new();
    let (subshells, main, created) = Subshells::new();
    let core = Core {
        codec: codec.clone(),
        iopub: iopub.clone(),
        guard: guard.clone(),
        kernel_info: Arc::new(kernel_info_content(interpreter.kernel_info())),
        interrupts: Interrupts::default(),
        shutdown: shutdown.clone(),
        usage: Arc::default(),
        subshells,
    };
    tokio::spawn(echo_heartbeats(heartbeat));
    tokio::spawn(handle_signals(core.clone()));
    tokio::spawn(serve_control(core.clone(), control));

    let (replies, incoming) = shell.split();
    let replies = Arc::new(tokio::sync::Mutex::new(replies));
    tokio::spawn(read_requests(incoming, core.clone(), replies.clone()));

    let shell = Shell {
        core,
        replies,
        stdin: Stdin::new(stdin, codec),
        history: RefCell::default(),
        execution_count: Cell::new(0),
    };
    let serving = shell.serve(interpreter, main, created);
    tokio::pin!(serving);
    tokio::select! {
        _ = &mut serving => {}
        _ = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            log::warn!("the running cell did not stop within {SHUTDOWN_GRACE:?} of shutdown");
        }
    }
    iopub.flush().await;
    // The last replies (shutdown_reply, say) are written by ZeroMQ's tasks, then relayed by the
    // guard's: they get a moment to leave before the process does.
    tokio::time::sleep(LAST_REPLIES).await;
    guard.all_drained().await;
    Ok(())
}

/// How long ZeroMQ gets to write the last replies once the kernel stops serving.
const LAST_REPLIES: Duration = Duration::from_millis(20);

fn kernel_info_content(language: Value) -> Value {
    let mut content = match language {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    content.insert("status".into(), json!("ok"));
    content.insert("protocol_version".into(), json!(PROTOCOL_VERSION));
    content.insert("debugger".into(), json!(false));
    content.insert("supported_features".into(), json!(["kernel subshells"]));
    Value::Object(content)
}

/// The interrupt of what runs now in each subshell (`None`: the main shell): each execution
/// gets a fresh token; an interrupt request cancels them all, as the user means "stop".
#[derive(Clone, Default)]
struct Interrupts(Arc<Mutex<HashMap<Option<String>, CancellationToken>>>);

impl Interrupts {
    fn fresh(&self, subshell: Option<&str>) -> CancellationToken {
        let token = CancellationToken::new();
        let key = subshell.map(str::to_owned);
        self.0.lock().unwrap().insert(key, token.clone());
        token
    }

    fn interrupt(&self) {
        self.0.lock().unwrap().values().for_each(|t| t.cancel());
    }

    /// Stops what runs in a subshell that was deleted.
    fn interrupt_one(&self, subshell: &str) {
        if let Some(token) = self.0.lock().unwrap().remove(&Some(subshell.to_owned())) {
            token.cancel();
        }
    }
}

/// What shell and control share: how to answer, publish, interrupt and stop.
#[derive(Clone)]
struct Core {
    codec: Codec,
    iopub: Iopub,
    guard: Arc<Guard>,
    kernel_info: Arc<Value>,
    interrupts: Interrupts,
    shutdown: CancellationToken,
    usage: Arc<Usage>,
    subshells: Subshells,
}

impl Core {
    /// Resolves once what was published before has left the kernel: a reply sent after it
    /// reaches the client after those outputs.
    async fn flush_iopub(&self) {
        self.iopub.flush().await;
        self.guard.drained("iopub").await;
    }

    fn reply(&self, request: &Request, content: &Value) -> ZmqMessage {
        let msg_type = reply_type(&request.msg_type);
        self.codec
            .encode(&request.identities, &msg_type, &request.header, content)
    }

    /// The answers that are the same on shell and control. `None` for a request of another kind.
    fn answer_common(&self, request: &Request) -> Option<Value> {
        match request.msg_type.as_str() {
            "kernel_info_request" => Some((*self.kernel_info).clone()),
            "interrupt_request" => {
                self.interrupts.interrupt();
                Some(json!({ "status": "ok" }))
            }
            "shutdown_request" => {
                let restart = request.content["restart"].as_bool().unwrap_or(false);
                // The reply goes out before the shutdown takes effect: `serve` waits for the
                // running cell, then flushes IOPub, then returns.
                self.interrupts.interrupt();
                self.shutdown.cancel();
                Some(json!({ "status": "ok", "restart": restart }))
            }
            _ => None,
        }
    }
}

fn reply_type(request_type: &str) -> String {
    match request_type.strip_suffix("_request") {
        Some(stem) => format!("{stem}_reply"),
        None => format!("{request_type}_reply"),
    }
}

fn unknown(request: &Request) -> Value {
    log::warn!(
        "unknown message type {:?}: answered with an error",
        request.msg_type
    );
    json!({
        "status": "error",
        "ename": "UnknownMessageType",
        "evalue": format!("this kernel does not handle {:?}", request.msg_type),
        "traceback": [],
    })
}

async fn serve_control(core: Core, mut socket: RouterSocket) {
    loop {
        let message = match socket.recv().await {
            Ok(message) => message,
            Err(e) => {
                log::debug!("control: {e}");
                continue;
            }
        };
        let Some(request) = accept(&core.codec, "control", message) else {
            continue;
        };
        let parent = Arc::new(request.header.clone());
        core.iopub.status(&parent, "busy");
        // Usage and subshells are asked on control only, as ipykernel answers them.
        let content = match request.msg_type.as_str() {
            "usage_request" => core.usage.reply(),
            "delete_subshell_request" => {
                let answer = core.subshells.answer(&request);
                // What the deleted subshell runs stops; what it had queued is refused.
                if let Some(id) = request.content["subshell_id"].as_str() {
                    core.interrupts.interrupt_one(id);
                }
                answer.unwrap_or_else(|| unknown(&request))
            }
            _ => (core.subshells.answer(&request))
                .or_else(|| core.answer_common(&request))
                .unwrap_or_else(|| unknown(&request)),
        };
        core.flush_iopub().await;
        if let Err(e) = socket.send(core.reply(&request, &content)).await {
            log::warn!("control: could not reply to {}: {e}", request.msg_type);
        }
        core.iopub.status(&parent, "idle");
    }
}

/// The shell's replies: every lane, and the reader (for requests to no subshell), answer on them.
type Replies = Arc<tokio::sync::Mutex<zeromq::RouterSendHalf>>;

/// Reads shell requests into the queue of the subshell each names; a request for a subshell
/// that does not exist is answered here, at once.
async fn read_requests(mut socket: zeromq::RouterRecvHalf, core: Core, replies: Replies) {
    loop {
        match socket.recv().await {
            Ok(message) => {
                let Some(request) = accept(&core.codec, "shell", message) else {
                    continue;
                };
                if let Err(unknown) = core.subshells.route(request.clone()) {
                    refuse(&core, &replies, &request, &unknown).await;
                }
            }
            Err(e) => log::debug!("shell: {e}"),
        }
    }
}

/// Answers a request for a subshell that is not there, with the busy and idle a client waits on.
async fn refuse(core: &Core, replies: &Replies, request: &Request, unknown: &UnknownSubshell) {
    log::warn!("shell: {} refused: {unknown:?}", request.msg_type);
    let parent = Arc::new(request.header.clone());
    core.iopub.status(&parent, "busy");
    send_reply(core, replies, request, &unknown.reply()).await;
    core.iopub.status(&parent, "idle");
}

async fn send_reply(core: &Core, replies: &Replies, request: &Request, content: &Value) {
    // Outputs batched on IOPub must reach the frontend before the reply that ends them.
    core.flush_iopub().await;
    let reply = core.reply(request, content);
    if let Err(e) = replies.lock().await.send(reply).await {
        log::warn!("shell: could not reply to {}: {e}", request.msg_type);
    }
}

/// A message off shell or control as a request, or `None` (logged) when it is dropped.
fn accept(codec: &Codec, channel: &str, message: ZmqMessage) -> Option<Request> {
    let size: usize = message.iter().map(|frame| frame.len()).sum();
    match codec.decode(message) {
        Ok(request) => Some(request),
        Err(e) => {
            log::warn!("{channel}: dropped a message of {size} bytes: {e}");
            None
        }
    }
}

async fn echo_heartbeats(mut socket: RepSocket) {
    loop {
        match socket.recv().await {
            Ok(ping) => {
                if let Err(e) = socket.send(ping).await {
                    log::debug!("heartbeat: {e}");
                }
            }
            Err(e) => log::debug!("heartbeat: {e}"),
        }
    }
}

/// SIGINT interrupts the running cell, as a frontend without interrupt messages expects; SIGTERM
/// stops the kernel cleanly, so that no command it started is left behind.
async fn handle_signals(core: Core) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        log::warn!("cannot listen for signals: SIGINT will not interrupt");
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => core.interrupts.interrupt(),
            _ = term.recv() => {
                core.interrupts.interrupt();
                core.shutdown.cancel();
            }
        }
    }
}

/// What the shell's lanes share: replies, stdin, the history and the execution count, which
/// are the kernel's, not a subshell's (as in ipykernel).
struct Shell {
    core: Core,
    replies: Replies,
    stdin: Stdin,
    history: RefCell<History>,
    execution_count: Cell<u64>,
}

impl Shell {
    /// Serves the main shell's lane and every subshell's, each in order and all at once, until
    /// shutdown.
    async fn serve(
        &self,
        interpreter: &dyn Interpreter,
        main: Lane,
        mut created: mpsc::UnboundedReceiver<Lane>,
    ) {
        let mut lanes = FuturesUnordered::new();
        lanes.push(self.serve_lane(main, interpreter).boxed_local());
        loop {
            tokio::select! {
                Some(lane) = created.recv() => {
                    lanes.push(self.serve_lane(lane, interpreter).boxed_local());
                }
                ended = lanes.next() => match ended {
                    // A deleted subshell's lane.
                    Some(Some(_)) => {}
                    // The main lane returns only at shutdown.
                    Some(None) | None => return,
                },
            }
        }
    }

    /// Serves one lane until its subshell is deleted (and its queue drained) or the kernel
    /// shuts down; its id.
    async fn serve_lane(&self, mut lane: Lane, interpreter: &dyn Interpreter) -> Option<String> {
        let shutdown = self.core.shutdown.clone();
        loop {
            let request = match lane.deferred.pop_front() {
                Some(request) => request,
                None => tokio::select! {
                    request = lane.queue.recv() => match request {
                        Some(request) => request,
                        None if lane.id.is_some() => return lane.id,
                        None => std::future::pending().await,
                    },
                    _ = shutdown.cancelled() => return lane.id,
                },
            };
            if !self.core.subshells.exists(lane.id.as_deref()) {
                let id = lane.id.clone().unwrap_or_default();
                refuse(&self.core, &self.replies, &request, &UnknownSubshell(id)).await;
                continue;
            }
            self.handle(request, &mut lane, interpreter).await;
            if shutdown.is_cancelled() {
                return lane.id;
            }
        }
    }

    async fn handle(&self, request: Request, lane: &mut Lane, interpreter: &dyn Interpreter) {
        let parent = Arc::new(request.header.clone());
        self.core.iopub.status(&parent, "busy");
        let mut abort_queue = false;
        let content = match request.msg_type.as_str() {
            "execute_request" => {
                let (content, failed) = self.execute(&request, &parent, interpreter).await;
                abort_queue = failed && request.content["stop_on_error"].as_bool().unwrap_or(true);
                Some(content)
            }
            "complete_request" => Some(complete(&request.content, interpreter).await),
            "inspect_request" => Some(inspect(&request.content, interpreter).await),
            "is_complete_request" => Some(is_complete(&request.content, interpreter)),
            "history_request" => Some(json!({
                "status": "ok",
                "history": self.history.borrow().answer(&request.content),
            })),
            "comm_info_request" => Some(json!({ "status": "ok", "comms": {} })),
            "comm_open" => {
                // No comm targets exist here: the frontend is told at once that the comm is closed.
                let comm_id = request.content["comm_id"].clone();
                let content = json!({ "comm_id": comm_id, "data": {} });
                self.core.iopub.publish(&parent, "comm_close", content);
                None
            }
            "comm_msg" | "comm_close" => None,
            _ => Some(
                self.core
                    .answer_common(&request)
                    .unwrap_or_else(|| unknown(&request)),
            ),
        };
        if let Some(content) = content {
            send_reply(&self.core, &self.replies, &request, &content).await;
        }
        self.core.iopub.status(&parent, "idle");
        if abort_queue {
            self.abort_queued(lane).await;
        }
    }

    /// After a failed execution with stop_on_error, the executions already queued in its lane
    /// are answered "aborted" instead of run: they were written expecting the failed one to
    /// succeed.
    async fn abort_queued(&self, lane: &mut Lane) {
        while let Ok(request) = lane.queue.try_recv() {
            if request.msg_type != "execute_request" {
                lane.deferred.push_back(request);
                continue;
            }
            let parent = Arc::new(request.header.clone());
            self.core.iopub.status(&parent, "busy");
            let count = self.execution_count.get();
            let content = json!({ "status": "aborted", "execution_count": count });
            send_reply(&self.core, &self.replies, &request, &content).await;
            self.core.iopub.status(&parent, "idle");
        }
    }

    /// Runs one execute_request; the reply's content, and whether the execution failed.
    async fn execute(
        &self,
        request: &Request,
        parent: &Arc<Value>,
        interpreter: &dyn Interpreter,
    ) -> (Value, bool) {
        let content = &request.content;
        let code = content["code"].as_str().unwrap_or_default();
        let silent = content["silent"].as_bool().unwrap_or(false);
        let store_history = !silent && content["store_history"].as_bool().unwrap_or(true);
        let allow_stdin = content["allow_stdin"].as_bool().unwrap_or(false);
        if store_history {
            self.execution_count.set(self.execution_count.get() + 1);
        }
        let count = self.execution_count.get();
        if !silent {
            let input = json!({ "code": code, "execution_count": count });
            self.core.iopub.publish(parent, "execute_input", input);
        }
        let stdin = allow_stdin.then(|| (self.stdin.clone(), request.identities.clone()));
        let subshell = subshell_of(request);
        let outputs = Outputs::new(
            self.core.iopub.clone(),
            parent.clone(),
            silent,
            count,
            stdin,
            self.core.interrupts.fresh(subshell.as_deref()),
            subshell,
        );
        let result = interpreter.execute(code, &outputs).await;
        let results = outputs.into_results();
        if store_history {
            self.history.borrow_mut().record(count, code, results);
        }
        match result {
            Ok(()) => {
                let expressions = user_expressions(&content["user_expressions"], interpreter).await;
                let reply = json!({
                    "status": "ok",
                    "execution_count": count,
                    "user_expressions": expressions,
                    "payload": [],
                });
                (reply, false)
            }
            Err(error) => {
                let reply = json!({
                    "status": "error",
                    "execution_count": count,
                    "ename": error.ename,
                    "evalue": error.evalue,
                    "traceback": error.traceback,
                    "user_expressions": {},
                    "payload": [],
                });
                (reply, true)
            }
        }
    }
}

async fn user_expressions(expressions: &Value, interpreter: &dyn Interpreter) -> Value {
    let Some(expressions) = expressions.as_object() else {
        return json!({});
    };
    let mut answers = Map::new();
    for (name, expression) in expressions {
        let expression = expression.as_str().unwrap_or_default();
        let answer = match interpreter.evaluate(expression).await {
            Ok(data) => json!({ "status": "ok", "data": data, "metadata": {} }),
            Err(ErrorReport {
                ename,
                evalue,
                traceback,
            }) => json!({
                "status": "error", "ename": ename, "evalue": evalue, "traceback": traceback,
            }),
        };
        answers.insert(name.clone(), answer);
    }
    Value::Object(answers)
}

fn code_and_cursor(content: &Value) -> (&str, usize) {
    let code = content["code"].as_str().unwrap_or_default();
    let cursor = content["cursor_pos"]
        .as_u64()
        .map(|c| c as usize)
        .unwrap_or_else(|| code.chars().count());
    (code, cursor)
}

async fn complete(content: &Value, interpreter: &dyn Interpreter) -> Value {
    let (code, cursor) = code_and_cursor(content);
    let completion = interpreter.complete(code, cursor).await;
    json!({
        "status": "ok",
        "matches": completion.matches,
        "cursor_start": completion.start,
        "cursor_end": completion.end,
        "metadata": {},
    })
}

async fn inspect(content: &Value, interpreter: &dyn Interpreter) -> Value {
    let (code, cursor) = code_and_cursor(content);
    match interpreter.inspect(code, cursor).await {
        Some(data) => json!({ "status": "ok", "found": true, "data": data, "metadata": {} }),
        None => json!({ "status": "ok", "found": false, "data": {}, "metadata": {} }),
    }
}

fn is_complete(content: &Value, interpreter: &dyn Interpreter) -> Value {
    let code = content["code"].as_str().unwrap_or_default();
    match interpreter.is_complete(code) {
        Completeness::Complete => json!({ "status": "complete" }),
        Completeness::Incomplete { indent } => json!({ "status": "incomplete", "indent": indent }),
        Completeness::Invalid => json!({ "status": "invalid" }),
    }
}

#[cfg(test)]
mod tests {
    use super::reply_type;

    #[test]
    fn reply_types() {
        assert_eq!(reply_type("execute_request"), "execute_reply");
        assert_eq!(reply_type("weird"), "weird_reply");
    }
}
