//! The wire format: identities, `<IDS|MSG>`, an HMAC-SHA256 signature, then the header, parent
//! header, metadata and content as JSON frames, then optional binary buffers.
//!
//! The signature covers exactly the four JSON frames as they travel (never the buffers), and is
//! verified on the bytes as received, before anything is parsed.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use zeromq::ZmqMessage;

pub const DELIMITER: &[u8] = b"<IDS|MSG>";
pub const PROTOCOL_VERSION: &str = "5.5";

/// A request as received. The header stays a raw JSON value so that a reply can echo it as its
/// `parent_header` verbatim, unknown keys included.
#[derive(Debug, Clone)]
pub struct Request {
    pub identities: Vec<Bytes>,
    pub header: Value,
    pub msg_type: String,
    pub content: Value,
}

#[derive(Debug, PartialEq, Eq)]
pub enum WireError {
    NoDelimiter,
    TooFewFrames(usize),
    BadSignature,
    DuplicateSignature,
    NotJson(&'static str),
    NoMsgType,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NoDelimiter => write!(f, "no <IDS|MSG> delimiter"),
            WireError::TooFewFrames(n) => {
                write!(f, "{n} frames after the delimiter, expected at least 5")
            }
            WireError::BadSignature => write!(f, "signature does not match the connection key"),
            WireError::DuplicateSignature => {
                write!(f, "duplicate signature: this message was received before")
            }
            WireError::NotJson(frame) => write!(f, "the {frame} frame is not a JSON object"),
            WireError::NoMsgType => write!(f, "the header has no msg_type"),
        }
    }
}

/// Signs and verifies with the connection key; an empty key means unsigned messages.
#[derive(Clone)]
pub struct Signer {
    mac: Option<Hmac<Sha256>>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        let mac = (!key.is_empty())
            .then(|| Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key"));
        Signer { mac }
    }

    fn mac_over(&self, frames: &[&[u8]]) -> Option<Hmac<Sha256>> {
        let mut mac = self.mac.clone()?;
        for frame in frames {
            mac.update(frame);
        }
        Some(mac)
    }

    pub fn sign(&self, frames: &[&[u8]]) -> String {
        self.mac_over(frames)
            .map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Constant-time comparison (through `Mac::verify_slice`) of the hex signature as received.
    pub fn verify(&self, signature: &[u8], frames: &[&[u8]]) -> bool {
        match self.mac_over(frames) {
            None => true,
            Some(mac) => match hex::decode(signature) {
                Ok(raw) => mac.verify_slice(&raw).is_ok(),
                Err(_) => false,
            },
        }
    }
}

/// How many signatures the kernel remembers, as jupyter_client's `Session.digest_history_size`.
const SIGNATURE_HISTORY: usize = 1 << 16;

/// The signatures of the last messages accepted, oldest first: a signed message replayed
/// verbatim (an execute_request run twice) is refused, in bounded memory.
#[derive(Default)]
struct SeenSignatures {
    set: HashSet<Vec<u8>>,
    order: VecDeque<Vec<u8>>,
}

impl SeenSignatures {
    /// Records `signature`; false when it was already there.
    fn first_time(&mut self, signature: &[u8]) -> bool {
        if self.set.contains(signature) {
            return false;
        }
        if self.order.len() == SIGNATURE_HISTORY {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        self.set.insert(signature.to_vec());
        self.order.push_back(signature.to_vec());
        true
    }
}

/// Encodes and decodes messages for one kernel process: its signing key, its session id, and
/// the signatures it has accepted (shared by every channel).
#[derive(Clone)]
pub struct Codec {
    signer: Signer,
    session: String,
    seen: Arc<Mutex<SeenSignatures>>,
}

impl Codec {
    pub fn new(key: &str) -> Self {
        Codec {
            signer: Signer::new(key),
            session: uuid::Uuid::new_v4().to_string(),
            seen: Arc::default(),
        }
    }

