//! `usage_request` on control, answered as ipykernel answers it, so that jupyter-resource-usage
//! shows the kernel's CPU and memory (with everything it started) instead of logging an unknown
//! message. Read from `/proc`; on a system without it the figures are left out, not invented.

use serde_json::{json, Map, Value};
use std::sync::Mutex;

/// CPU time of the kernel's processes and of the host at the previous request: percentages are
/// over the time between two requests, as psutil's `cpu_percent(None)` are (the first is 0), and
/// the kernel's is of one CPU, so a kernel busy on two reads 200.
#[derive(Default)]
pub struct Usage {
    previous: Mutex<Option<Sample>>,
}

#[derive(Clone, Copy)]
struct Sample {
    /// When: the host's CPU ticks over its number of CPUs, i.e. ticks of wall time.
    at: f64,
    /// The kernel's processes' user and system time, in ticks.
    kernel: f64,
    /// The host's busy and total time, in ticks, over every CPU.
    host_busy: f64,
    host_total: f64,
}

impl Usage {
    pub fn reply(&self) -> Value {
        let pid = std::process::id();
        let mut content = Map::new();
        content.insert("hostname".into(), json!(hostname()));
        content.insert("pid".into(), json!(pid));
        let processes = tree(pid);
        let memory: u64 = processes.iter().filter_map(|&p| resident_bytes(p)).sum();
        content.insert("kernel_memory".into(), json!(memory));
        content.insert("cpu_count".into(), json!(cpu_count()));
        let now = sample(&processes);
        let mut previous = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let mut kernel_cpu = 0.0;
        if let (Some(now), Some(before)) = (now, *previous) {
            let elapsed = now.at - before.at;
            if elapsed > 0.0 {
                kernel_cpu = ((now.kernel - before.kernel) / elapsed * 100.0).max(0.0);
            }
            let total = now.host_total - before.host_total;
            if total > 0.0 {
                let busy = (now.host_busy - before.host_busy) / total * 100.0;
                content.insert("host_cpu_percent".into(), json!(round(busy)));
            }
        }
        *previous = now;
        content.insert("kernel_cpu".into(), json!(round(kernel_cpu)));
        if let Some(memory) = host_memory() {
            content.insert("host_virtual_memory".into(), memory);
        }
        Value::Object(content)
    }
}

fn round(percent: f64) -> f64 {
    (percent * 10.0).round() / 10.0
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

fn cpu_count() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// The fields of `/proc/PID/stat` after the command name, which may hold spaces and parentheses.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// The kernel and every process below it.
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // Field 4 of stat, the second after the name, is the parent.
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    found
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn sample(processes: &[u32]) -> Option<Sample> {
    let cpu = std::fs::read_to_string("/proc/stat").ok()?;
    let cpus = cpu
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count()
        .max(1);
    let ticks: Vec<f64> = cpu
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let host_total: f64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th figures.
    let host_idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name.
    let kernel = processes
        .iter()
        .filter_map(|&p| {
            let fields = stat_fields(p)?;
            Some(fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
        })
        .sum();
    Some(Sample {
        at: host_total / cpus as f64,
        kernel,
        host_busy: host_total - host_idle,
        host_total,
    })
}

/// The host's memory as psutil's `virtual_memory()` names it, in bytes.
fn host_memory() -> Option<Value> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = meminfo.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    let free = field("MemFree:")?;
    let used = total.saturating_sub(available);
    Some(json!({
        "total": total,
        "available": available,
        "percent": round(used as f64 / total.max(1) as f64 * 100.0),
        "used": used,
        "free": free,
    }))
}
