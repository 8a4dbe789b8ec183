//! `SEC("usdt/...")`: user statically-defined tracepoints (`sys/sdt.h` probes).
//!
//! Attaching finds the probe's notes in the binary, turns each probe site into a file offset, compiles
//! its argument spec into the record `usdt.bpf.h` reads, stores it in the object's `__bpf_usdt_specs`
//! map under a spec id, and attaches one uprobe per site with that id as the BPF cookie (and, when the
//! probe has a semaphore, the semaphore's offset as the uprobe reference counter, so the traced program
//! sees the probe enabled). Sites with the same argument spec share an id. Detaching gives ids back.

use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};
use crate::link::{Cleanup, Kind, Link};
use crate::map::{MapFlags, MapHandle};

use super::elf_sym::{ElfImage, LoadSegment};
use super::uprobe::{
    attach_uprobe, attach_uprobe_multi, resolve_binary, UprobeMultiOpts, UprobeOpts,
};
use super::usdt_spec::{parse_notes, Arch, UsdtSpec};

/// The section holding USDT notes.
pub const NOTE_SECTION: &str = ".note.stapsdt";
/// The section whose address compensates prelinking.
pub const BASE_SECTION: &str = ".stapsdt.base";

/// One probe site, resolved for attaching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtTarget {
    /// Link-time address of the probe instruction (prelink-adjusted).
    pub abs_ip: u64,
    /// File offset of the probe instruction.
    pub rel_ip: u64,
    /// File offset of the semaphore, 0 if none.
    pub sema_off: u64,
    /// The argument spec string.
    pub args: String,
}

/// Finds every site of probe `provider:name` in the ELF file `data` (`what` names it in errors).
pub fn find_usdt_targets(
    data: &[u8],
    what: &str,
    provider: &str,
    name: &str,
) -> Result<Vec<UsdtTarget>> {
    let img = ElfImage::parse(data, what)?;
    let (_, notes_data) = img.section(NOTE_SECTION).ok_or_else(|| {
        Error::not_found(format!(
            "no USDT notes section ({NOTE_SECTION}) in '{what}'"
        ))
    })?;
    let base_addr = img.section(BASE_SECTION).map_or(0, |(addr, _)| addr);
    let segs = img.load_segments();
    let find_seg = |addr: u64| -> Option<&LoadSegment> {
        segs.iter().find(|s| s.start <= addr && addr < s.end)
    };
    let mut out = Vec::new();
    for note in parse_notes(notes_data, img.is_64(), img.is_little_endian())? {
        if note.provider != provider || note.name != name {
            continue;
        }
        let mut abs_ip = note.loc_addr;
        if base_addr != 0 && note.base_addr != 0 {
            abs_ip = abs_ip.wrapping_add(base_addr).wrapping_sub(note.base_addr);
        }
        let seg = find_seg(abs_ip).ok_or_else(|| {
            Error::malformed(format!(
                "USDT '{provider}:{name}' in '{what}': no loadable segment holds IP {abs_ip:#x}"
            ))
        })?;
        if !seg.exec {
            return Err(Error::malformed(format!(
                "USDT '{provider}:{name}' in '{what}': IP {abs_ip:#x} lies in a non-executable segment"
            )));
        }
        let rel_ip = abs_ip - seg.start + seg.offset;
        let sema_off = if note.sema_addr != 0 {
            let s = find_seg(note.sema_addr).ok_or_else(|| {
                Error::malformed(format!(
                    "USDT '{provider}:{name}' in '{what}': no loadable segment holds semaphore {:#x}",
                    note.sema_addr
                ))
            })?;
            if s.exec {
                return Err(Error::malformed(format!(
                    "USDT '{provider}:{name}' in '{what}': semaphore {:#x} lies in an executable segment",
                    note.sema_addr
                )));
            }
            note.sema_addr - s.start + s.offset
        } else {
            0
        };
        out.push(UsdtTarget {
            abs_ip,
            rel_ip,
            sema_off,
            args: note.args,
        });
    }
    Ok(out)
}

/// Options of [`UsdtManager::attach`] (libbpf's `bpf_usdt_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct UsdtOpts {
    /// Only fire in this process.
    pub pid: Option<i32>,
    /// Value for `bpf_usdt_cookie()`.
    pub cookie: u64,
}

#[derive(Debug, Default)]
struct SpecIds {
    next: u32,
    free: Vec<u32>,
}

/// The USDT state of one object: its `__bpf_usdt_specs` map, the IP map for kernels without BPF
/// cookies, and the spec ids in use.
#[derive(Debug, Clone)]
pub struct UsdtManager {
    specs: Arc<MapHandle>,
    ip_map: Option<Arc<MapHandle>>,
    use_cookies: bool,
    ids: Arc<Mutex<SpecIds>>,
}