    pub fn decode(&self, message: ZmqMessage) -> Result<Request, WireError> {
        let frames = message.into_vec();
        let split = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(WireError::NoDelimiter)?;
        let rest = &frames[split + 1..];
        if rest.len() < 5 {
            return Err(WireError::TooFewFrames(rest.len()));
        }
        let signed = [&rest[1][..], &rest[2][..], &rest[3][..], &rest[4][..]];
        if !self.signer.verify(&rest[0], &signed) {
            return Err(WireError::BadSignature);
        }
        // Unsigned messages all carry the same empty signature: nothing to tell apart.
        let signed = self.signer.mac.is_some();
        if signed && !self.seen.lock().unwrap().first_time(&rest[0]) {
            return Err(WireError::DuplicateSignature);
        }
        let object = |bytes: &Bytes, name| match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(WireError::NotJson(name)),
        };
        let header = object(&rest[1], "header")?;
        object(&rest[2], "parent_header")?;
        object(&rest[3], "metadata")?;
        let content = object(&rest[4], "content")?;
        let msg_type = header
            .get("msg_type")
            .and_then(Value::as_str)
            .ok_or(WireError::NoMsgType)?
            .to_owned();
        Ok(Request {
            identities: frames[..split].to_vec(),
            header,
            msg_type,
            content,
        })
    }

