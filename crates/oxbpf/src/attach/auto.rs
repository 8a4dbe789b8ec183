//! Auto-attach: [`Program::attach`] and [`Object::attach_all`] pick the mechanism from the program's
//! `SEC()` name, for every family libbpf auto-attaches (tracepoints, raw tracepoints, trampolines,
//! iterators, kprobes, syscalls, uprobes, USDT). Families that need a target only the caller knows
//! (an interface, a cgroup, a map, a perf event) are refused with the explicit call to use.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, ErrorKind, Result};
use crate::link::Link;
use crate::object::{Object, Program};

use super::kprobe::{self, KprobeMultiOpts, KprobeOpts};
use super::uprobe::{self, UprobeMultiOpts, UprobeOpts};
use super::usdt::{parse_usdt_target, UsdtManager, UsdtOpts};
use super::{attach_type, iter, raw_tp, tracepoint, tracing};

/// The name of the spec map `usdt.bpf.h` defines.
pub const USDT_SPECS_MAP: &str = "__bpf_usdt_specs";
/// The name of the IP → spec id map `usdt.bpf.h` uses without BPF cookies.
pub const USDT_IP_MAP: &str = "__bpf_usdt_ip_to_spec_id";

/// A section name split into its family (`"kretprobe"`, `"uprobe.s"`, ...) and target (after `/`).
fn split_section(section: &str) -> (&str, Option<&str>) {
    let s = section.strip_prefix('?').unwrap_or(section);
    match s.split_once('/') {
        Some((family, target)) => (family, Some(target).filter(|t| !t.is_empty())),
        None => (s, None),
    }
}

/// What the caller must use instead for families without auto-attach.
fn explicit_call(family: &str) -> &'static str {
    match family {
        "xdp" | "xdp.frags" => "attach::xdp::attach_xdp with an interface",
        "tc" | "tcx" | "classifier" | "action" => {
            "attach::tc::attach_tcx or attach_tc with an interface"
        }
        "netkit" => "attach::tc::attach_netkit with an interface",
        "perf_event" => "attach::perf_event::attach_perf_event with a perf event",
        "socket" => "attach::socket::attach_socket_filter with a socket",
        "sk_skb" | "sk_msg" => "attach::socket::attach_sockmap with a sockmap",
        "sk_lookup" => "attach::socket::attach_sk_lookup with a network namespace",
        "flow_dissector" => "attach::socket::attach_flow_dissector with a network namespace",
        "netfilter" => "attach::netfilter::attach_netfilter with a hook",
        "struct_ops" | "struct_ops.s" => {
            "attach::struct_ops::attach_struct_ops on the struct_ops map"
        }
        f if f.starts_with("cgroup") || f == "sockops" || f == "lsm_cgroup" => {
            "attach::cgroup::attach_cgroup with a cgroup"
        }
        _ => "the explicit attach function of its hook",
    }
}

fn need_target(prog: &Program, what: &str) -> Error {
    Error::new(
        ErrorKind::NotSupported,
        format!(
            "prog '{}': SEC(\"{}\") names no {what}, so it cannot be auto-attached",
            prog.name(),
            prog.section()
        ),
    )
}

impl Program {
    /// Attaches the program as its `SEC()` name says (libbpf's `bpf_program__attach`).
    ///
    /// USDT programs need their object's spec map: use [`Object::attach_program`] for them.
    pub fn attach(&self) -> Result<Link> {
        self.attach_inner(None)
    }

