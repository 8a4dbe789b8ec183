//! Programs by handle: [`ProgramHandle`] loads raw instructions (libbpf's `bpf_prog_load`), runs them
//! with `BPF_PROG_TEST_RUN`, and reports what the kernel made of them (tag, xlated/jited code, ids).
//!
//! Loading follows libbpf's log strategy: the first attempt runs without a verifier log (fast path);
//! when it fails, the load is repeated with a log buffer, grown until the whole log fits, and the error
//! comes back as [`ErrorKind::Verifier`] carrying that log.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::insn::Insn;
use crate::kernel::features::{self, Feature};
use crate::map::cstr_field;
use crate::sys::attr::{BpfProgInfo, BPF_TAG_SIZE};
use crate::sys::bpf::{self as sys, IdKind, LoadLog, TestRunOpts};

pub use crate::sys::bpf::ProgLoadOpts;
pub use crate::sys::types::{AttachType, LinkType, ProgramType};

/// The first verifier log buffer size of a retry (grown as the kernel asks).
const LOG_SIZE_START: usize = 64 * 1024;
/// The largest verifier log the kernel accepts (`UINT_MAX >> 2`).
const LOG_SIZE_MAX: usize = (u32::MAX >> 2) as usize;

/// Runs `load` with a log of `level`, growing the buffer until the whole log fits, and returns the
/// outcome of the last attempt with the log text. Used for programs and BTF alike.
pub fn load_with_growing_log(
    level: u32,
    mut load: impl FnMut(&mut LoadLog<'_>) -> Result<OwnedFd>,
) -> (Result<OwnedFd>, String) {
    let mut size = LOG_SIZE_START;
    loop {
        let mut buf = vec![0u8; size];
        let mut log = LoadLog {
            level,
            buf: &mut buf,
            true_size: 0,
        };
        let r = load(&mut log);
        let text = log.text();
        let wanted = log.true_size as usize;
        let truncated = wanted > size
            || (wanted == 0 && matches!(&r, Err(e) if e.errno() == Some(libc::ENOSPC)));
        if !truncated || size >= LOG_SIZE_MAX {
            return (r, text);
        }
        // A successful load whose log did not fit still loaded; keep it and the partial log.
        if r.is_ok() {
            return (r, text);
        }
        size = if wanted > size {
            wanted.min(LOG_SIZE_MAX)
        } else {
            (size * 4).min(LOG_SIZE_MAX)
        };
    }
}

/// The object name to pass to the kernel: none on kernels without object names (before 4.15), as libbpf
/// does. Also raises RLIMIT_MEMLOCK where the kernel still needs it.
pub(crate) fn kernel_name(name: Option<&str>) -> Option<&str> {
    features::bump_memlock_rlimit();
    name.filter(|_| features::kernel_supports(Feature::ProgName))
}

/// Turns a failed load with its log into the error callers see: kind `Verifier` when the kernel wrote a
/// log, the errno and command otherwise.
pub(crate) fn verifier_error(err: Error, log: String) -> Error {
    if log.trim().is_empty() {
        return err;
    }
    err.with_kind(ErrorKind::Verifier).with_log(log)
}

/// What the kernel reports about a program (`struct bpf_prog_info`, decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The raw UAPI program type.
    pub prog_type_raw: u32,
    /// The program type, if this build knows it.
    pub prog_type: Option<ProgramType>,
    /// Kernel id.
    pub id: u32,
    /// The tag: a hash of the submitted instructions (with map fds zeroed).
    pub tag: [u8; BPF_TAG_SIZE],
    /// JIT image length.
    pub jited_prog_len: u32,
    /// Length of the kernel-rewritten instructions in bytes.
    pub xlated_prog_len: u32,
    /// Load time (ns since boot).
    pub load_time: u64,
    /// Who loaded it.
    pub created_by_uid: u32,
    /// How many maps it uses.
    pub nr_map_ids: u32,
    /// Name (up to 15 bytes).
    pub name: String,
    /// Offload device.
    pub ifindex: u32,
    /// GPL-compatible license.
    pub gpl_compatible: bool,
    /// BTF object id (0: none).
    pub btf_id: u32,
    /// Run time (with stats enabled).
    pub run_time_ns: u64,
    /// Run count (with stats enabled).
    pub run_cnt: u64,
    /// Recursion misses.
    pub recursion_misses: u64,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// BTF object id of the attach target.
    pub attach_btf_obj_id: u32,
    /// BTF type id of the attach target.
    pub attach_btf_id: u32,
}

