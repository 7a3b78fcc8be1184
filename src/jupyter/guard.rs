//! The transport guard: the kernel's own listener on each port of the connection file, in front
//! of the ZeroMQ socket.
//!
//! The zeromq crate reserves whatever length a frame header announces, so one header claiming a
//! terabyte aborts the process before any signature is checked, and the crate has no limit to
//! set. So the public ports are ours: each accepted connection is relayed, byte for byte, to the
//! ZeroMQ socket bound on a private endpoint (a Unix socket in a directory only this user can
//! enter), and the bytes going in are read as they pass: the 64-byte greeting, then each frame's
//! header (flags, then a 1- or 8-byte big-endian length), commands included. A connection whose
//! frame or message announces more than the limit is dropped, and logged, before the header
//! reaches ZeroMQ. Each client keeps a connection of its own to the socket, so ROUTER identities
//! and closes behave as if the client were connected directly.

use super::connection::ConnectionInfo;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::Notify;
use zeromq::Socket;

/// The most a frame, or a message of several frames, may hold, unless configured otherwise.
const DEFAULT_MAX_MESSAGE_BYTES: u64 = 256 * 1024 * 1024;

/// What the guard lets through.
#[derive(Debug, Clone, Copy)]
pub struct WireLimits {
    /// The most bytes one frame, and one message (all its frames), may announce.
    pub max_message_bytes: u64,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// A port that could not be served.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("cannot bind to {endpoint}: {why}")]
    Public {
        endpoint: String,
        why: std::io::Error,
    },
    #[error("cannot bind the kernel's internal endpoint {endpoint}: {why}")]
    Internal {
        endpoint: String,
        why: zeromq::ZmqError,
    },
    #[error("cannot create a private directory for the kernel's internal endpoints: {0}")]
    PrivateDirectory(std::io::Error),
}

/// The private directory of the internal endpoints, and the ipc files of the public ones; both
/// are removed when the guard is dropped.
pub struct Guard {
    info: ConnectionInfo,
    limits: WireLimits,
    private: tempfile::TempDir,
    public_files: Vec<PathBuf>,
    ports: Vec<(&'static str, Arc<Relays>)>,
}

impl Guard {
    pub fn new(info: &ConnectionInfo, limits: WireLimits) -> Result<Guard, BindError> {
        // tempfile creates the directory with mode 0700: no other user reaches the sockets
        // behind the guard.
        let private = tempfile::Builder::new()
            .prefix("playbook-kernel-")
            .tempdir()
            .map_err(BindError::PrivateDirectory)?;
        Ok(Guard {
            info: info.clone(),
            limits,
            private,
            public_files: Vec::new(),
            ports: Vec::new(),
        })
    }

    /// Resolves once what the socket behind `port` has written has been passed on to its
    /// clients, or after [`DRAIN_PATIENCE`] for a client that does not read. The extra hop would
    /// otherwise let a reply on shell overtake the outputs IOPub sent before it, or the process
    /// end before a shutdown_reply got out.
    pub async fn drained(&self, port: &str) {
        for (_, relays) in self.ports.iter().filter(|(name, _)| *name == port) {
            relays.drained().await;
        }
    }

    /// [`Guard::drained`] for every port.
    pub async fn all_drained(&self) {
        for (_, relays) in &self.ports {
            relays.drained().await;
        }
    }

