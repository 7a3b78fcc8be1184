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
//! and closes behave as if the client were connected directly. After a large message that
//! connection is renewed (see [`renewal`]): ZeroMQ would keep its buffers at that size.

mod frames;
mod renewal;

use super::connection::ConnectionInfo;
use frames::FrameReader;
pub use frames::Oversized;
use renewal::{open, CatchingUp, Conversation, Diverged, Renewal, Talk, BEHIND_KEPT_BYTES};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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
            talk: Talk::of(socket.backend().socket_type()),
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

/// One port of the connection file: its name in the logs, where its socket listens inside, how
/// its clients talk to it, and its live relays.
#[derive(Clone)]
struct Port {
    name: &'static str,
    internal: PathBuf,
    limits: WireLimits,
    talk: Talk,
    relays: Arc<Relays>,
}

/// How long a renewed ROUTER connection is still read once the fresh one is open, when the
/// socket does not close it first.
const HANDOVER: Duration = Duration::from_millis(50);

/// How long a fresh connection may take to answer its opening.
const RENEW_PATIENCE: Duration = Duration::from_secs(1);

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
    /// A duplicate of the descriptor of the connection being passed on, to ask how much is
    /// unread.
    unread: Mutex<OwnedFd>,
    /// Set before a read, cleared once what it read was written to the client.
    in_flight: AtomicBool,
}

impl Outbound {
    fn new(kernel: &UnixStream) -> std::io::Result<Outbound> {
        Ok(Outbound {
            unread: Mutex::new(kernel.as_fd().try_clone_to_owned()?),
            in_flight: AtomicBool::new(false),
        })
    }

    /// Watches `kernel` from now on, instead of the connection it replaced.
    fn watch(&self, kernel: &UnixStream) -> std::io::Result<()> {
        *self.unread.lock().unwrap() = kernel.as_fd().try_clone_to_owned()?;
        Ok(())
    }

    fn passed_on(&self) -> bool {
        // Unread bytes first: bytes read after this check were read with `in_flight` set.
        unread_bytes(&*self.unread.lock().unwrap()) == Some(0)
            && !self.in_flight.load(Ordering::SeqCst)
    }
}

