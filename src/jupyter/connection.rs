//! The connection file a Jupyter frontend writes before it launches the kernel.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What the kernel reads from the connection file; unknown fields (`kernel_name`, ...) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionInfo {
    #[serde(default = "default_transport")]
    pub transport: String,
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    /// An empty key means messages are neither signed nor verified.
    #[serde(default)]
    pub key: String,
    #[serde(default = "default_scheme")]
    pub signature_scheme: String,
}

fn default_transport() -> String {
    "tcp".into()
}

fn default_scheme() -> String {
    "hmac-sha256".into()
}

/// A connection file this kernel cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot read connection file {}: {why}", path.display())]
    Read { path: PathBuf, why: std::io::Error },
    #[error("connection file {} is not valid: {why}", path.display())]
    Invalid {
        path: PathBuf,
        why: serde_json::Error,
    },
    #[error("connection file {}: signature_scheme {scheme:?} is not supported (only hmac-sha256)", path.display())]
    Scheme { path: PathBuf, scheme: String },
    #[error("connection file {}: transport {transport:?} is not supported (tcp or ipc)", path.display())]
    Transport { path: PathBuf, transport: String },
}

impl ConnectionInfo {
    pub fn read(path: &Path) -> Result<Self, ConnectionError> {
        let path_buf = || path.to_owned();
        let text = std::fs::read_to_string(path).map_err(|why| ConnectionError::Read {
            path: path_buf(),
            why,
        })?;
        let info: ConnectionInfo =
            serde_json::from_str(&text).map_err(|why| ConnectionError::Invalid {
                path: path_buf(),
                why,
            })?;
        if info.signature_scheme != "hmac-sha256" {
            return Err(ConnectionError::Scheme {
                path: path_buf(),
                scheme: info.signature_scheme,
            });
        }
        if info.transport != "tcp" && info.transport != "ipc" {
            return Err(ConnectionError::Transport {
                path: path_buf(),
                transport: info.transport,
            });
        }
        Ok(info)
    }

    /// The ZeroMQ endpoint for one of the ports: `tcp://ip:port`, or `ipc://ip-port` as
    /// jupyter_client names ipc sockets.
    pub fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}", self.ipc_path(port).display()),
            _ => format!("tcp://{}:{}", self.ip, port),
        }
    }

    /// The Unix socket of one of the ports when the transport is ipc.
    pub fn ipc_path(&self, port: u16) -> PathBuf {
        PathBuf::from(format!("{}-{}", self.ip, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ConnectionInfo {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tcp_and_ipc_endpoints() {
        let tcp = parse(
            r#"{"ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,
                "control_port":4,"hb_port":5,"key":"k","transport":"tcp",
                "signature_scheme":"hmac-sha256","kernel_name":"playbook"}"#,
        );
        assert_eq!(tcp.endpoint(tcp.shell_port), "tcp://127.0.0.1:1");
        let ipc = parse(
            r#"{"ip":"/tmp/kernel-x","shell_port":1,"iopub_port":2,"stdin_port":3,
                "control_port":4,"hb_port":5,"transport":"ipc"}"#,
        );
        assert_eq!(ipc.endpoint(ipc.hb_port), "ipc:///tmp/kernel-x-5");
        assert_eq!(ipc.key, "");
    }
}
