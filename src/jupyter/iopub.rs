//! The one task that owns the IOPub socket.
//!
//! Everything else publishes through an [`Iopub`] handle, a channel, so that messages keep the
//! order in which they were sent. Stream text is batched here: a command printing 100,000 lines
//! becomes a handful of messages, not 100,000. The buffer is flushed on a short tick, at a size
//! threshold, when the stream or its parent changes, and before any other message, so stdout and
//! stderr keep their order relative to each other and to displays, errors and status.
//!
//! The socket is an XPUB: each new subscription is answered with `iopub_welcome`, which tells a
//! client that it will see everything from then on.

use super::wire::Codec;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zeromq::{SocketRecv, SocketSend, XPubSocket, ZmqMessage};

const FLUSH_EVERY: Duration = Duration::from_millis(50);
const FLUSH_AT_BYTES: usize = 256 * 1024;

enum Command {
    Publish {
        parent: Arc<Value>,
        msg_type: &'static str,
        content: Value,
    },
    Stream {
        parent: Arc<Value>,
        name: &'static str,
        text: String,
    },
    Flush(oneshot::Sender<()>),
}

/// A cheap, cloneable handle to the IOPub task.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<Command>,
}

impl Iopub {
    /// Starts the IOPub task on `socket`.
    pub fn spawn(socket: XPubSocket, codec: Codec) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(socket, codec, rx));
        Iopub { tx }
    }

    pub fn publish(&self, parent: &Arc<Value>, msg_type: &'static str, content: Value) {
        // A send fails only once the task has ended, at shutdown: nothing is left to tell.
        let _ = self.tx.send(Command::Publish {
            parent: parent.clone(),
            msg_type,
            content,
        });
    }

    pub fn status(&self, parent: &Arc<Value>, state: &str) {
        self.publish(parent, "status", json!({ "execution_state": state }));
    }

    pub fn stream(&self, parent: &Arc<Value>, name: &'static str, text: String) {
        let _ = self.tx.send(Command::Stream {
            parent: parent.clone(),
            name,
            text,
        });
    }

    /// Resolves once everything sent before it has been written to the socket.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Command::Flush(ack)).is_ok() {
            let _ = done.await;
        }
    }
}

struct PendingStream {
    parent: Arc<Value>,
    name: &'static str,
    text: String,
}

struct Publisher {
    socket: XPubSocket,
    codec: Codec,
    pending: Option<PendingStream>,
}

impl Publisher {
    async fn send(&mut self, parent: &Value, msg_type: &str, content: &Value) {
        let topic = bytes::Bytes::from(format!("kernel.{msg_type}"));
        let message = self.codec.encode(&[topic], msg_type, parent, content);
        if let Err(e) = self.socket.send(message).await {
            log::warn!("iopub: could not publish {msg_type}: {e}");
        }
    }

    async fn flush(&mut self) {
        if let Some(stream) = self.pending.take() {
            let content = json!({ "name": stream.name, "text": stream.text });
            self.send(&stream.parent, "stream", &content).await;
        }
    }

    async fn stream(&mut self, parent: Arc<Value>, name: &'static str, text: String) {
        match &mut self.pending {
            Some(p) if p.name == name && Arc::ptr_eq(&p.parent, &parent) => p.text.push_str(&text),
            _ => {
                self.flush().await;
                self.pending = Some(PendingStream { parent, name, text });
            }
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.text.len() >= FLUSH_AT_BYTES)
        {
            self.flush().await;
        }
    }

    async fn welcome(&mut self, subscription: ZmqMessage) {
        // A subscription is one frame: 1 then the topic (0 is an unsubscription).
        let Some(frame) = subscription.get(0) else {
            return;
        };
        if frame.first() == Some(&1) {
            let topic = String::from_utf8_lossy(&frame[1..]).into_owned();
            let content = json!({ "subscription": topic });
            self.send(&json!({}), "iopub_welcome", &content).await;
        }
    }
}

async fn run(socket: XPubSocket, codec: Codec, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut publisher = Publisher {
        socket,
        codec,
        pending: None,
    };
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            command = rx.recv() => match command {
                Some(Command::Stream { parent, name, text }) => {
                    publisher.stream(parent, name, text).await;
                }
                Some(Command::Publish { parent, msg_type, content }) => {
                    publisher.flush().await;
                    publisher.send(&parent, msg_type, &content).await;
                }
                Some(Command::Flush(ack)) => {
                    publisher.flush().await;
                    let _ = ack.send(());
                }
                None => break,
            },
            // The XPUB socket learns of subscriptions only while it is read.
            subscription = publisher.socket.recv() => match subscription {
                Ok(message) => publisher.welcome(message).await,
                Err(e) => log::debug!("iopub: {e}"),
            },
            _ = tick.tick(), if publisher.pending.is_some() => publisher.flush().await,
        }
    }
    publisher.flush().await;
}