impl From<&BpfProgInfo> for ProgramInfo {
    fn from(i: &BpfProgInfo) -> Self {
        ProgramInfo {
            prog_type_raw: i.type_,
            prog_type: ProgramType::from_u32(i.type_),
            id: i.id,
            tag: i.tag,
            jited_prog_len: i.jited_prog_len,
            xlated_prog_len: i.xlated_prog_len,
            load_time: i.load_time,
            created_by_uid: i.created_by_uid,
            nr_map_ids: i.nr_map_ids,
            name: cstr_field(&i.name),
            ifindex: i.ifindex,
            gpl_compatible: i.gpl_compatible & 1 != 0,
            btf_id: i.btf_id,
            run_time_ns: i.run_time_ns,
            run_cnt: i.run_cnt,
            recursion_misses: i.recursion_misses,
            verified_insns: i.verified_insns,
            attach_btf_obj_id: i.attach_btf_obj_id,
            attach_btf_id: i.attach_btf_id,
        }
    }
}

impl ProgramInfo {
    /// The tag as 16 lowercase hex digits, as bpftool prints it.
    pub fn tag_hex(&self) -> String {
        self.tag.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The outcome of [`ProgramHandle::test_run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in ns.
    pub duration_ns: u32,
    /// The output packet (empty when none was requested).
    pub data_out: Vec<u8>,
    /// The output context (empty when none was requested).
    pub ctx_out: Vec<u8>,
}

/// A loaded program owned by fd.
#[derive(Debug)]
pub struct ProgramHandle {
    fd: OwnedFd,
    prog_type: u32,
}

impl AsFd for ProgramHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl ProgramHandle {
    /// `BPF_PROG_LOAD`—verify and load `insns` (libbpf's `bpf_prog_load`). On rejection the load is
    /// retried with a growing verifier log and the error (kind [`ErrorKind::Verifier`]) carries it.
    pub fn load(
        prog_type: ProgramType,
        name: Option<&str>,
        license: &str,
        insns: &[Insn],
        opts: &ProgLoadOpts<'_>,
    ) -> Result<ProgramHandle> {
        let ctx = || format!("prog '{}' ({prog_type})", name.unwrap_or(""));
        let t = prog_type.as_u32();
        let name = kernel_name(name);
        match sys::prog_load(t, name, license, insns, opts, None) {
            Ok(fd) => Ok(ProgramHandle { fd, prog_type: t }),
            Err(first) => {
                let (r, log) = load_with_growing_log(1, |log| {
                    sys::prog_load(t, name, license, insns, opts, Some(log))
                });
                match r {
                    // Loads with a log may succeed where the fast path hit a transient failure.
                    Ok(fd) => Ok(ProgramHandle { fd, prog_type: t }),
                    Err(e) if log.trim().is_empty() => Err(first.context(ctx()).with_source(e)),
                    Err(e) => Err(verifier_error(e, log).context(ctx())),
                }
            }
        }
    }

    /// Loads with a verifier log of `log_level` from the start (1: basic, 2: every instruction, 4: stats)
    /// and returns it with the program.
    pub fn load_with_log(
        prog_type: ProgramType,
        name: Option<&str>,
        license: &str,
        insns: &[Insn],
        opts: &ProgLoadOpts<'_>,
        log_level: u32,
    ) -> Result<(ProgramHandle, String)> {
        let t = prog_type.as_u32();
        let name = kernel_name(name);
        let (r, log) = load_with_growing_log(log_level.max(1), |log| {
            sys::prog_load(t, name, license, insns, opts, Some(log))
        });
        match r {
            Ok(fd) => Ok((ProgramHandle { fd, prog_type: t }, log)),
            Err(e) => Err(verifier_error(e, log)
                .context(format_args!("prog '{}' ({prog_type})", name.unwrap_or("")))),
        }
    }

    /// A handle for an existing program fd.
    pub fn from_fd(fd: OwnedFd) -> Result<ProgramHandle> {
        let i = sys::prog_info(fd.as_fd())?;
        Ok(ProgramHandle {
            fd,
            prog_type: i.type_,
        })
    }

    /// Opens the program with kernel id `id`.
    pub fn from_id(id: u32) -> Result<ProgramHandle> {
        ProgramHandle::from_fd(sys::get_fd_by_id(IdKind::Prog, id, 0, None)?)
    }

    /// Opens the program pinned at `path`.
    pub fn from_pinned_path(path: impl AsRef<Path>) -> Result<ProgramHandle> {
        ProgramHandle::from_fd(sys::obj_get(path.as_ref(), 0)?)
    }

    /// Pins the program at `path` on a bpffs.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        sys::obj_pin(self.fd.as_fd(), path.as_ref())
    }

    /// A second handle to the same program (`dup`).
    pub fn try_clone(&self) -> Result<ProgramHandle> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::io("dup program fd", e))?;
        Ok(ProgramHandle {
            fd,
            prog_type: self.prog_type,
        })
    }

    /// The program type (`None` for types newer than this build).
    pub fn prog_type(&self) -> Option<ProgramType> {
        ProgramType::from_u32(self.prog_type)
    }

    /// What the kernel reports about the program now.
    pub fn info(&self) -> Result<ProgramInfo> {
        Ok(ProgramInfo::from(&sys::prog_info(self.fd.as_fd())?))
    }

    /// The kernel id.
    pub fn id(&self) -> Result<u32> {
        Ok(sys::prog_info(self.fd.as_fd())?.id)
    }

    /// The tag: the kernel's hash of the submitted instructions.
    pub fn tag(&self) -> Result<[u8; BPF_TAG_SIZE]> {
        Ok(sys::prog_info(self.fd.as_fd())?.tag)
    }

    /// The instructions as the kernel rewrote them (needs CAP_SYS_ADMIN or CAP_PERFMON).
    pub fn xlated(&self) -> Result<Vec<Insn>> {
        let bytes = sys::prog_insns(self.fd.as_fd(), false)?;
        Insn::slice_from_bytes(&bytes)
            .ok_or_else(|| Error::malformed("xlated program is not whole instructions"))
    }

    /// The JIT-compiled machine code.
    pub fn jited(&self) -> Result<Vec<u8>> {
        sys::prog_insns(self.fd.as_fd(), true)
    }

    /// The ids of the maps the program uses.
    pub fn map_ids(&self) -> Result<Vec<u32>> {
        sys::prog_map_ids(self.fd.as_fd())
    }

    /// `BPF_PROG_BIND_MAP`—keep `map` alive with the program.
    pub fn bind_map(&self, map: impl AsFd) -> Result<()> {
        sys::prog_bind_map(self.fd.as_fd(), map.as_fd())
    }

    /// `BPF_PROG_TEST_RUN` with full control (libbpf's `bpf_prog_test_run_opts`).
    pub fn test_run_opts(&self, opts: &mut TestRunOpts<'_>) -> Result<()> {
        sys::prog_test_run(self.fd.as_fd(), opts).context("test_run")
    }

    /// Runs the program `repeat` times (0 = once) on `data` (and `ctx`), returning the return value,
    /// duration and output packet/context (`data_out_size`/`ctx_out_size` bytes reserved; 0 = none).
    pub fn test_run(
        &self,
        data: &[u8],
        ctx: &[u8],
        repeat: u32,
        data_out_size: usize,
        ctx_out_size: usize,
    ) -> Result<TestRunResult> {
        let mut data_out = vec![0u8; data_out_size];
        let mut ctx_out = vec![0u8; ctx_out_size];
        let mut o = TestRunOpts {
            data_in: data,
            ctx_in: ctx,
            repeat,
            data_out: (data_out_size > 0).then_some(&mut data_out[..]),
            ctx_out: (ctx_out_size > 0).then_some(&mut ctx_out[..]),
            ..Default::default()
        };
        self.test_run_opts(&mut o)?;
        let (retval, duration_ns, dn, cn) = (
            o.retval,
            o.duration,
            o.data_size_out as usize,
            o.ctx_size_out as usize,
        );
        data_out.truncate(dn.min(data_out_size));
        ctx_out.truncate(cn.min(ctx_out_size));
        Ok(TestRunResult {
            retval,
            duration_ns,
            data_out,
            ctx_out,
        })
    }
}

/// Every program in the kernel, by id (what `bpftool prog list` walks).
pub fn program_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Prog)
}

/// Every link in the kernel, by id.
pub fn link_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Link)
}

/// Every BTF object in the kernel, by id (vmlinux, modules, loaded programs' BTF).
pub fn btf_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Btf)
}

/// Info of every program in the kernel (what `bpftool prog list` shows); programs unloaded between
/// listing and opening are skipped.
pub fn list_programs() -> Result<Vec<ProgramInfo>> {
    let mut out = Vec::new();
    for id in program_ids()? {
        match ProgramHandle::from_id(id) {
            Ok(p) => out.push(p.info()?),
            Err(e) if e.errno() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One link of the kernel, as `bpftool link list` summarises it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSummary {
    /// Kernel id.
    pub id: u32,
    /// Raw UAPI link type.
    pub link_type_raw: u32,
    /// The link type, if this build knows it.
    pub link_type: Option<LinkType>,
    /// The attached program's id.
    pub prog_id: u32,
}

/// Every link in the kernel; links released between listing and opening are skipped.
pub fn list_links() -> Result<Vec<LinkSummary>> {
    let mut out = Vec::new();
    for id in link_ids()? {
        let fd = match sys::get_fd_by_id(IdKind::Link, id, 0, None) {
            Ok(fd) => fd,
            Err(e) if e.errno() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let i = sys::link_info(fd.as_fd())?;
        out.push(LinkSummary {
            id: i.id,
            link_type_raw: i.type_,
            link_type: LinkType::from_u32(i.type_),
            prog_id: i.prog_id,
        });
    }
    Ok(out)
}
