//! tracefs: tracepoint ids, and the legacy `kprobe_events` / `uprobe_events` probe definitions.
//!
//! tracefs is mounted at `/sys/kernel/tracing` (or under debugfs at `/sys/kernel/debug/tracing` on
//! older systems). Probes created here are named `oxbpf_<pid>_<n>_<what>` so several processes (and
//! libbpf, which uses `libbpf_` names) never collide, and removed when their link drops.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, ErrorKind, Result};

const ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The tracefs mount point, if tracefs is mounted.
pub fn root() -> Option<PathBuf> {
    ROOTS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("events").is_dir() || p.join("available_events").exists())
}

fn root_or_err() -> Result<PathBuf> {
    root().ok_or_else(|| {
        Error::new(
            ErrorKind::NotSupported,
            "tracefs is not mounted (looked at /sys/kernel/tracing and /sys/kernel/debug/tracing)",
        )
    })
}

/// The perf event id of tracepoint `category:name` (`events/<category>/<name>/id`).
pub fn tracepoint_id(category: &str, name: &str) -> Result<u64> {
    if category.contains(['/', '.'])
        || name.contains(['/', '.'])
        || category.is_empty()
        || name.is_empty()
    {
        return Err(Error::invalid(format!(
            "invalid tracepoint name '{category}:{name}'"
        )));
    }
    let path = root_or_err()?
        .join("events")
        .join(category)
        .join(name)
        .join("id");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::io(
            format!("tracepoint '{category}:{name}' (read {})", path.display()),
            e,
        )
    })?;
    text.trim().parse().map_err(|_| {
        Error::malformed(format!(
            "{}: '{}' is not a number",
            path.display(),
            text.trim()
        ))
    })
}

/// Whether the legacy `kprobe_events` interface exists (the kernel has `CONFIG_KPROBE_EVENTS`).
pub fn has_kprobe_events() -> bool {
    root().is_some_and(|r| r.join("kprobe_events").exists())
}

/// Whether the legacy `uprobe_events` interface exists.
pub fn has_uprobe_events() -> bool {
    root().is_some_and(|r| r.join("uprobe_events").exists())
}

static NEXT_PROBE: AtomicU32 = AtomicU32::new(0);

/// A unique event name for a legacy probe on `what` (sanitised to `[A-Za-z0-9_]`).
pub fn probe_event_name(what: &str) -> String {
    let clean: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(48)
        .collect();
    format!(
        "oxbpf_{}_{}_{clean}",
        std::process::id(),
        NEXT_PROBE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Which legacy probe file a definition goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// `kprobe_events`, group `kprobes`.
    Kprobe,
    /// `uprobe_events`, group `uprobes`.
    Uprobe,
}

impl ProbeKind {
    fn file(self) -> &'static str {
        match self {
            ProbeKind::Kprobe => "kprobe_events",
            ProbeKind::Uprobe => "uprobe_events",
        }
    }
    /// The tracefs event group the probes live in.
    pub fn group(self) -> &'static str {
        match self {
            ProbeKind::Kprobe => "kprobes",
            ProbeKind::Uprobe => "uprobes",
        }
    }
}

fn append(kind: ProbeKind, line: &str) -> Result<()> {
    let path = root_or_err()?.join(kind.file());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
    f.write_all(line.as_bytes()).map_err(|e| {
        Error::io(
            format!("write '{}' to {}", line.trim_end(), path.display()),
            e,
        )
    })
}

/// Defines legacy probe `event` and returns its tracepoint id.
///
/// `target` is `func+off` for kprobes or `/path:0xoffset` (with optional `(0xref_ctr)`) for uprobes.
pub fn add_probe(kind: ProbeKind, event: &str, retprobe: bool, target: &str) -> Result<u64> {
    let line = format!(
        "{}:{}/{event} {target}\n",
        if retprobe { 'r' } else { 'p' },
        kind.group()
    );
    append(kind, &line)?;
    tracepoint_id(kind.group(), event).inspect_err(|_| {
        let _ = remove_probe(kind, event);
    })
}

/// Removes legacy probe `event`.
pub fn remove_probe(kind: ProbeKind, event: &str) -> Result<()> {
    append(kind, &format!("-:{}/{event}\n", kind.group()))
}

/// The kernel functions that can be probed (`available_filter_functions`), without module suffixes.
pub fn available_filter_functions() -> Result<Vec<String>> {
    let path = root_or_err()?.join("available_filter_functions");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_names_are_unique_and_clean() {
        let a = probe_event_name("/usr/lib/libc.so.6:malloc+0x10");
        let b = probe_event_name("/usr/lib/libc.so.6:malloc+0x10");
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{a}"
        );
    }

    #[test]
    fn bad_tracepoint_names_are_rejected() {
        assert_eq!(
            tracepoint_id("../x", "y").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
