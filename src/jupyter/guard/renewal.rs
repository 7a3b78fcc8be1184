//! Renewing the connection behind a relay once a large message has passed.

use super::frames::{FrameReader, Oversized, Unit};
use super::{Stop, WireLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use zeromq::SocketType;

/// How the clients of a port talk to its socket, which decides when the connection behind a
/// relay may be replaced (see [`RENEW_AFTER_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Talk {
    /// Each message a client sends is answered by one message back (ROUTER: shell, control,
    /// stdin): a connection with no answer owed is quiet.
    Requests,
    /// A client only subscribes; the socket publishes whenever it likes (XPUB: IOPub).
    Subscriptions,
    /// Never replaced (the heartbeat's REP, whose messages are a few bytes).
    Other,
}

impl Talk {
    pub(super) fn of(socket_type: SocketType) -> Talk {
        match socket_type {
            SocketType::ROUTER => Talk::Requests,
            SocketType::PUB | SocketType::XPUB => Talk::Subscriptions,
            _ => Talk::Other,
        }
    }
}

/// ZeroMQ keeps the buffers of a connection at the largest size a message made them, for as long
/// as the connection lives: after a 100 MB cell, 100 MiB for reading it on shell and 100 MiB for
/// echoing it on IOPub. So once a message at least this large has passed and the connection is
/// quiet, the guard opens a fresh connection to the socket, tells it what the client said to open
/// its own (greeting, READY, subscriptions), and drops the old one, buffers and all.
const RENEW_AFTER_BYTES: u64 = 8 << 20;

/// The most a client's opening (and, on IOPub, its subscriptions) may hold for the guard to keep
/// it to tell a fresh connection; a client that says more keeps its connection.
const OPENING_KEPT_BYTES: usize = 64 << 10;

/// How far the fresh connection of a PUB may get ahead of the old one before the guard gives up
/// on it.
pub(super) const BEHIND_KEPT_BYTES: usize = 64 << 20;

/// Two connections to one PUB socket while the fresh one catches up with the old: each gets
/// every message from the moment it subscribed, in the same order, so the fresh one's messages
/// are the old one's from some point on.
#[derive(Default)]
pub(super) struct CatchingUp {
    /// Whole messages the old connection passed on since the fresh one was opened, and the one
    /// being read.
    passed: Vec<Vec<u8>>,
    old_partial: Vec<u8>,
    /// Whole messages the fresh connection received, and the one being read.
    received: Vec<Vec<u8>>,
    fresh_partial: Vec<u8>,
}

/// The connections disagree: the fresh one's messages are not the old one's.
pub(super) struct Diverged;

impl CatchingUp {
    pub(super) fn old(&mut self, bytes: &[u8], frames: &mut FrameReader) -> Result<(), Stop> {
        read_messages(bytes, frames, &mut self.old_partial, &mut self.passed)
    }

    pub(super) fn fresh(&mut self, bytes: &[u8], frames: &mut FrameReader) -> Result<(), Stop> {
        read_messages(bytes, frames, &mut self.fresh_partial, &mut self.received)
    }

    pub(super) fn held(&self) -> usize {
        let whole = |messages: &[Vec<u8>]| messages.iter().map(Vec::len).sum::<usize>();
        whole(&self.passed)
            + whole(&self.received)
            + self.old_partial.len()
            + self.fresh_partial.len()
    }

    /// Once the fresh connection has received everything the old one passed on since the
    /// fresh one's first message: the bytes it has beyond that, which the client has yet to see.
    pub(super) fn ahead(&self) -> Result<Option<Vec<u8>>, Diverged> {
        let Some(first) = self.received.first() else {
            return Ok(None);
        };
        let Some(from) = self.passed.iter().position(|message| message == first) else {
            return Ok(None);
        };
        let overlap = &self.passed[from..];
        if self.received.len() < overlap.len() {
            return Ok(None);
        }
        if self.received[..overlap.len()] != *overlap {
            return Err(Diverged);
        }
        let mut ahead = self.received[overlap.len()..].concat();
        ahead.extend_from_slice(&self.fresh_partial);
        Ok(Some(ahead))
    }
}

/// Splits `bytes` into whole messages (commands are dropped), continuing `partial`.
fn read_messages(
    mut bytes: &[u8],
    frames: &mut FrameReader,
    partial: &mut Vec<u8>,
    whole: &mut Vec<Vec<u8>>,
) -> Result<(), Stop> {
    while !bytes.is_empty() {
        let (used, ended) = frames.read_unit(bytes).map_err(Stop::Oversized)?;
        partial.extend_from_slice(&bytes[..used]);
        bytes = &bytes[used..];
        match ended {
            Some(Unit::Message { .. }) => whole.push(std::mem::take(partial)),
            Some(_) => partial.clear(),
            None => {}
        }
    }
    Ok(())
}

/// How an attempt to renew a relay's connection to the socket ended.
pub(super) enum Renewal {
    Renewed(UnixStream),
    /// The fresh connection failed: the old one stays.
    Kept,
    /// The socket closed the old connection meanwhile.
    Closed,
}

