//! `jupyter::serve` over the fake language, on a thread of its own as a kernel process would be.

use crate::fake_language::FakeLanguage;
use crate::frontend::{within, Channel, Frontend};
use playbook::jupyter::{serve, BindError, ConnectionInfo, WireLimits};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;
use tokio::sync::oneshot;

pub struct Kernel {
    connection: ConnectionInfo,
    /// What `serve` returned, once it has.
    stopped: oneshot::Receiver<Result<(), BindError>>,
}

impl Kernel {
    pub fn start() -> Kernel {
        let [shell_port, iopub_port, stdin_port, control_port, hb_port] = free_ports();
        let connection = ConnectionInfo {
            transport: "tcp".into(),
            ip: Ipv4Addr::LOCALHOST.to_string(),
            shell_port,
            iopub_port,
            stdin_port,
            control_port,
            hb_port,
            key: uuid::Uuid::new_v4().to_string(),
            signature_scheme: "hmac-sha256".into(),
        };
        let (done, stopped) = oneshot::channel();
        let info = connection.clone();
        std::thread::spawn(move || {
            // The runtime the kernel binary uses: this thread alone.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the kernel");
            let language = FakeLanguage;
            let serving = serve(&info, WireLimits::default(), &language);
            let _ = done.send(runtime.block_on(serving));
        });
        Kernel {
            connection,
            stopped,
        }
    }

    /// A frontend connected to this kernel. A kernel that stops first, one that could not bind
    /// its ports say, fails the test with its error.
    pub async fn connect(&mut self) -> Frontend {
        tokio::select! {
            frontend = Frontend::connect(&self.connection) => frontend,
            served = &mut self.stopped => {
                panic!("the kernel stopped before a frontend connected: {served:?}")
            }
        }
    }

    /// Asks the kernel to shut down, as a client does, and checks that `serve` returns.
    pub async fn shut_down(self, frontend: &mut Frontend) {
        let request = frontend
            .request(
                Channel::Control,
                "shutdown_request",
                json!({ "restart": false }),
            )
            .await;
        assert_eq!(
            frontend.until_replied(&request).await.summary(),
            "shutdown_reply ok"
        );
        let served = within("serve to return after shutdown", self.stopped).await;
        assert!(matches!(served, Ok(Ok(()))), "serve ended with {served:?}");
    }
}

/// Five ports nothing listens on, found as jupyter_client finds them: bound to port 0, then
/// released for the kernel to bind. Tests run in parallel, and the system could hand a port one
/// test released to another before the first kernel binds it: no port is handed out twice here.
fn free_ports() -> [u16; 5] {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap();
    // Held until all five are chosen, so that the system gives five different ports.
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < 5 {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port on the loopback");
        let port = listener.local_addr().expect("a bound address").port();
        if handed_out.insert(port) {
            ports.push(port);
        }
        held.push(listener);
    }
    ports.try_into().expect("five ports")
}
