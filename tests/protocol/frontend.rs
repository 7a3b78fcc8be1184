//! A fake frontend: what jupyter_client does on the wire, written from the protocol's
//! specification rather than from the kernel's own `wire` module, so that the two are checked
//! against each other.
//!
//! Shell and control are DEALER sockets, IOPub a SUB socket subscribed to everything. One task per
//! socket forwards what arrives into one queue, so the frontend sees messages in the order they
//! arrived across channels, and keeps them all in a log that the tests read.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use playbook::jupyter::ConnectionInfo;
use serde_json::{json, Value};
use sha2::Sha256;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use zeromq::{DealerSendHalf, DealerSocket, Socket, SocketRecv, SocketSend, SubSocket, ZmqMessage};

/// How long any one wait may last: a kernel that falls silent fails the test instead of
/// hanging it.
const PATIENCE: Duration = Duration::from_secs(5);

const DELIMITER: &[u8] = b"<IDS|MSG>";

/// `future`'s output, or a panic naming what did not come in time.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("no {what} within {PATIENCE:?}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Shell,
    Control,
    Iopub,
}

/// A request as sent. Its header is what every message it causes must carry, verbatim, as
/// parent header.
pub struct Request {
    header: Value,
}

/// A message from the kernel, its signature checked.
#[derive(Debug, Clone)]
pub struct Received {
    channel: Channel,
    msg_type: String,
    parent_header: Value,
    content: Value,
}

impl Received {
    fn answers(&self, request: &Request) -> bool {
        self.parent_header == request.header
    }

    fn is_reply(&self) -> bool {
        self.channel != Channel::Iopub
    }

    /// Whether `next` is more text of the same stream.
    fn continues_as(&self, next: &Received) -> bool {
        self.msg_type == "stream"
            && next.msg_type == "stream"
            && self.content["name"] == next.content["name"]
    }

    fn is_status(&self) -> bool {
        self.msg_type == "status"
    }

    fn is_idle(&self) -> bool {
        self.is_status() && self.content["execution_state"] == "idle"
    }

    /// The message in one line, as the tests compare it: its type and the content a client
    /// shows or checks.
    pub fn summary(&self) -> String {
        let content = &self.content;
        let text = |key: &str| content[key].as_str().unwrap_or_default();
        let count = &content["execution_count"];
        match self.msg_type.as_str() {
            "status" => format!("status {}", text("execution_state")),
            "execute_input" => format!("execute_input [{count}] {}", text("code")),
            "stream" => format!("{} {:?}", text("name"), text("text")),
            "execute_result" => format!(
                "execute_result [{count}] {}",
                content["data"]["text/plain"].as_str().unwrap_or_default()
            ),
            "error" => format!("error {}: {}", text("ename"), text("evalue")),
            "execute_reply" => match text("status") {
                "ok" => format!("execute_reply ok [{count}]"),
                "error" => format!("execute_reply error [{count}] {}", text("ename")),
                status => format!("execute_reply {status}"),
            },
            other => format!("{other} {}", text("status")).trim_end().to_owned(),
        }
    }
}

/// Everything one request caused, in the order it arrived.
pub struct Exchange(Vec<Received>);

impl Exchange {
    /// What IOPub published for the request, in order. Consecutive stream messages are joined,
    /// as a client shows them: how the kernel batches stream text is its own business.
    pub fn published(&self) -> Vec<String> {
        let mut published: Vec<Received> = Vec::new();
        for message in self.0.iter().filter(|m| !m.is_reply()) {
            match published.last_mut() {
                Some(last) if last.continues_as(message) => {
                    let text = [&last.content, &message.content]
                        .map(|c| c["text"].as_str().unwrap_or_default());
                    last.content["text"] = text.concat().into();
                }
                _ => published.push(message.clone()),
            }
        }
        published.iter().map(Received::summary).collect()
    }

    pub fn reply(&self) -> String {
        self.0
            .iter()
            .find(|m| m.is_reply())
            .map(Received::summary)
            .expect("an exchange holds its reply")
    }