    /// A new message with a fresh header, `parent` as its parent header (`{}` when it has none).
    pub fn encode(
        &self,
        identities: &[Bytes],
        msg_type: &str,
        parent: &Value,
        content: &Value,
    ) -> ZmqMessage {
        let header = json!({
            "msg_id": uuid::Uuid::new_v4().to_string(),
            "session": self.session,
            "username": "kernel",
            "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "msg_type": msg_type,
            "version": PROTOCOL_VERSION,
        });
        let header = serde_json::to_vec(&header).expect("JSON values serialize");
        let parent = serde_json::to_vec(parent).expect("JSON values serialize");
        let metadata = b"{}".to_vec();
        let content = serde_json::to_vec(content).expect("JSON values serialize");
        let signature = self.signer.sign(&[&header, &parent, &metadata, &content]);
        let mut frames: Vec<Bytes> = identities.to_vec();
        frames.push(Bytes::from_static(DELIMITER));
        frames.push(Bytes::from(signature));
        frames.push(Bytes::from(header));
        frames.push(Bytes::from(parent));
        frames.push(Bytes::from(metadata));
        frames.push(Bytes::from(content));
        ZmqMessage::try_from(frames).expect("a message always has frames")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(message: ZmqMessage) -> Vec<Bytes> {
        message.into_vec()
    }

    fn reassemble(frames: Vec<Bytes>) -> ZmqMessage {
        ZmqMessage::try_from(frames).unwrap()
    }

    fn request(codec: &Codec, msg_type: &str, parent: Value) -> ZmqMessage {
        let ids = [Bytes::from_static(b"client-1")];
        codec.encode(&ids, msg_type, &parent, &json!({"code": "run ls"}))
    }

    #[test]
    fn round_trip_keeps_identities_content_and_raw_header() {
        let codec = Codec::new("secret");
        let decoded = codec
            .decode(request(&codec, "execute_request", json!({})))
            .unwrap();
        assert_eq!(decoded.identities, vec![Bytes::from_static(b"client-1")]);
        assert_eq!(decoded.msg_type, "execute_request");
        assert_eq!(decoded.content["code"], "run ls");
        assert_eq!(decoded.header["session"], codec.session.as_str());
    }

    #[test]
    fn header_fields() {
        let codec = Codec::new("k");
        let a = codec.decode(request(&codec, "status", json!({}))).unwrap();
        let b = codec.decode(request(&codec, "status", json!({}))).unwrap();
        assert_ne!(
            a.header["msg_id"], b.header["msg_id"],
            "every message gets a fresh msg_id"
        );
        assert_eq!(a.header["version"], "5.5");
        assert_eq!(a.header["username"], "kernel");
        let date = a.header["date"].as_str().unwrap();
        let fraction = date.split('.').nth(1).unwrap().trim_end_matches('Z');
        assert!(fraction.len() <= 6, "at most 6 fractional digits: {date}");
        chrono::DateTime::parse_from_rfc3339(date).unwrap();
    }

    #[test]
    fn parent_header_is_echoed_verbatim() {
        let codec = Codec::new("k");
        let parent = json!({"msg_id": "abc", "x-unknown": {"nested": [1, 2]}, "date": "weird"});
        let f = frames(request(&codec, "status", parent.clone()));
        let echoed: Value = serde_json::from_slice(&f[4]).unwrap();
        assert_eq!(echoed, parent);
    }

    #[test]
    fn signature_over_the_four_json_frames() {
        let codec = Codec::new("key");
        let f = frames(request(&codec, "status", json!({})));
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
            for frame in &f[3..7] {
                mac.update(frame);
            }
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(f[2], expected.as_bytes());
    }

    #[test]
    fn buffers_are_not_signed() {
        let codec = Codec::new("key");
        let mut f = frames(request(&codec, "comm_msg", json!({})));
        f.push(Bytes::from_static(b"binary buffer"));
        assert!(codec.decode(reassemble(f)).is_ok());
    }

    #[test]
    fn wrong_key_or_tampered_content_is_rejected() {
        let theirs = Codec::new("other key");
        let ours = Codec::new("key");
        let err = ours
            .decode(request(&theirs, "execute_request", json!({})))
            .unwrap_err();
        assert_eq!(err, WireError::BadSignature);

        let mut f = frames(request(&ours, "execute_request", json!({})));
        f[6] = Bytes::from_static(br#"{"code":"run rm -rf /"}"#);
        assert_eq!(
            ours.decode(reassemble(f)).unwrap_err(),
            WireError::BadSignature
        );

        let mut f = frames(request(&ours, "execute_request", json!({})));
        f[2] = Bytes::from_static(b"not hex at all");
        assert_eq!(
            ours.decode(reassemble(f)).unwrap_err(),
            WireError::BadSignature
        );
    }

    #[test]
    fn a_signed_message_is_accepted_once() {
        let codec = Codec::new("key");
        let message = request(&codec, "execute_request", json!({}));
        assert!(codec.decode(message.clone()).is_ok());
        assert_eq!(
            codec.decode(message).unwrap_err(),
            WireError::DuplicateSignature
        );
        let other = request(&codec, "execute_request", json!({}));
        assert!(
            codec.clone().decode(other).is_ok(),
            "a fresh message passes"
        );
    }

    #[test]
    fn the_signature_history_is_bounded_and_forgets_the_oldest() {
        let mut seen = SeenSignatures::default();
        for i in 0..SIGNATURE_HISTORY + 1 {
            assert!(seen.first_time(&i.to_be_bytes()));
        }
        assert_eq!(seen.set.len(), SIGNATURE_HISTORY);
        assert!(
            seen.first_time(&0usize.to_be_bytes()),
            "the oldest is forgotten"
        );
        assert!(!seen.first_time(&SIGNATURE_HISTORY.to_be_bytes()));
    }

    #[test]
    fn empty_key_means_unsigned() {
        let codec = Codec::new("");
        let f = frames(request(&codec, "kernel_info_request", json!({})));
        assert_eq!(f[2], "", "no signature is written");
        assert!(codec.decode(reassemble(f)).is_ok());
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let codec = Codec::new("");
        let msg = |parts: &[&'static [u8]]| {
            reassemble(parts.iter().map(|p| Bytes::from_static(p)).collect())
        };
        assert_eq!(
            codec.decode(msg(&[b"id", b"{}"])).unwrap_err(),
            WireError::NoDelimiter
        );
        assert_eq!(
            codec
                .decode(msg(&[DELIMITER, b"", b"{}", b"{}"]))
                .unwrap_err(),
            WireError::TooFewFrames(3)
        );
        assert_eq!(
            codec
                .decode(msg(&[DELIMITER, b"", b"[1]", b"{}", b"{}", b"{}"]))
                .unwrap_err(),
            WireError::NotJson("header")
        );
        assert_eq!(
            codec
                .decode(msg(&[DELIMITER, b"", b"{}", b"{}", b"{}", b"\xff"]))
                .unwrap_err(),
            WireError::NotJson("content")
        );
        assert_eq!(
            codec
                .decode(msg(&[DELIMITER, b"", b"{}", b"{}", b"{}", b"{}"]))
                .unwrap_err(),
            WireError::NoMsgType
        );
    }
}