    fn attach_inner(&self, usdt: Option<&UsdtManager>) -> Result<Link> {
        let handle = self.handle().ok_or_else(|| {
            Error::invalid(format!(
                "prog '{}': not loaded (autoload off?), cannot attach",
                self.name()
            ))
        })?;
        let fd = handle.as_fd();
        let (family, target) = split_section(self.section());
        let ctx = |e: Error| e.context(format!("prog '{}'", self.name()));
        let link = match family {
            "tracepoint" | "tp" | "tracepoint.s" | "tp.s" => {
                let (cat, name) = target
                    .and_then(tracepoint::parse_tracepoint_target)
                    .ok_or_else(|| need_target(self, "tracepoint category/name"))?;
                tracepoint::attach_tracepoint(fd, cat, name, &Default::default())
            }
            "raw_tracepoint" | "raw_tp" | "raw_tracepoint.w" | "raw_tp.w" | "raw_tp.s"
            | "raw_tracepoint.s" => {
                let name = target.ok_or_else(|| need_target(self, "raw tracepoint"))?;
                raw_tp::attach_raw_tracepoint(fd, name, 0)
            }
            "tp_btf" | "fentry" | "fexit" | "fmod_ret" | "fsession" | "fentry.s" | "fexit.s"
            | "fmod_ret.s" | "fsession.s" | "lsm" | "lsm.s" => {
                tracing::attach_trace(fd, self.expected_attach_type(), &Default::default())
            }
            "freplace" => tracing::attach_freplace(fd, None, 0),
            "iter" | "iter.s" => iter::attach_iter(fd, iter::IterTarget::All),
            "kprobe" | "kretprobe" => {
                let (func, offset) = target
                    .map(kprobe::parse_kprobe_target)
                    .transpose()?
                    .ok_or_else(|| need_target(self, "kernel function"))?;
                let opts = KprobeOpts {
                    retprobe: family == "kretprobe",
                    offset,
                    ..Default::default()
                };
                kprobe::attach_kprobe(fd, func, &opts)
            }
            "kprobe.multi" | "kretprobe.multi" | "kprobe.session" => {
                let pattern = target.ok_or_else(|| need_target(self, "function pattern"))?;
                let opts = KprobeMultiOpts {
                    retprobe: family == "kretprobe.multi",
                    session: family == "kprobe.session",
                    ..Default::default()
                };
                kprobe::attach_kprobe_multi(fd, Some(pattern), &opts)
            }
            "ksyscall" | "kretsyscall" => {
                let name = target.ok_or_else(|| need_target(self, "system call"))?;
                kprobe::attach_ksyscall(fd, name, family == "kretsyscall", 0)
            }
            "uprobe" | "uretprobe" | "uprobe.s" | "uretprobe.s" => {
                let t = uprobe::parse_uprobe_target(
                    target.ok_or_else(|| need_target(self, "binary:function"))?,
                )?;
                let opts = UprobeOpts {
                    retprobe: family.starts_with("uretprobe"),
                    func_name: Some(t.func).filter(|f| !f.is_empty()),
                    offset: t.offset,
                    ..Default::default()
                };
                uprobe::attach_uprobe(fd, &t.binary, &opts)
            }
            "uprobe.multi" | "uretprobe.multi" | "uprobe.session" | "uprobe.multi.s"
            | "uretprobe.multi.s" | "uprobe.session.s" => {
                let spec = target.ok_or_else(|| need_target(self, "binary:pattern"))?;
                let (binary, pattern) = spec
                    .rsplit_once(':')
                    .ok_or_else(|| need_target(self, "binary:pattern"))?;
                let opts = UprobeMultiOpts {
                    retprobe: family.starts_with("uretprobe"),
                    session: self.expected_attach_type() == attach_type::TRACE_UPROBE_SESSION,
                    ..Default::default()
                };
                uprobe::attach_uprobe_multi(fd, binary, Some(pattern), &opts)
            }
            "usdt" | "usdt.s" => {
                let (path, provider, name) = parse_usdt_target(
                    target.ok_or_else(|| need_target(self, "path:provider:name"))?,
                )?;
                let mgr = usdt.ok_or_else(|| {
                    Error::invalid(format!(
                        "prog '{}': USDT programs attach through their object (Object::attach_program), which owns the {USDT_SPECS_MAP} map",
                        self.name()
                    ))
                })?;
                mgr.attach(fd, path, provider, name, &UsdtOpts::default())
            }
            other => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!(
                        "prog '{}': SEC(\"{}\") has no auto-attach; use {}",
                        self.name(),
                        self.section(),
                        explicit_call(other)
                    ),
                ))
            }
        };
        link.map_err(ctx)
    }

    /// Whether [`attach`](Program::attach) knows how to attach this program's `SEC()` family with the
    /// target its name gives (libbpf skips the others in skeleton auto-attach).
    pub fn can_auto_attach(&self) -> bool {
        let (family, target) = split_section(self.section());
        match family {
            "tp_btf" | "fentry" | "fexit" | "fmod_ret" | "fsession" | "fentry.s" | "fexit.s"
            | "fmod_ret.s" | "fsession.s" | "lsm" | "lsm.s" | "freplace" | "iter" | "iter.s" => {
                true
            }
            "tracepoint" | "tp" | "tracepoint.s" | "tp.s" | "raw_tracepoint" | "raw_tp"
            | "raw_tracepoint.w" | "raw_tp.w" | "raw_tp.s" | "raw_tracepoint.s" | "kprobe"
            | "kretprobe" | "kprobe.multi" | "kretprobe.multi" | "kprobe.session" | "ksyscall"
            | "kretsyscall" | "uprobe" | "uretprobe" | "uprobe.s" | "uretprobe.s"
            | "uprobe.multi" | "uretprobe.multi" | "uprobe.session" | "uprobe.multi.s"
            | "uretprobe.multi.s" | "uprobe.session.s" | "usdt" | "usdt.s" => target.is_some(),
            _ => false,
        }
    }
}