/// Connects to the socket behind the guard, tells it `opening`, and reads its own greeting and
/// READY, which the client already has.
pub(super) async fn open(
    internal: &std::path::Path,
    opening: &[u8],
) -> std::io::Result<UnixStream> {
    let mut fresh = UnixStream::connect(internal).await?;
    fresh.write_all(opening).await?;
    // Byte by byte, so that nothing after READY (a message already published) is read here.
    let mut frames = FrameReader::new(OPENING_KEPT_BYTES as u64);
    let mut byte = [0u8; 1];
    loop {
        fresh.read_exact(&mut byte).await?;
        let (_, ended) = frames
            .read_unit(&byte)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        match ended {
            Some(Unit::Command) => return Ok(fresh),
            Some(Unit::Message { .. }) => {
                return Err(std::io::Error::other(
                    "the socket did not answer with READY",
                ))
            }
            Some(Unit::Greeting) | None => {}
        }
    }
}

/// What one relay has seen pass, both ways.
pub(super) struct Conversation {
    pub(super) talk: Talk,
    inbound: FrameReader,
    pub(super) outbound: FrameReader,
    /// What the client said to open its connection (greeting, commands, and on IOPub its
    /// subscriptions), to tell a fresh one; `None` once it said more than is kept.
    pub(super) opening: Option<Vec<u8>>,
    /// Whether [`Conversation::opening`] is still growing, and its length at the last whole unit.
    opening_complete: bool,
    opening_whole: usize,
    /// Messages from the client since the connection was opened (the socket's are counted by
    /// `outbound`).
    requests: u64,
    /// Whether a message of [`RENEW_AFTER_BYTES`] or more passed since the connection was opened.
    grown: bool,
}

impl Conversation {
    pub(super) fn new(talk: Talk, limits: WireLimits) -> Self {
        Conversation {
            talk,
            inbound: FrameReader::new(limits.max_message_bytes),
            outbound: FrameReader::new(u64::MAX),
            opening: (talk != Talk::Other).then(Vec::new),
            opening_complete: false,
            opening_whole: 0,
            requests: 0,
            grown: false,
        }
    }

    pub(super) fn inbound(&mut self, mut bytes: &[u8]) -> Result<(), Oversized> {
        while !bytes.is_empty() {
            let (used, ended) = self.inbound.read_unit(bytes)?;
            self.keep_opening(&bytes[..used], ended);
            if let Some(Unit::Message { bytes }) = ended {
                self.requests += 1;
                self.grown |= bytes >= RENEW_AFTER_BYTES;
            }
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// Keeps what opens the connection: on a ROUTER, everything before the first message; on a
    /// PUB, everything (subscriptions are messages).
    fn keep_opening(&mut self, bytes: &[u8], ended: Option<Unit>) {
        let Some(opening) = &mut self.opening else {
            return;
        };
        if self.opening_complete {
            return;
        }
        opening.extend_from_slice(bytes);
        match ended {
            Some(Unit::Message { .. }) if self.talk == Talk::Requests => {
                opening.truncate(self.opening_whole);
                self.opening_complete = true;
            }
            Some(_) => self.opening_whole = opening.len(),
            None => {}
        }
        if opening.len() > OPENING_KEPT_BYTES {
            self.opening = None;
        }
    }

    pub(super) fn due_for_renewal(&mut self) -> bool {
        // What the socket sent counts once whole.
        self.grown |= self.outbound.largest_message >= RENEW_AFTER_BYTES;
        let quiet = match self.talk {
            Talk::Requests => self.requests == self.outbound.messages && self.opening_complete,
            Talk::Subscriptions => true,
            Talk::Other => false,
        };
        self.grown
            && quiet
            && self.opening.is_some()
            && self.inbound.between_messages()
            && self.outbound.between_messages()
    }

    /// After an attempt, renewed or not: the next waits for the next large message.
    pub(super) fn renewed(&mut self) {
        self.grown = false;
        self.outbound.largest_message = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-frame message on the wire.
    fn message(text: &str) -> Vec<u8> {
        let mut bytes = vec![0, text.len() as u8];
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    fn catching_up(old: &[&str], fresh: &[&str], fresh_partial: &[u8]) -> CatchingUp {
        let mut c = CatchingUp::default();
        let (mut old_frames, mut fresh_frames) =
            (FrameReader::opened(u64::MAX), FrameReader::opened(u64::MAX));
        for m in old {
            c.old(&message(m), &mut old_frames).ok().unwrap();
        }
        let mut fresh_bytes: Vec<u8> = fresh.iter().flat_map(|m| message(m)).collect();
        fresh_bytes.extend_from_slice(fresh_partial);
        c.fresh(&fresh_bytes, &mut fresh_frames).ok().unwrap();
        c
    }

    #[test]
    fn the_fresh_connection_takes_over_after_the_old_ones_last_message() {
        // The fresh one subscribed while "b" was published: it begins there.
        let c = catching_up(&["a", "b", "c"], &["b", "c", "d"], &[0, 3, b'e']);
        let mut expected = message("d");
        expected.extend_from_slice(&[0, 3, b'e']);
        assert_eq!(c.ahead().ok().unwrap(), Some(expected));
    }

    #[test]
    fn no_take_over_while_the_fresh_one_is_behind_or_the_old_one_has_not_seen_its_first() {
        assert!(catching_up(&["a", "b", "c"], &["b"], &[])
            .ahead()
            .ok()
            .unwrap()
            .is_none());
        assert!(catching_up(&["a"], &["b"], &[])
            .ahead()
            .ok()
            .unwrap()
            .is_none());
        assert!(catching_up(&["a"], &[], &[])
            .ahead()
            .ok()
            .unwrap()
            .is_none());
    }

    #[test]
    fn connections_that_disagree_are_not_joined() {
        assert!(catching_up(&["a", "b", "c"], &["b", "x"], &[])
            .ahead()
            .is_err());
    }
}