    /// Outputs (IOPub messages other than status) that arrived after the reply. The reply and
    /// the closing idle travel on different sockets, so their order is not asserted.
    /// The request's whole exchange: these outputs, then this reply, and nothing after it.
    pub fn assert_published_then_replied(&self, published: &[&str], reply: &str) {
        assert_eq!(self.published(), published);
        assert_eq!(self.reply(), reply);
        assert_eq!(self.outputs_after_reply(), Vec::<String>::new());
    }

    pub fn outputs_after_reply(&self) -> Vec<String> {
        self.0
            .iter()
            .skip_while(|m| !m.is_reply())
            .filter(|m| !m.is_reply() && !m.is_status())
            .map(Received::summary)
            .collect()
    }
}

pub struct Frontend {
    key: String,
    session: String,
    shell: DealerSendHalf,
    control: DealerSendHalf,
    incoming: mpsc::UnboundedReceiver<(Channel, ZmqMessage)>,
    /// Every message received so far, on any channel, in the order it arrived.
    log: Vec<Received>,
}

impl Frontend {
    /// Connects to the kernel's shell, control and IOPub, and waits for IOPub's welcome: what is
    /// published before the kernel has seen the subscription is lost.
    pub async fn connect(connection: &ConnectionInfo) -> Frontend {
        let (arrivals, incoming) = mpsc::unbounded_channel();
        let shell =
            connect_dealer(connection, connection.shell_port, Channel::Shell, &arrivals).await;
        let control = connect_dealer(
            connection,
            connection.control_port,
            Channel::Control,
            &arrivals,
        )
        .await;
        let mut iopub = SubSocket::new();
        let endpoint = connection.endpoint(connection.iopub_port);
        within("IOPub connection", iopub.connect(&endpoint))
            .await
            .expect("IOPub connects");
        iopub.subscribe("").await.expect("IOPub subscribes");
        tokio::spawn(forward(iopub, Channel::Iopub, arrivals));
        let mut frontend = Frontend {
            key: connection.key.clone(),
            session: uuid::Uuid::new_v4().to_string(),
            shell,
            control,
            incoming,
            log: Vec::new(),
        };
        frontend
            .until("iopub_welcome", |log| {
                log.iter().any(|m| m.msg_type == "iopub_welcome")
            })
            .await;
        frontend
    }

    pub async fn request(&mut self, channel: Channel, msg_type: &str, content: Value) -> Request {
        let key = self.key.clone();
        self.send_signed(&key, channel, msg_type, content).await
    }

    /// A request signed with a key other than the connection's, as an attacker on the network
    /// might send.
    pub async fn forged_request(
        &mut self,
        channel: Channel,
        msg_type: &str,
        content: Value,
    ) -> Request {
        self.send_signed("not the connection key", channel, msg_type, content)
            .await
    }

    /// An execute_request as a notebook sends it. `stop_on_error` is left out: its default,
    /// true, is what the kernel must apply.
    pub async fn execute(&mut self, code: &str) -> Request {
        let content = json!({
            "code": code,
            "silent": false,
            "store_history": true,
            "user_expressions": {},
            "allow_stdin": false,
        });
        self.request(Channel::Shell, "execute_request", content)
            .await
    }

    async fn send_signed(
        &mut self,
        key: &str,
        channel: Channel,
        msg_type: &str,
        content: Value,
    ) -> Request {
        let header = json!({
            "msg_id": uuid::Uuid::new_v4().to_string(),
            "session": self.session,
            "username": "frontend",
            "date": chrono::Utc::now().to_rfc3339(),
            "msg_type": msg_type,
            "version": "5.3",
        });
        let json_frames = [&header, &json!({}), &json!({}), &content]
            .map(|part| serde_json::to_vec(part).expect("JSON values serialize"));
        let mut frames = vec![
            Bytes::from_static(DELIMITER),
            sign(key, &json_frames).into(),
        ];
        frames.extend(json_frames.map(Bytes::from));
        let message = ZmqMessage::try_from(frames).expect("a message has frames");
        let socket = match channel {
            Channel::Shell => &mut self.shell,
            Channel::Control => &mut self.control,
            Channel::Iopub => panic!("a frontend sends nothing on IOPub"),
        };
        within("send", socket.send(message))
            .await
            .expect("the request is sent");
        Request { header }
    }