/// USDT managers, one per spec map (by kernel map id), so that every attach of one object shares the
/// spec ids of its `__bpf_usdt_specs` map.
fn usdt_managers() -> &'static Mutex<HashMap<u32, UsdtManager>> {
    static MANAGERS: OnceLock<Mutex<HashMap<u32, UsdtManager>>> = OnceLock::new();
    MANAGERS.get_or_init(Default::default)
}

impl Object {
    /// The USDT manager of this object's `__bpf_usdt_specs` map, if it has one.
    pub fn usdt_manager(&self) -> Result<Option<UsdtManager>> {
        let Some(handle) = self.map(USDT_SPECS_MAP).and_then(|m| m.handle()) else {
            return Ok(None);
        };
        let id = handle.id()?;
        let mut managers = usdt_managers().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = managers.get(&id) {
            return Ok(Some(m.clone()));
        }
        let ip_map = self
            .map(USDT_IP_MAP)
            .and_then(|m| m.handle())
            .map(|h| h.try_clone())
            .transpose()?;
        let m = UsdtManager::with_ip_map(handle.try_clone()?, ip_map)?;
        managers.insert(id, m.clone());
        Ok(Some(m))
    }

    /// Attaches program `name` as its `SEC()` says, USDT included.
    pub fn attach_program(&self, name: &str) -> Result<Link> {
        let prog = self.program(name).ok_or_else(|| {
            Error::not_found(format!("object '{}' has no program '{name}'", self.name()))
        })?;
        let usdt = if split_section(prog.section()).0.starts_with("usdt") {
            self.usdt_manager()?
        } else {
            None
        };
        prog.attach_inner(usdt.as_ref())
    }

    /// Attaches every loaded program whose `SEC()` allows auto-attach and registers every
    /// `.struct_ops.link` map (libbpf's skeleton attach), stopping at the first failure; the links
    /// come back with their program (or map) names.
    pub fn attach_all(&self) -> Result<Vec<(String, Link)>> {
        let mut links = Vec::new();
        for m in self.maps() {
            let is_link_map = m.handle().is_some_and(|h| h.map_flags() & (1 << 13) != 0);
            if m.struct_ops_value().is_some() && is_link_map {
                links.push((m.name().to_string(), m.attach_struct_ops()?));
            }
        }
        for p in self.programs() {
            if p.handle().is_none() || !p.can_auto_attach() {
                continue;
            }
            links.push((p.name().to_string(), self.attach_program(p.name())?));
        }
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split() {
        assert_eq!(
            split_section("tp/syscalls/sys_enter_write"),
            ("tp", Some("syscalls/sys_enter_write"))
        );
        assert_eq!(split_section("?kprobe"), ("kprobe", None));
        assert_eq!(
            split_section("uprobe//bin/bash:readline"),
            ("uprobe", Some("/bin/bash:readline"))
        );
        assert_eq!(split_section("xdp"), ("xdp", None));
        assert_eq!(
            explicit_call("cgroup_skb"),
            "attach::cgroup::attach_cgroup with a cgroup"
        );
    }
}