fn unread_bytes(fd: &impl AsRawFd) -> Option<usize> {
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer; the descriptor is open.
    let asked = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut unread) };
    (asked == 0).then_some(unread as usize)
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
        let why = match self.relay_until_closed(client).await {
            Ok(()) => return,
            Err(why) => why,
        };
        match why {
            Stop::Io(e) => log::debug!("{}: {peer}: {e}", self.name),
            Stop::Oversized(why) => {
                log::warn!("{}: dropped the connection from {peer}: {why}", self.name);
            }
        }
    }

    /// Whichever side ends first, both connections are dropped on return: a client that leaves
    /// is a peer ZeroMQ forgets, and a socket that closes is a client that learns it.
    async fn relay_until_closed<C>(&self, client: C) -> Result<(), Stop>
    where
        C: AsyncRead + AsyncWrite + Send + 'static,
    {
        let mut kernel = UnixStream::connect(&self.internal).await?;
        let outbound = Arc::new(Outbound::new(&kernel)?);
        self.relays.add(&outbound);
        let (mut from_client, mut to_client) = tokio::io::split(client);
        let mut talk = Conversation::new(self.talk, self.limits);
        let mut inbound = vec![0u8; 64 * 1024];
        let mut passing = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                read = from_client.read(&mut inbound) => {
                    let n = read?;
                    if n == 0 {
                        return Ok(());
                    }
                    // Inspected before it is written: an oversized header never reaches ZeroMQ.
                    talk.inbound(&inbound[..n]).map_err(Stop::Oversized)?;
                    kernel.write_all(&inbound[..n]).await?;
                }
                ready = kernel.readable() => {
                    ready?;
                    let Some(n) = self.pass_on(&kernel, &mut passing, &mut to_client, &outbound).await? else {
                        return Ok(());
                    };
                    talk.outbound.read(&passing[..n]).map_err(Stop::Oversized)?;
                }
            }
            if talk.due_for_renewal() && unread_bytes(&kernel) == Some(0) {
                match self
                    .renew(&mut talk, &kernel, &mut to_client, &outbound)
                    .await?
                {
                    Renewal::Renewed(fresh) => {
                        outbound.watch(&fresh)?;
                        kernel = fresh;
                    }
                    Renewal::Kept => {}
                    Renewal::Closed => return Ok(()),
                }
                talk.renewed();
            }
        }
    }

    /// Reads what the socket wrote on `kernel` and writes it to the client, keeping `outbound`
    /// true to what is on its way. `None` once the socket closed the connection.
    async fn pass_on<W>(
        &self,
        kernel: &UnixStream,
        buffer: &mut [u8],
        to: &mut W,
        outbound: &Outbound,
    ) -> std::io::Result<Option<usize>>
    where
        W: AsyncWrite + Unpin,
    {
        outbound.in_flight.store(true, Ordering::SeqCst);
        let passed = match kernel.try_read(buffer) {
            Ok(0) => Ok(None),
            Ok(n) => to.write_all(&buffer[..n]).await.map(|()| Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Some(0)),
            Err(e) => Err(e),
        };
        outbound.in_flight.store(false, Ordering::SeqCst);
        self.relays.progress.notify_waiters();
        passed
    }

    /// Opens a fresh connection to the socket and tells it the client's opening. On a ROUTER,
    /// what the socket still sends on the old connection is passed on until the socket closes it
    /// (it does once the fresh one, carrying the client's identity, takes its place) or, for a
    /// client without an identity (to whom nothing is sent unasked), for [`HANDOVER`]. On a PUB
    /// both get what is published until the old one brings the message the fresh one began
    /// with: from there on the fresh one is passed on. Either way nothing is lost or doubled.
    async fn renew<W>(
        &self,
        talk: &mut Conversation,
        old: &UnixStream,
        to_client: &mut W,
        outbound: &Outbound,
    ) -> Result<Renewal, Stop>
    where
        W: AsyncWrite + Unpin,
    {
        let opening = talk.opening.as_deref().unwrap_or_default();
        let opened = tokio::time::timeout(RENEW_PATIENCE, open(&self.internal, opening)).await;
        let Ok(Ok(mut fresh)) = opened else {
            log::debug!(
                "{}: could not open a fresh connection to the socket",
                self.name
            );
            return Ok(Renewal::Kept);
        };
        let mut buffer = vec![0u8; 64 * 1024];
        if talk.talk == Talk::Requests {
            let handed_over = tokio::time::sleep(HANDOVER);
            tokio::pin!(handed_over);
            loop {
                tokio::select! {
                    ready = old.readable() => {
                        ready?;
                        match self.pass_on(old, &mut buffer, to_client, outbound).await? {
                            None => break,
                            Some(n) => talk.outbound.read(&buffer[..n]).map_err(Stop::Oversized)?,
                        }
                    }
                    _ = &mut handed_over, if talk.outbound.between_messages() => break,
                }
            }
            return Ok(Renewal::Renewed(fresh));
        }
        let mut fresh_frames = FrameReader::opened(u64::MAX);
        let mut catching_up = CatchingUp::default();
        loop {
            tokio::select! {
                ready = old.readable() => {
                    ready?;
                    let Some(n) = self.pass_on(old, &mut buffer, to_client, outbound).await? else {
                        return Ok(Renewal::Closed);
                    };
                    catching_up.old(&buffer[..n], &mut talk.outbound)?;
                }
                read = fresh.read(&mut buffer) => {
                    let n = read?;
                    if n == 0 {
                        return Ok(Renewal::Kept);
                    }
                    catching_up.fresh(&buffer[..n], &mut fresh_frames)?;
                }
            }
            if catching_up.held() > BEHIND_KEPT_BYTES {
                log::debug!("{}: the fresh connection did not catch up", self.name);
                return Ok(Renewal::Kept);
            }
            if !talk.outbound.between_messages() {
                continue;
            }
            match catching_up.ahead() {
                Ok(Some(ahead)) => {
                    outbound.in_flight.store(true, Ordering::SeqCst);
                    let written = to_client.write_all(&ahead).await;
                    outbound.in_flight.store(false, Ordering::SeqCst);
                    written?;
                    talk.outbound = fresh_frames;
                    return Ok(Renewal::Renewed(fresh));
                }
                Ok(None) => {}
                Err(Diverged) => {
                    log::warn!(
                        "{}: a fresh connection saw other messages than the old one",
                        self.name
                    );
                    return Ok(Renewal::Kept);
                }
            }
        }
    }
}

/// Why a relay stopped early.
pub(super) enum Stop {
    Io(std::io::Error),
    Oversized(Oversized),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Io(e)
    }
}