impl UsdtManager {
    /// Manages the spec map `specs` (the object's `__bpf_usdt_specs`); spec ids travel as BPF cookies.
    pub fn new(specs: MapHandle) -> Result<UsdtManager> {
        Self::with_ip_map(specs, None)
    }

    /// Like [`new`](UsdtManager::new), with the object's `__bpf_usdt_ip_to_spec_id` map. On kernels
    /// without BPF cookies (before 5.15) `usdt.bpf.h` finds the spec id by the probe's address there,
    /// so each attach also records `address → spec id` (which needs a PID for shared libraries).
    pub fn with_ip_map(specs: MapHandle, ip_map: Option<MapHandle>) -> Result<UsdtManager> {
        let use_cookies =
            crate::kernel::features::supported(crate::kernel::features::Feature::BpfCookie)
                .unwrap_or(true);
        let mut m = Self::build(specs)?;
        m.ip_map = ip_map.map(Arc::new);
        m.use_cookies = use_cookies || m.ip_map.is_none();
        Ok(m)
    }

    /// Chooses between cookies and the IP map (what the BPF side's `LINUX_HAS_BPF_COOKIE` says);
    /// the IP map needs [`with_ip_map`](UsdtManager::with_ip_map).
    pub fn set_use_cookies(&mut self, use_cookies: bool) -> Result<()> {
        if !use_cookies && self.ip_map.is_none() {
            return Err(Error::invalid(
                "USDT without BPF cookies needs the __bpf_usdt_ip_to_spec_id map",
            ));
        }
        self.use_cookies = use_cookies;
        Ok(())
    }

    fn build(specs: MapHandle) -> Result<UsdtManager> {
        if specs.value_size() as usize != super::usdt_spec::SPEC_SIZE || specs.key_size() != 4 {
            return Err(Error::invalid(format!(
                "USDT spec map '{}' has key/value sizes {}/{}, expected 4/{} (struct __bpf_usdt_spec)",
                specs.name(),
                specs.key_size(),
                specs.value_size(),
                super::usdt_spec::SPEC_SIZE
            )));
        }
        Ok(UsdtManager {
            specs: Arc::new(specs),
            ip_map: None,
            use_cookies: true,
            ids: Arc::new(Mutex::new(SpecIds::default())),
        })
    }