    /// Binds `socket` on a private endpoint and starts relaying `port` of the connection file
    /// to it.
    pub async fn bind<S: Socket>(
        &mut self,
        socket: &mut S,
        name: &'static str,
        port: u16,
    ) -> Result<(), BindError> {
        let internal = self.private.path().join(name);
        let endpoint = format!("ipc://{}", internal.display());
        if let Err(why) = socket.bind(&endpoint).await {
            return Err(BindError::Internal { endpoint, why });
        }
        let public = self.info.endpoint(port);
        let public_error = |why| BindError::Public {
            endpoint: public.clone(),
            why,
        };
        let listener = if self.info.transport == "ipc" {
            let path = self.info.ipc_path(port);
            let listener = UnixListener::bind(&path).map_err(public_error)?;
            self.public_files.push(path);
            Listener::Unix(listener)
        } else {
            // ZeroMQ's wildcard, which some connection files carry.
            let host = match self.info.ip.as_str() {
                "*" => "0.0.0.0",
                ip => ip,
            };
            let address = (host, port);
            Listener::Tcp(TcpListener::bind(address).await.map_err(public_error)?)
        };
        let relays = Arc::new(Relays::default());
        self.ports.push((name, relays.clone()));
        let port = Port {
            name,
            internal,
            limits: self.limits,
            relays,
        };
        tokio::spawn(port.accept(listener));
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for path in &self.public_files {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// One port of the connection file: its name in the logs, where its socket listens inside, and
/// its live relays.
#[derive(Clone)]
struct Port {
    name: &'static str,
    internal: PathBuf,
    limits: WireLimits,
    relays: Arc<Relays>,
}

/// How long [`Guard::drained`] waits for a client that does not read.
const DRAIN_PATIENCE: Duration = Duration::from_secs(1);

/// The relays of one port, as seen by whoever waits for them to pass everything on.
#[derive(Default)]
struct Relays {
    live: Mutex<Vec<Weak<Outbound>>>,
    /// Told each time a relay has passed bytes on.
    progress: Notify,
}

impl Relays {
    fn add(&self, outbound: &Arc<Outbound>) {
        let mut live = self.live.lock().unwrap();
        live.retain(|relay| relay.strong_count() > 0);
        live.push(Arc::downgrade(outbound));
    }

    fn all_passed_on(&self) -> bool {
        let live = self.live.lock().unwrap();
        live.iter()
            .filter_map(Weak::upgrade)
            .all(|relay| relay.passed_on())
    }

    async fn drained(&self) {
        let waiting = async {
            while !self.all_passed_on() {
                // A relay tells of its progress; the short timeout covers bytes that arrive
                // between the check and the wait.
                let _ =
                    tokio::time::timeout(Duration::from_millis(1), self.progress.notified()).await;
            }
        };
        let _ = tokio::time::timeout(DRAIN_PATIENCE, waiting).await;
    }
}

/// The kernel-to-client half of one relay: whether anything the socket wrote is still on its
/// way.
struct Outbound {
    /// A duplicate of the internal connection's descriptor, to ask how much is unread.
    unread: OwnedFd,
    /// Set before a read, cleared once what it read was written to the client.
    in_flight: AtomicBool,
}

impl Outbound {
    fn passed_on(&self) -> bool {
        // Unread bytes first: bytes read after this check were read with `in_flight` set.
        let mut unread: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer; the descriptor is ours.
        let asked = unsafe { libc::ioctl(self.unread.as_raw_fd(), libc::FIONREAD, &mut unread) };
        asked == 0 && unread == 0 && !self.in_flight.load(Ordering::SeqCst)
    }
}

impl Port {
    async fn accept(self, listener: Listener) {
        loop {
            let accepted = match &listener {
                Listener::Tcp(listener) => listener.accept().await.map(|(stream, peer)| {
                    // ZeroMQ's own connections do the same: small messages go out at once.
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(self.clone().relay(stream, peer.to_string()));
                }),
                Listener::Unix(listener) => listener.accept().await.map(|(stream, _)| {
                    tokio::spawn(self.clone().relay(stream, "a local process".into()));
                }),
            };
            if let Err(e) = accepted {
                // Out of file descriptors, say: wait a little rather than spin.
                log::warn!("{}: cannot accept a connection: {e}", self.name);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Relays one client's connection until either side closes it or the client oversteps.
    async fn relay<C>(self, client: C, peer: String)
    where
        C: AsyncRead + AsyncWrite + Send + 'static,
    {
        let kernel = match UnixStream::connect(&self.internal).await {
            Ok(kernel) => kernel,
            Err(e) => {
                log::warn!(
                    "{}: cannot reach the socket behind the guard: {e}",
                    self.name
                );
                return;
            }
        };
        let outbound = match kernel_side(&kernel) {
            Ok(outbound) => Arc::new(outbound),
            Err(e) => {
                log::warn!(
                    "{}: cannot watch the socket behind the guard: {e}",
                    self.name
                );
                return;
            }
        };
        self.relays.add(&outbound);
        let (mut from_client, mut to_client) = tokio::io::split(client);
        let (from_kernel, mut to_kernel) = kernel.into_split();
        let inbound = inspect_and_forward(&mut from_client, &mut to_kernel, self.limits);
        let outbound = pass_on(&from_kernel, &mut to_client, &outbound, &self.relays);
        // Whichever side ends first, both connections are dropped here: a client that leaves
        // is a peer ZeroMQ forgets, and a socket that closes is a client that learns it.
        tokio::select! {
            ended = inbound => match ended {
                Ok(()) => {}
                Err(Stop::Io(e)) => log::debug!("{}: {peer}: {e}", self.name),
                Err(Stop::Oversized(why)) => {
                    log::warn!("{}: dropped the connection from {peer}: {why}", self.name);
                }
            },
            _ = outbound => {}
        }
    }
}

fn kernel_side(kernel: &UnixStream) -> std::io::Result<Outbound> {
    use std::os::fd::AsFd;
    Ok(Outbound {
        unread: kernel.as_fd().try_clone_to_owned()?,
        in_flight: AtomicBool::new(false),
    })
}

/// Copies what the socket writes to the client, keeping `outbound` true to what is on its way.
async fn pass_on<W>(
    from: &tokio::net::unix::OwnedReadHalf,
    to: &mut W,
    outbound: &Outbound,
    relays: &Relays,
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        from.readable().await?;
        outbound.in_flight.store(true, Ordering::SeqCst);
        let read = from.try_read(&mut buffer);
        let passed = match read {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buffer[..n]).await,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        };
        outbound.in_flight.store(false, Ordering::SeqCst);
        relays.progress.notify_waiters();
        passed?;
    }
}

/// Why the inbound relay stopped early.
enum Stop {
    Io(std::io::Error),
    Oversized(Oversized),
}

async fn inspect_and_forward<R, W>(from: &mut R, to: &mut W, limits: WireLimits) -> Result<(), Stop>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::new(limits);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buffer).await.map_err(Stop::Io)?;
        if n == 0 {
            return Ok(());
        }
        // Inspected before it is written: an oversized header never reaches ZeroMQ.
        frames.read(&buffer[..n]).map_err(Stop::Oversized)?;
        to.write_all(&buffer[..n]).await.map_err(Stop::Io)?;
    }
}

/// A frame or message larger than the limit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Oversized {
    #[error("a frame of {announced} bytes exceeds the limit of {limit} bytes")]
    Frame { announced: u64, limit: u64 },
    #[error("a message of more than {announced} bytes exceeds the limit of {limit} bytes")]
    Message { announced: u64, limit: u64 },
}

/// ZMTP 3 framing as the bytes go by: where each frame header starts and what it announces.
/// Only sizes are read; everything else is left for ZeroMQ to judge.
struct FrameReader {
    limit: u64,
    at: Position,
    /// What the frames of the current message announced so far.
    message: u64,
}

#[derive(Debug, Clone, Copy)]
enum Position {
    Greeting { left: usize },
    Flags,
    Length { flags: u8, left: u8, value: u64 },
    Body { left: u64 },
}

const GREETING_BYTES: usize = 64;
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

impl FrameReader {
    fn new(limits: WireLimits) -> Self {
        FrameReader {
            limit: limits.max_message_bytes,
            at: Position::Greeting {
                left: GREETING_BYTES,
            },
            message: 0,
        }
    }