    /// Receives until the request's reply and its closing idle have both arrived.
    pub async fn until_answered(&mut self, request: &Request) -> Exchange {
        self.until("reply and idle", |log| {
            let answers: Vec<&Received> = log.iter().filter(|m| m.answers(request)).collect();
            answers.iter().any(|m| m.is_reply()) && answers.iter().any(|m| m.is_idle())
        })
        .await;
        Exchange(self.received_for(request))
    }

    /// Receives until the request's reply has arrived, and returns it.
    pub async fn until_replied(&mut self, request: &Request) -> Received {
        let is_the_reply = |m: &Received| m.is_reply() && m.answers(request);
        self.until("reply", |log| log.iter().any(is_the_reply))
            .await;
        self.log
            .iter()
            .find(|m| is_the_reply(m))
            .cloned()
            .expect("the reply was received")
    }

    /// Receives until the request has published a message of this type.
    pub async fn until_published(&mut self, request: &Request, msg_type: &str) {
        self.until(msg_type, |log| {
            log.iter()
                .any(|m| !m.is_reply() && m.answers(request) && m.msg_type == msg_type)
        })
        .await;
    }

    /// What has arrived so far with the request as parent, in order.
    pub fn received_for(&self, request: &Request) -> Vec<Received> {
        self.log
            .iter()
            .filter(|m| m.answers(request))
            .cloned()
            .collect()
    }

    async fn until(&mut self, what: &str, done: impl Fn(&[Received]) -> bool) {
        while !done(&self.log) {
            let (channel, message) = within(what, self.incoming.recv())
                .await
                .expect("the frontend's sockets stay open");
            let received = self.verify(channel, message);
            self.log.push(received);
        }
    }

    /// Checks the signature of a message from the kernel, as a client does, and parses it.
    fn verify(&self, channel: Channel, message: ZmqMessage) -> Received {
        let frames = message.into_vec();
        let delimiter = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .unwrap_or_else(|| panic!("{channel:?}: a message without {DELIMITER:?}"));
        let [signature, header, parent_header, metadata, content] = &frames[delimiter + 1..] else {
            panic!("{channel:?}: not five frames after the delimiter: {frames:?}");
        };
        let json_frames = [header, parent_header, metadata, content].map(|f| f.to_vec());
        assert_eq!(
            signature.as_ref(),
            sign(&self.key, &json_frames).as_bytes(),
            "{channel:?}: a message not signed with the connection key"
        );
        let json = |frame: &Bytes| -> Value {
            serde_json::from_slice(frame).expect("the kernel sends JSON frames")
        };
        let header = json(header);
        Received {
            channel,
            msg_type: header["msg_type"].as_str().unwrap_or_default().to_owned(),
            parent_header: json(parent_header),
            content: json(content),
        }
    }
}

/// The HMAC-SHA256 of the four JSON frames, in hex, as the protocol signs a message.
fn sign(key: &str, json_frames: &[Vec<u8>; 4]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    for frame in json_frames {
        mac.update(frame);
    }
    hex::encode(mac.finalize().into_bytes())
}

async fn connect_dealer(
    connection: &ConnectionInfo,
    port: u16,
    channel: Channel,
    arrivals: &mpsc::UnboundedSender<(Channel, ZmqMessage)>,
) -> DealerSendHalf {
    let mut socket = DealerSocket::new();
    let endpoint = connection.endpoint(port);
    within("connection", socket.connect(&endpoint))
        .await
        .unwrap_or_else(|e| panic!("{channel:?} connects to {endpoint}: {e}"));
    let (send, receive) = socket.split();
    tokio::spawn(forward(receive, channel, arrivals.clone()));
    send
}

async fn forward(
    mut socket: impl SocketRecv + Send + 'static,
    channel: Channel,
    arrivals: mpsc::UnboundedSender<(Channel, ZmqMessage)>,
) {
    // Ends when the kernel goes away or the frontend is dropped.
    while let Ok(message) = socket.recv().await {
        if arrivals.send((channel, message)).is_err() {
            return;
        }
    }
}