    /// The run-time addresses of `targets` in process `pid` (or their link-time addresses in a fixed
    /// executable), for the IP map.
    fn runtime_ips(
        &self,
        data: &[u8],
        path: &std::path::Path,
        targets: &[UsdtTarget],
        pid: Option<i32>,
    ) -> Result<Vec<u64>> {
        let img = super::elf_sym::ElfImage::parse(data, &path.to_string_lossy())?;
        if !img.is_dyn() {
            return Ok(targets.iter().map(|t| t.abs_ip).collect());
        }
        let pid = pid.filter(|&p| p > 0).ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                "USDT in a shared library or PIE without BPF cookies needs a PID (addresses differ per process)",
            )
        })?;
        let maps_text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .map_err(|e| Error::io(format!("read /proc/{pid}/maps"), e))?;
        let maps = super::libpath::parse_proc_maps(&maps_text);
        let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        targets
            .iter()
            .map(|t| {
                maps.iter()
                    .filter(|m| std::fs::canonicalize(&m.path).is_ok_and(|p| p == want))
                    .find(|m| m.offset <= t.rel_ip && t.rel_ip < m.offset + (m.end - m.start))
                    .map(|m| m.start - m.offset + t.rel_ip)
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "no mapping of '{}' in process {pid} holds file offset {:#x}",
                            path.display(),
                            t.rel_ip
                        ))
                    })
            })
            .collect()
    }

    fn alloc_id(&self) -> Result<u32> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = ids.free.pop() {
            return Ok(id);
        }
        if ids.next >= self.specs.max_entries() {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "USDT spec map is full ({} specs; raise BPF_USDT_MAX_SPEC_CNT)",
                    self.specs.max_entries()
                ),
            ));
        }
        ids.next += 1;
        Ok(ids.next - 1)
    }

    fn release(ids: &Arc<Mutex<SpecIds>>, used: Vec<u32>) {
        let mut ids = ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.free.extend(used);
    }

    /// Attaches `prog` to every site of USDT `provider:name` in `binary` (path or library name).
    pub fn attach(
        &self,
        prog: BorrowedFd<'_>,
        binary: &str,
        provider: &str,
        name: &str,
        opts: &UsdtOpts,
    ) -> Result<Link> {
        let what = format!("USDT '{provider}:{name}'");
        let arch = Arch::host().ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                format!("{what}: argument specs of this architecture are not supported"),
            )
        })?;
        let path = resolve_binary(binary, opts.pid).map_err(|e| e.context(&what))?;
        let data =
            std::fs::read(&path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        let targets = find_usdt_targets(&data, &path.to_string_lossy(), provider, name)?;
        if targets.is_empty() {
            return Err(Error::not_found(format!(
                "{what} not found in '{}'",
                path.display()
            )));
        }
        let mut used: Vec<(String, u32)> = Vec::new();
        let mut links = Vec::new();
        let mut ips: Vec<u64> = Vec::new();
        let result = (|| -> Result<()> {
            let mut site_ids = Vec::with_capacity(targets.len());
            for t in &targets {
                let id = match used.iter().find(|(a, _)| *a == t.args) {
                    Some(&(_, id)) => id,
                    None => {
                        let spec = UsdtSpec::parse(&t.args, arch, opts.cookie)
                            .map_err(|e| e.context(&what))?;
                        let id = self.alloc_id()?;
                        used.push((t.args.clone(), id));
                        self.specs
                            .update(&id.to_ne_bytes(), &spec.to_bytes(), MapFlags::ANY)
                            .map_err(|e| e.context(format!("{what}: store spec #{id}")))?;
                        id
                    }
                };
                site_ids.push(u64::from(id));
            }
            if !self.use_cookies {
                let ip_map = self
                    .ip_map
                    .as_ref()
                    .ok_or_else(|| Error::invalid("USDT: no IP map"))?;
                for (ip, &id) in self
                    .runtime_ips(&data, &path, &targets, opts.pid)?
                    .iter()
                    .zip(&site_ids)
                {
                    ip_map
                        .update(&ip.to_ne_bytes(), &(id as u32).to_ne_bytes(), MapFlags::ANY)
                        .map_err(|e| e.context(format!("{what}: record IP {ip:#x}")))?;
                    ips.push(*ip);
                }
            }
            // One uprobe.multi link for all sites (what libbpf does when the kernel has them, and
            // then loads usdt programs for BPF_TRACE_UPROBE_MULTI); else one uprobe per site.
            // Without cookies the multi link still serves (the program finds its spec through the
            // IP map): a program loaded for uprobe.multi must not be attached as a plain uprobe,
            // which some kernels (6.12.117) do not survive.
            let multi = UprobeMultiOpts {
                offsets: targets.iter().map(|t| t.rel_ip).collect(),
                ref_ctr_offsets: targets.iter().map(|t| t.sema_off).collect(),
                cookies: if self.use_cookies {
                    site_ids.clone()
                } else {
                    Vec::new()
                },
                pid: opts.pid,
                ..Default::default()
            };
            match attach_uprobe_multi(prog, &path.to_string_lossy(), None, &multi) {
                Ok(link) => {
                    links.push(link);
                    return Ok(());
                }
                Err(e) if super::is_unsupported(&e) => {
                    log::debug!("{what}: uprobe.multi unavailable ({e}); one uprobe per site");
                }
                Err(e) => return Err(e.context(&what)),
            }
            for (t, &id) in targets.iter().zip(&site_ids) {
                let uopts = UprobeOpts {
                    pid: opts.pid,
                    offset: t.rel_ip,
                    ref_ctr_offset: t.sema_off,
                    cookie: if self.use_cookies { id } else { 0 },
                    ..Default::default()
                };
                let link = attach_uprobe(prog, &path.to_string_lossy(), &uopts)
                    .map_err(|e| e.context(format!("{what} at offset {:#x}", t.rel_ip)))?;
                links.push(link);
            }
            Ok(())
        })();
        let ids: Vec<u32> = used.into_iter().map(|(_, id)| id).collect();
        let ip_map = self.ip_map.clone();
        let forget_ips = move |ips: Vec<u64>| {
            if let Some(m) = ip_map {
                for ip in ips {
                    let _ = m.delete(&ip.to_ne_bytes());
                }
            }
        };
        if let Err(e) = result {
            drop(links);
            forget_ips(ips);
            Self::release(&self.ids, ids);
            return Err(e);
        }
        let state = Arc::clone(&self.ids);
        let cleanup = Cleanup(Box::new(move || {
            forget_ips(ips);
            UsdtManager::release(&state, ids)
        }));
        Ok(Link::new(Kind::Group {
            links,
            on_detach: Some(cleanup),
        }))
    }
}

/// Splits a `usdt/` section target: `PATH:PROVIDER:NAME`.
pub fn parse_usdt_target(spec: &str) -> Result<(&str, &str, &str)> {
    let mut it = spec.rsplitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some(name), Some(provider), Some(path))
            if !name.is_empty() && !provider.is_empty() && !path.is_empty() =>
        {
            Ok((path, provider, name))
        }
        _ => Err(Error::invalid(format!(
            "USDT target '{spec}': expected PATH:PROVIDER:NAME"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usdt_section_targets() {
        assert_eq!(
            parse_usdt_target("/usr/bin/x:prov:probe").unwrap(),
            ("/usr/bin/x", "prov", "probe")
        );
        assert_eq!(
            parse_usdt_target("libc.so.6:libc:setjmp").unwrap(),
            ("libc.so.6", "libc", "setjmp")
        );
        assert!(parse_usdt_target("x:y").is_err());
    }
}
