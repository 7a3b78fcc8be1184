//! The stdin channel: the kernel asks, the frontend answers with what the user typed.

use super::wire::Codec;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Mutex;
use zeromq::{RouterSocket, SocketRecv, SocketSend};

#[derive(Clone)]
pub struct Stdin {
    socket: Arc<Mutex<RouterSocket>>,
    codec: Codec,
}

impl Stdin {
    pub fn new(socket: RouterSocket, codec: Codec) -> Self {
        Stdin {
            socket: Arc::new(Mutex::new(socket)),
            codec,
        }
    }

    /// Sends an input_request to the frontend that sent `parent`, and waits for its input_reply.
    pub async fn ask(
        &self,
        identities: &[Bytes],
        parent: &Value,
        prompt: &str,
        password: bool,
    ) -> Option<String> {
        let mut socket = self.socket.lock().await;
        let content = json!({ "prompt": prompt, "password": password });
        let request = self
            .codec
            .encode(identities, "input_request", parent, &content);
        if let Err(e) = socket.send(request).await {
            log::warn!("stdin: could not send input_request: {e}");
            return None;
        }
        loop {
            let message = socket.recv().await.ok()?;
            match self.codec.decode(message) {
                Ok(reply) if reply.msg_type == "input_reply" => {
                    return reply.content["value"].as_str().map(str::to_owned);
                }
                Ok(other) => log::warn!("stdin: ignored a {}", other.msg_type),
                Err(e) => log::warn!("stdin: dropped a malformed message: {e}"),
            }
        }
    }
}
