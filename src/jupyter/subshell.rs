//! Kernel subshells (JEP 91): shell queues beside the main one, made and removed on control.
//!
//! A shell request names its queue in the header's `subshell_id` (none: the main shell). Each
//! queue runs its requests one at a time, in order; the queues run at once, so a probe in a
//! subshell answers while a long command holds the main shell.

use super::wire::Request;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// One queue of shell requests and what the server keeps for it.
pub struct Lane {
    /// `None` for the main shell.
    pub id: Option<String>,
    pub queue: UnboundedReceiver<Request>,
    /// Requests taken off the queue while aborting executions after an error, to serve next.
    pub deferred: VecDeque<Request>,
}

impl Lane {
    fn new(id: Option<String>) -> (UnboundedSender<Request>, Lane) {
        let (sender, queue) = unbounded_channel();
        let lane = Lane {
            id,
            queue,
            deferred: VecDeque::new(),
        };
        (sender, lane)
    }
}

/// The subshells that exist, shared by the shell reader (which routes), control (which makes
/// and removes them) and the shell (which serves them).
#[derive(Clone)]
pub struct Subshells(Arc<Mutex<Registry>>);

struct Registry {
    main: UnboundedSender<Request>,
    others: BTreeMap<String, UnboundedSender<Request>>,
    /// Where a new subshell's lane goes, for the shell to serve.
    created: UnboundedSender<Lane>,
}

/// A request for a subshell that does not exist (any more).
#[derive(Debug)]
pub struct UnknownSubshell(pub String);

impl UnknownSubshell {
    /// The reply's content, as ipykernel words it.
    pub fn reply(&self) -> Value {
        json!({
            "status": "error",
            "ename": "UnknownSubshellError",
            "evalue": format!("unknown subshell_id {:?}", self.0),
            "traceback": [],
        })
    }
}

impl Subshells {
    /// The registry, the main shell's lane, and where the lanes of subshells made later arrive.
    pub fn new() -> (Subshells, Lane, UnboundedReceiver<Lane>) {
        let (main, lane) = Lane::new(None);
        let (created, arrivals) = unbounded_channel();
        let registry = Registry {
            main,
            others: BTreeMap::new(),
            created,
        };
        (Subshells(Arc::new(Mutex::new(registry))), lane, arrivals)
    }

    /// Queues `request` on the lane its header names.
    pub fn route(&self, request: Request) -> Result<(), UnknownSubshell> {
        let registry = self.0.lock().unwrap();
        let queue = match subshell_of(&request) {
            None => &registry.main,
            Some(id) => registry
                .others
                .get(&id)
                .ok_or_else(|| UnknownSubshell(id.clone()))?,
        };
        // A lane's receiver lives as long as the shell serves; a send after that is moot.
        let _ = queue.send(request);
        Ok(())
    }

    /// Whether the lane `id` still exists: a deleted subshell's queued requests are refused.
    pub fn exists(&self, id: Option<&str>) -> bool {
        id.is_none_or(|id| self.0.lock().unwrap().others.contains_key(id))
    }

    /// The content of the reply to a create, delete or list request on control; `None` for a
    /// request of another kind.
    pub fn answer(&self, request: &Request) -> Option<Value> {
        let mut registry = self.0.lock().unwrap();
        Some(match request.msg_type.as_str() {
            "create_subshell_request" => {
                let id = uuid::Uuid::new_v4().to_string();
                let (sender, lane) = Lane::new(Some(id.clone()));
                registry.others.insert(id.clone(), sender);
                let _ = registry.created.send(lane);
                json!({ "status": "ok", "subshell_id": id })
            }
            "delete_subshell_request" => {
                let id = request.content["subshell_id"].as_str().unwrap_or_default();
                match registry.others.remove(id) {
                    Some(_) => json!({ "status": "ok" }),
                    None => UnknownSubshell(id.to_owned()).reply(),
                }
            }
            "list_subshell_request" => {
                json!({ "status": "ok", "subshell_id": registry.others.keys().collect::<Vec<_>>() })
            }
            _ => return None,
        })
    }
}

/// The subshell a request's header names; `None` (or `null`) is the main shell. An id that is
/// not a string names no subshell there is, and is refused, not taken for the main shell.
pub fn subshell_of(request: &Request) -> Option<String> {
    match &request.header["subshell_id"] {
        Value::Null => None,
        Value::String(id) => Some(id.clone()),
        other => Some(other.to_string()),
    }
}