    fn read(&mut self, mut bytes: &[u8]) -> Result<(), Oversized> {
        while let Some((&first, rest)) = bytes.split_first() {
            match self.at {
                Position::Greeting { left } => {
                    let taken = left.min(bytes.len());
                    bytes = &bytes[taken..];
                    self.at = match left - taken {
                        0 => Position::Flags,
                        left => Position::Greeting { left },
                    };
                }
                Position::Body { left } => {
                    let taken = left.min(bytes.len() as u64);
                    bytes = &bytes[taken as usize..];
                    self.at = match left - taken {
                        0 => Position::Flags,
                        left => Position::Body { left },
                    };
                }
                Position::Flags => {
                    let left = if first & LONG != 0 { 8 } else { 1 };
                    self.at = Position::Length {
                        flags: first,
                        left,
                        value: 0,
                    };
                    bytes = rest;
                }
                Position::Length { flags, left, value } => {
                    let value = value << 8 | u64::from(first);
                    bytes = rest;
                    self.at = match left - 1 {
                        0 => self.frame(flags, value)?,
                        left => Position::Length { flags, left, value },
                    };
                }
            }
        }
        Ok(())
    }

    /// A whole header was read: judges it, and says what comes next.
    fn frame(&mut self, flags: u8, length: u64) -> Result<Position, Oversized> {
        let limit = self.limit;
        if length > limit {
            return Err(Oversized::Frame {
                announced: length,
                limit,
            });
        }
        // Commands (the handshake's READY, say) are not part of a message.
        if flags & COMMAND == 0 {
            self.message = self.message.saturating_add(length);
            if self.message > limit {
                return Err(Oversized::Message {
                    announced: self.message,
                    limit,
                });
            }
            if flags & MORE == 0 {
                self.message = 0;
            }
        }
        Ok(match length {
            0 => Position::Flags,
            left => Position::Body { left },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(limit: u64) -> FrameReader {
        FrameReader::new(WireLimits {
            max_message_bytes: limit,
        })
    }

    fn greeting() -> Vec<u8> {
        let mut g = vec![0u8; GREETING_BYTES];
        g[0] = 0xff;
        g[9] = 0x7f;
        g
    }

    #[test]
    fn a_huge_long_header_is_refused_before_its_body() {
        let mut bytes = greeting();
        bytes.push(LONG);
        bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let err = reader(1024).read(&bytes).unwrap_err();
        assert_eq!(
            err,
            Oversized::Frame {
                announced: 1 << 40,
                limit: 1024
            }
        );
    }

    #[test]
    fn frames_within_the_limit_pass_byte_by_byte() {
        let mut bytes = greeting();
        // A READY command, then a message of two frames, short and long.
        bytes.extend_from_slice(&[COMMAND, 3, b'a', b'b', b'c']);
        bytes.extend_from_slice(&[MORE, 2, b'x', b'y']);
        bytes.push(LONG);
        bytes.extend_from_slice(&300u64.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, 300));
        let mut r = reader(302);
        for byte in &bytes {
            r.read(std::slice::from_ref(byte)).unwrap();
        }
        assert!(matches!(r.at, Position::Flags), "{:?}", r.at);
        assert_eq!(r.message, 0, "the message ended with its last frame");
    }

    #[test]
    fn a_message_is_limited_as_a_whole() {
        let mut bytes = greeting();
        for _ in 0..3 {
            bytes.extend_from_slice(&[MORE, 100]);
            bytes.extend(std::iter::repeat_n(0u8, 100));
        }
        let err = reader(250).read(&bytes).unwrap_err();
        assert_eq!(
            err,
            Oversized::Message {
                announced: 300,
                limit: 250
            }
        );
    }
}
