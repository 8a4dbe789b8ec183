//! One function per `bpf(2)` command for maps, programs, BTF and pinned objects.
//!
//! Names follow libbpf's `bpf.h` (`map_create` ↔ `bpf_map_create` ↔ `BPF_MAP_CREATE`). Inputs are
//! borrows and `BorrowedFd`s, new objects come back as `OwnedFd`. Object types are the raw UAPI numbers
//! here; [`crate::map::MapType`] and [`crate::program::ProgramType`] are the typed layer above.
//!
//! Element operations whose buffers the kernel sizes from the map (lookup, batch) are `unsafe fn`: the
//! kernel writes the map's value size, which only the caller knows. [`crate::map::MapHandle`] calls them
//! with sizes it read from the kernel.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use super::attr::*;
use super::{
    bpf_call, bpf_fd, fd_u32, len_u32, mut_ptr_of, obj_name, opt_fd_u32, ptr_of, sys_bpf, Cmd,
};
use crate::error::{Error, Result};
use crate::insn::Insn;

pub use super::info::{
    btf_data, btf_info, btf_name, get_fd_by_id, get_next_id, ids, link_info,
    link_raw_tracepoint_name, list_btf, map_info, obj_get_info_by_fd, prog_info, prog_insns,
    prog_map_ids, BtfObjectInfo, IdKind, LinkDetails,
};

/// `BPF_F_NUMA_NODE`: honour `numa_node` at map creation.
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// `BPF_F_VTYPE_BTF_OBJ_FD`: `value_type_btf_obj_fd` is set.
pub const BPF_F_VTYPE_BTF_OBJ_FD: u32 = 1 << 15;
/// `BPF_F_TOKEN_FD`: a BPF token fd is passed in the command's token field.
pub const BPF_F_TOKEN_FD: u32 = 1 << 16;
/// `BPF_F_PATH_FD`: `path_fd` of `BPF_OBJ_PIN`/`BPF_OBJ_GET` is set.
pub const BPF_F_PATH_FD: u32 = 1 << 14;

/// Optional attributes of `BPF_MAP_CREATE` (libbpf's `bpf_map_create_opts`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MapCreateOpts<'a> {
    /// `BPF_F_*` map flags.
    pub map_flags: u32,
    /// The template inner map of a map-in-map.
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// NUMA node; sets `BPF_F_NUMA_NODE`.
    pub numa_node: Option<u32>,
    /// Offload target device.
    pub map_ifindex: u32,
    /// BTF object describing key and value.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// BTF type id of the key.
    pub btf_key_type_id: u32,
    /// BTF type id of the value.
    pub btf_value_type_id: u32,
    /// Kernel BTF type id of the value (struct_ops).
    pub btf_vmlinux_value_type_id: u32,
    /// Per-type extra (bloom filter hash count, arena address).
    pub map_extra: u64,
    /// Module BTF holding `btf_vmlinux_value_type_id`; sets `BPF_F_VTYPE_BTF_OBJ_FD`.
    pub value_type_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// BPF token; sets `BPF_F_TOKEN_FD`.
    pub token_fd: Option<BorrowedFd<'a>>,
    /// Hash of the only program allowed to use the map (exclusive maps).
    pub excl_prog_hash: &'a [u8],
}

/// `BPF_MAP_CREATE`—create a map (libbpf's `bpf_map_create`). `name` is cut to 15 bytes.
pub fn map_create(
    map_type: u32,
    name: Option<&str>,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    opts: &MapCreateOpts<'_>,
) -> Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags: opts.map_flags,
        inner_map_fd: opt_fd_u32(opts.inner_map_fd),
        map_ifindex: opts.map_ifindex,
        btf_fd: opt_fd_u32(opts.btf_fd),
        btf_key_type_id: opts.btf_key_type_id,
        btf_value_type_id: opts.btf_value_type_id,
        btf_vmlinux_value_type_id: opts.btf_vmlinux_value_type_id,
        map_extra: opts.map_extra,
        excl_prog_hash: ptr_of(opts.excl_prog_hash),
        excl_prog_hash_size: len_u32(opts.excl_prog_hash.len(), "excl_prog_hash")?,
        ..Default::default()
    };
    if let Some(name) = name {
        attr.map_name = obj_name(name);
    }
    if let Some(node) = opts.numa_node {
        attr.numa_node = node;
        attr.map_flags |= BPF_F_NUMA_NODE;
    }
    if let Some(fd) = opts.value_type_btf_obj_fd {
        attr.value_type_btf_obj_fd = fd_u32(fd) as i32;
        attr.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD;
    }
    if let Some(fd) = opts.token_fd {
        attr.map_token_fd = fd_u32(fd) as i32;
        attr.map_flags |= BPF_F_TOKEN_FD;
    }
    // SAFETY: the only pointer, `excl_prog_hash`, borrows `opts.excl_prog_hash` (size alongside) for the
    // call.
    unsafe { bpf_fd(Cmd::MapCreate, &mut attr) }
}

/// The struct_ops map creation `libbpf_probe_bpf_map_type` tries: kernel value type id 1 (never a
/// struct_ops type: ENOTSUPP where struct_ops maps exist), with `value_type_btf_obj_fd` set to -1 but
/// not flagged. That non-zero field past the end of older kernels' attr makes them answer E2BIG, so
/// libbpf reports struct_ops maps only from 6.9 on; oxbpf's probe gives the same answer.
pub(crate) fn map_create_struct_ops_probe() -> Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: super::types::MapType::StructOps.as_u32(),
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        btf_vmlinux_value_type_id: 1,
        value_type_btf_obj_fd: -1,
        ..Default::default()
    };
    // SAFETY: the attr holds no pointers.
    unsafe { bpf_fd(Cmd::MapCreate, &mut attr) }
}

fn elem_op(cmd: Cmd, fd: BorrowedFd<'_>, key: u64, value: u64, flags: u64) -> Result<()> {
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key,
        value,
        flags,
        ..Default::default()
    };
    // SAFETY: `key`/`value` come from the unsafe element functions, whose callers vouch for their sizes.
    unsafe { bpf_call(cmd, &mut attr) }.map(drop)
}

/// `BPF_MAP_LOOKUP_ELEM`—copy the value stored under `key` into `value`.
///
/// # Safety
/// `key` must hold at least the map's key size and `value` at least the size the kernel writes: the
/// value size, or for per-CPU maps `round_up(value_size, 8) * possible CPUs` (one CPU with `BPF_F_CPU`).
pub unsafe fn map_lookup_elem(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<()> {
    elem_op(
        Cmd::MapLookupElem,
        fd,
        ptr_of(key),
        mut_ptr_of(value),
        flags,
    )
}

/// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`—copy out and remove (queue/stack pop when `key` is empty).
///
/// # Safety
/// As for [`map_lookup_elem`].
pub unsafe fn map_lookup_and_delete_elem(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<()> {
    elem_op(
        Cmd::MapLookupAndDeleteElem,
        fd,
        ptr_of(key),
        mut_ptr_of(value),
        flags,
    )
}

/// `BPF_MAP_UPDATE_ELEM`—store `value` under `key` (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`).
///
/// # Safety
/// `key` and `value` must hold at least the sizes the kernel reads (key size; value size, per-CPU as
/// for [`map_lookup_elem`]).
pub unsafe fn map_update_elem(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<()> {
    elem_op(Cmd::MapUpdateElem, fd, ptr_of(key), ptr_of(value), flags)
}

/// `BPF_MAP_DELETE_ELEM`—remove the element under `key`.
///
/// # Safety
/// `key` must hold at least the map's key size.
pub unsafe fn map_delete_elem(fd: BorrowedFd<'_>, key: &[u8], flags: u64) -> Result<()> {
    elem_op(Cmd::MapDeleteElem, fd, ptr_of(key), 0, flags)
}

/// `BPF_MAP_GET_NEXT_KEY`—the key after `key` (the first key when `key` is `None`). `Ok(false)` at the
/// end of the map.
///
/// # Safety
/// `key` and `next_key` must each hold at least the map's key size.
pub unsafe fn map_get_next_key(
    fd: BorrowedFd<'_>,
    key: Option<&[u8]>,
    next_key: &mut [u8],
) -> Result<bool> {
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        key: key.map_or(0, ptr_of),
        value: mut_ptr_of(next_key),
        ..Default::default()
    };
    // SAFETY: `key` and `next_key` are slices the caller sized to the map's key size (see # Safety).
    match unsafe { sys_bpf(Cmd::MapGetNextKey, &mut attr) } {
        Ok(_) => Ok(true),
        Err(libc::ENOENT) => Ok(false),
        Err(e) => Err(Error::from_errno(Cmd::MapGetNextKey.name(), e)),
    }
}

/// `BPF_MAP_FREEZE`—make the map read-only for user space from now on.
pub fn map_freeze(fd: BorrowedFd<'_>) -> Result<()> {
    elem_op(Cmd::MapFreeze, fd, 0, 0, 0)
}

/// Flags of the batch commands (libbpf's `bpf_map_batch_opts`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchOpts {
    /// Per-element flags (`BPF_F_LOCK`, ...).
    pub elem_flags: u64,
    /// Command flags (none defined yet).
    pub flags: u64,
}

/// The outcome of a lookup batch: how many elements were copied and whether the map is exhausted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchResult {
    /// Elements copied into `keys`/`values`.
    pub count: u32,
    /// True when the kernel reported the end of the map (`ENOENT`).
    pub done: bool,
}

#[allow(clippy::too_many_arguments)]
fn batch(
    cmd: Cmd,
    fd: BorrowedFd<'_>,
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    opts: &BatchOpts,
) -> Result<BatchResult> {
    let mut attr = MapBatchAttr {
        in_batch,
        out_batch,
        keys,
        values,
        count,
        map_fd: fd_u32(fd),
        elem_flags: opts.elem_flags,
        flags: opts.flags,
    };
    // SAFETY: the buffers come from the unsafe batch functions, whose callers sized them (see # Safety).
    match unsafe { sys_bpf(cmd, &mut attr) } {
        Ok(_) => Ok(BatchResult {
            count: attr.count,
            done: false,
        }),
        Err(libc::ENOENT) if matches!(cmd, Cmd::MapLookupBatch | Cmd::MapLookupAndDeleteBatch) => {
            Ok(BatchResult {
                count: attr.count,
                done: true,
            })
        }
        Err(e) => Err(Error::from_errno(cmd.name(), e)
            .context(format_args!("{} of {count} elements processed", attr.count))),
    }
}

/// `BPF_MAP_LOOKUP_BATCH`—copy up to `count` elements starting at the opaque position `in_batch`
/// (`None`: the start); the next position is written to `out_batch`.
///
/// # Safety
/// `in_batch`/`out_batch` must hold the map's batch token size (its key size for hash maps, 4 bytes for
/// arrays), `keys` `count` keys and `values` `count` values (per-CPU sized as in [`map_lookup_elem`]).
pub unsafe fn map_lookup_batch(
    fd: BorrowedFd<'_>,
    in_batch: Option<&[u8]>,
    out_batch: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: u32,
    opts: &BatchOpts,
) -> Result<BatchResult> {
    let inb = in_batch.map_or(0, ptr_of);
    batch(
        Cmd::MapLookupBatch,
        fd,
        inb,
        mut_ptr_of(out_batch),
        mut_ptr_of(keys),
        mut_ptr_of(values),
        count,
        opts,
    )
}

/// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`—as [`map_lookup_batch`], removing what it copies.
///
/// # Safety
/// As for [`map_lookup_batch`].
pub unsafe fn map_lookup_and_delete_batch(
    fd: BorrowedFd<'_>,
    in_batch: Option<&[u8]>,
    out_batch: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: u32,
    opts: &BatchOpts,
) -> Result<BatchResult> {
    let inb = in_batch.map_or(0, ptr_of);
    let (ob, k, v) = (mut_ptr_of(out_batch), mut_ptr_of(keys), mut_ptr_of(values));
    batch(Cmd::MapLookupAndDeleteBatch, fd, inb, ob, k, v, count, opts)
}

/// `BPF_MAP_UPDATE_BATCH`—store `count` key/value pairs; returns how many were stored.
///
/// # Safety
/// `keys` must hold `count` keys and `values` `count` values of the map's sizes.
pub unsafe fn map_update_batch(
    fd: BorrowedFd<'_>,
    keys: &[u8],
    values: &[u8],
    count: u32,
    opts: &BatchOpts,
) -> Result<u32> {
    batch(
        Cmd::MapUpdateBatch,
        fd,
        0,
        0,
        ptr_of(keys),
        ptr_of(values),
        count,
        opts,
    )
    .map(|r| r.count)
}

/// `BPF_MAP_DELETE_BATCH`—remove `count` keys; returns how many were removed.
///
/// # Safety
/// `keys` must hold `count` keys of the map's key size.
pub unsafe fn map_delete_batch(
    fd: BorrowedFd<'_>,
    keys: &[u8],
    count: u32,
    opts: &BatchOpts,
) -> Result<u32> {
    batch(Cmd::MapDeleteBatch, fd, 0, 0, ptr_of(keys), 0, count, opts).map(|r| r.count)
}

/// A verifier / BTF log buffer for [`prog_load`] and [`btf_load`], and the size the kernel wanted.
#[derive(Debug)]
pub struct LoadLog<'b> {
    /// Verbosity: 1 = on failure, 2 = everything, 4 = statistics (bits may be combined).
    pub level: u32,
    /// Where the kernel writes the log (NUL-terminated).
    pub buf: &'b mut [u8],
    /// Output: the size the whole log needed, including its NUL (0 on kernels before 6.4).
    pub true_size: u32,
}

impl LoadLog<'_> {
    /// The text the kernel wrote, up to the first NUL.
    pub fn text(&self) -> String {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.buf.len());
        String::from_utf8_lossy(&self.buf[..end]).into_owned()
    }
}

/// Optional attributes of `BPF_PROG_LOAD` (libbpf's `bpf_prog_load_opts`, minus the log, which is a
/// separate argument). Record arrays (func/line info, CO-RE relocations) are raw bytes with their record
/// size, as in `.BTF.ext`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProgLoadOpts<'a> {
    /// `enum bpf_attach_type` the program will be attached with.
    pub expected_attach_type: u32,
    /// BTF object the func/line info refers to.
    pub prog_btf_fd: Option<BorrowedFd<'a>>,
    /// `BPF_F_*` program flags (`BPF_F_SLEEPABLE`, `BPF_F_XDP_HAS_FRAGS`, ...).
    pub prog_flags: u32,
    /// Offload target device.
    pub prog_ifindex: u32,
    /// `LINUX_VERSION_CODE` (checked by kernels before 5.0 for kprobes).
    pub kern_version: u32,
    /// Kernel BTF type id of the attach target (tracing, LSM, struct_ops, ext).
    pub attach_btf_id: u32,
    /// Target program of a freplace / fentry-on-BPF program.
    pub attach_prog_fd: Option<BorrowedFd<'a>>,
    /// Module BTF holding `attach_btf_id` (`None`: vmlinux).
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// `struct bpf_func_info` records.
    pub func_info: &'a [u8],
    /// Size of one func info record.
    pub func_info_rec_size: u32,
    /// `struct bpf_line_info` records.
    pub line_info: &'a [u8],
    /// Size of one line info record.
    pub line_info_rec_size: u32,
    /// `struct bpf_core_relo` records for in-kernel CO-RE.
    pub core_relos: &'a [u8],
    /// Size of one CO-RE relocation record.
    pub core_relo_rec_size: u32,
    /// fds referenced by index (kfunc module BTFs, `BPF_PSEUDO_MAP_IDX`); `None` is passed as 0.
    pub fd_array: &'a [Option<BorrowedFd<'a>>],
    /// When non-zero, the first `fd_array_cnt` entries are bound to the program at load.
    pub fd_array_cnt: u32,
    /// BPF token; sets `BPF_F_TOKEN_FD`.
    pub token_fd: Option<BorrowedFd<'a>>,
}

/// How many times `BPF_PROG_LOAD` is retried when the kernel says `EAGAIN` (as libbpf does).
const PROG_LOAD_ATTEMPTS: u32 = 5;

/// `BPF_PROG_LOAD`—verify and load a program (libbpf's `bpf_prog_load`). With `log`, the verifier
/// writes its log there and `log.true_size` reports the size it needed.
pub fn prog_load(
    prog_type: u32,
    name: Option<&str>,
    license: &str,
    insns: &[Insn],
    opts: &ProgLoadOpts<'_>,
    log: Option<&mut LoadLog<'_>>,
) -> Result<OwnedFd> {
    if opts.attach_prog_fd.is_some() && opts.attach_btf_obj_fd.is_some() {
        return Err(Error::invalid(
            "BPF_PROG_LOAD: attach_prog_fd and attach_btf_obj_fd are exclusive",
        ));
    }
    let license =
        CString::new(license).map_err(|_| Error::invalid("license contains a NUL byte"))?;
    let fd_array: Vec<i32> = opts
        .fd_array
        .iter()
        .map(|fd| opt_fd_u32(*fd) as i32)
        .collect();
    let rec_cnt = |bytes: &[u8], rec: u32, what: &str| -> Result<u32> {
        if bytes.is_empty() {
            return Ok(0);
        }
        if rec == 0 || bytes.len() % rec as usize != 0 {
            return Err(Error::invalid(format!(
                "{what}: {} bytes is not a multiple of record size {rec}",
                bytes.len()
            )));
        }
        len_u32(bytes.len() / rec as usize, what)
    };
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: len_u32(insns.len(), "instructions")?,
        insns: ptr_of(insns),
        license: license.as_ptr() as usize as u64,
        kern_version: opts.kern_version,
        prog_flags: opts.prog_flags,
        prog_ifindex: opts.prog_ifindex,
        expected_attach_type: opts.expected_attach_type,
        prog_btf_fd: opt_fd_u32(opts.prog_btf_fd),
        func_info_rec_size: opts.func_info_rec_size,
        func_info: ptr_of(opts.func_info),
        func_info_cnt: rec_cnt(opts.func_info, opts.func_info_rec_size, "func_info")?,
        line_info_rec_size: opts.line_info_rec_size,
        line_info: ptr_of(opts.line_info),
        line_info_cnt: rec_cnt(opts.line_info, opts.line_info_rec_size, "line_info")?,
        attach_btf_id: opts.attach_btf_id,
        attach_prog_fd: opt_fd_u32(opts.attach_prog_fd.or(opts.attach_btf_obj_fd)),
        core_relo_cnt: rec_cnt(opts.core_relos, opts.core_relo_rec_size, "core_relos")?,
        fd_array: ptr_of(&fd_array),
        core_relos: ptr_of(opts.core_relos),
        core_relo_rec_size: opts.core_relo_rec_size,
        fd_array_cnt: opts.fd_array_cnt,
        ..Default::default()
    };
    if opts.fd_array_cnt as usize > fd_array.len() {
        return Err(Error::invalid(
            "BPF_PROG_LOAD: fd_array_cnt exceeds fd_array",
        ));
    }
    if let Some(name) = name {
        attr.prog_name = obj_name(name);
    }
    if let Some(fd) = opts.token_fd {
        attr.prog_token_fd = fd_u32(fd) as i32;
        attr.prog_flags |= BPF_F_TOKEN_FD;
    }
    if let Some(log) = &log {
        if log.level != 0 && !log.buf.is_empty() {
            attr.log_level = log.level;
            attr.log_size = len_u32(log.buf.len(), "log buffer")?;
            attr.log_buf = log.buf.as_ptr() as usize as u64;
        }
    }
    // SAFETY: every pointer borrows `insns`, `license`, a slice of `opts`, `fd_array` or `log.buf`, all
    // alive across the call, with matching counts.
    let mut result = unsafe { prog_load_attempts(&mut attr) };
    // E2BIG with a smaller record size written back: the kernel knows less of a func_info or
    // line_info record than we sent and found non-zero bytes past its part. As libbpf, send the
    // records again with those tails zeroed (same record size), func_info first, then line_info.
    let (mut finfo, mut linfo): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    while result == Err(libc::E2BIG) && (finfo.is_none() || linfo.is_none()) {
        let fi_kern = attr.func_info_rec_size;
        let li_kern = attr.line_info_rec_size;
        if finfo.is_none() && attr.func_info_cnt != 0 && fi_kern < opts.func_info_rec_size {
            let recs = zero_record_tails(opts.func_info, opts.func_info_rec_size, fi_kern);
            attr.func_info = ptr_of(&recs);
            attr.func_info_rec_size = opts.func_info_rec_size;
            finfo = Some(recs);
        } else if linfo.is_none() && attr.line_info_cnt != 0 && li_kern < opts.line_info_rec_size {
            let recs = zero_record_tails(opts.line_info, opts.line_info_rec_size, li_kern);
            attr.line_info = ptr_of(&recs);
            attr.line_info_rec_size = opts.line_info_rec_size;
            linfo = Some(recs);
        } else {
            break;
        }
        // SAFETY: as above; the replaced func_info/line_info pointer borrows `finfo`/`linfo`, which
        // live until the end of this function, with the same record count and size.
        result = unsafe { prog_load_attempts(&mut attr) };
    }
    if let Some(log) = log {
        log.true_size = attr.log_true_size;
    }
    let fd = result.map_err(|e| Error::from_errno(Cmd::ProgLoad.name(), e))?;
    super::owned_fd(Cmd::ProgLoad, fd)
}

/// `BPF_PROG_LOAD` with `attr`, repeated while the kernel answers `EAGAIN` (up to
/// [`PROG_LOAD_ATTEMPTS`] times).
///
/// # Safety
/// Every pointer in `attr` must point to a live buffer of the size its count says, for the
/// whole call.
unsafe fn prog_load_attempts(attr: &mut ProgLoadAttr) -> std::result::Result<i64, i32> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        // SAFETY: the caller guarantees every pointer in `attr` is live with matching counts.
        match unsafe { sys_bpf(Cmd::ProgLoad, attr) } {
            Err(libc::EAGAIN) if attempt < PROG_LOAD_ATTEMPTS => continue,
            r => break r,
        }
    }
}

/// libbpf's `alloc_zero_tailing_info`: a copy of `records` (`rec_size` bytes each) in which every
/// byte past the first `kern_rec_size` of each record is zero. The record size stays `rec_size`:
/// the kernel accepts bigger records whose extra bytes are zero.
pub(crate) fn zero_record_tails(records: &[u8], rec_size: u32, kern_rec_size: u32) -> Vec<u8> {
    let mut out = records.to_vec();
    let (rec, keep) = (rec_size as usize, kern_rec_size as usize);
    if rec == 0 || keep >= rec {
        return out;
    }
    for r in out.chunks_mut(rec) {
        if let Some(tail) = r.get_mut(keep..) {
            tail.fill(0);
        }
    }
    out
}

/// `BPF_BTF_LOAD`—load raw BTF (header, types, strings). With `log`, the BTF verifier writes its log.
pub fn btf_load(
    data: &[u8],
    log: Option<&mut LoadLog<'_>>,
    token_fd: Option<BorrowedFd<'_>>,
) -> Result<OwnedFd> {
    let mut attr = BtfLoadAttr {
        btf: ptr_of(data),
        btf_size: len_u32(data.len(), "BTF")?,
        ..Default::default()
    };
    if let Some(fd) = token_fd {
        attr.btf_token_fd = fd_u32(fd) as i32;
        attr.btf_flags |= BPF_F_TOKEN_FD;
    }
    if let Some(log) = &log {
        if log.level != 0 && !log.buf.is_empty() {
            attr.btf_log_level = log.level;
            attr.btf_log_size = len_u32(log.buf.len(), "log buffer")?;
            attr.btf_log_buf = log.buf.as_ptr() as usize as u64;
        }
    }
    // SAFETY: `btf` borrows `data` and `btf_log_buf` borrows `log.buf`, with their lengths, across the call.
    let result = unsafe { sys_bpf(Cmd::BtfLoad, &mut attr) };
    if let Some(log) = log {
        log.true_size = attr.btf_log_true_size;
    }
    let fd = result.map_err(|e| Error::from_errno(Cmd::BtfLoad.name(), e))?;
    super::owned_fd(Cmd::BtfLoad, fd)
}

fn path_cstring(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", path.display())))
}

/// `BPF_OBJ_PIN`—pin a map, program, link or BTF object at `path` on a bpffs.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let c = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as usize as u64,
        bpf_fd: fd_u32(fd),
        ..Default::default()
    };
    // SAFETY: `pathname` borrows the NUL-terminated `c`, alive across the call.
    unsafe { bpf_call(Cmd::ObjPin, &mut attr) }
        .map(drop)
        .map_err(|e| e.context(format_args!("pin {}", path.display())))
}

/// `BPF_OBJ_GET`—open the object pinned at `path` (`file_flags`: `BPF_F_RDONLY`, `BPF_F_WRONLY`).
pub fn obj_get(path: &Path, file_flags: u32) -> Result<OwnedFd> {
    let c = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: c.as_ptr() as usize as u64,
        file_flags,
        ..Default::default()
    };
    // SAFETY: `pathname` borrows the NUL-terminated `c`, alive across the call.
    unsafe { bpf_fd(Cmd::ObjGet, &mut attr) }
        .map_err(|e| e.context(format_args!("open pinned {}", path.display())))
}

/// Inputs and outputs of `BPF_PROG_TEST_RUN` (libbpf's `bpf_test_run_opts`).
#[derive(Debug, Default)]
pub struct TestRunOpts<'a> {
    /// Packet (or other) input.
    pub data_in: &'a [u8],
    /// Where the output packet goes; `data_size_out` reports its length.
    pub data_out: Option<&'a mut [u8]>,
    /// Context input (e.g. `struct __sk_buff`).
    pub ctx_in: &'a [u8],
    /// Where the output context goes.
    pub ctx_out: Option<&'a mut [u8]>,
    /// Run this many times (0 = once).
    pub repeat: u32,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
    /// CPU to run on with `BPF_F_TEST_RUN_ON_CPU`.
    pub cpu: u32,
    /// XDP live-frames batch size.
    pub batch_size: u32,
    /// Output: the program's return value.
    pub retval: u32,
    /// Output: average run time in ns.
    pub duration: u32,
    /// Output: bytes written to `data_out`.
    pub data_size_out: u32,
    /// Output: bytes written to `ctx_out`.
    pub ctx_size_out: u32,
}

/// `BPF_PROG_TEST_RUN`—run a program on supplied input (libbpf's `bpf_prog_test_run_opts`).
pub fn prog_test_run(fd: BorrowedFd<'_>, opts: &mut TestRunOpts<'_>) -> Result<()> {
    let mut attr = TestRunAttr {
        prog_fd: fd_u32(fd),
        data_size_in: len_u32(opts.data_in.len(), "data_in")?,
        data_in: ptr_of(opts.data_in),
        ctx_size_in: len_u32(opts.ctx_in.len(), "ctx_in")?,
        ctx_in: ptr_of(opts.ctx_in),
        repeat: opts.repeat,
        flags: opts.flags,
        cpu: opts.cpu,
        batch_size: opts.batch_size,
        ..Default::default()
    };
    if let Some(out) = opts.data_out.as_deref_mut() {
        attr.data_size_out = len_u32(out.len(), "data_out")?;
        attr.data_out = mut_ptr_of(out);
    }
    if let Some(out) = opts.ctx_out.as_deref_mut() {
        attr.ctx_size_out = len_u32(out.len(), "ctx_out")?;
        attr.ctx_out = mut_ptr_of(out);
    }
    // SAFETY: data/ctx pointers borrow `opts`' slices with their lengths; the kernel writes at most the
    // given out sizes.
    let r = unsafe { bpf_call(Cmd::ProgTestRun, &mut attr) };
    opts.retval = attr.retval;
    opts.duration = attr.duration;
    opts.data_size_out = attr.data_size_out;
    opts.ctx_size_out = attr.ctx_size_out;
    r.map(drop)
}

/// `BPF_PROG_BIND_MAP`—keep `map` alive as long as `prog` (for maps only user space touches).
pub fn prog_bind_map(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<()> {
    let mut attr = ProgBindMapAttr {
        prog_fd: fd_u32(prog),
        map_fd: fd_u32(map),
        flags: 0,
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::ProgBindMap, &mut attr) }.map(drop)
}

/// `BPF_ENABLE_STATS`—turn on run-time statistics (`BPF_STATS_RUN_TIME` = 0) while the fd is open.
pub fn enable_stats(stats_type: u32) -> Result<OwnedFd> {
    let mut attr = EnableStatsAttr { type_: stats_type };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_fd(Cmd::EnableStats, &mut attr) }
}

/// `BPF_TOKEN_CREATE`—a BPF token from a bpffs mounted with delegation options.
pub fn token_create(bpffs: BorrowedFd<'_>, flags: u32) -> Result<OwnedFd> {
    let mut attr = TokenCreateAttr {
        flags,
        bpffs_fd: fd_u32(bpffs),
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_fd(Cmd::TokenCreate, &mut attr) }
}

/// What `BPF_TASK_FD_QUERY` reports about a perf event / raw tracepoint fd of a task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFdInfo {
    /// The attached program's id.
    pub prog_id: u32,
    /// `BPF_FD_TYPE_*`.
    pub fd_type: u32,
    /// Tracepoint name, kprobe symbol or uprobe file name.
    pub name: String,
    /// Probe offset.
    pub probe_offset: u64,
    /// Probe address.
    pub probe_addr: u64,
}

/// `BPF_TASK_FD_QUERY`—what BPF program is attached through file descriptor `fd` of process `pid`.
pub fn task_fd_query(pid: u32, fd: u32, flags: u32) -> Result<TaskFdInfo> {
    let mut buf = vec![0u8; 4096];
    let mut attr = TaskFdQueryAttr {
        pid,
        fd,
        flags,
        buf_len: len_u32(buf.len(), "buf")?,
        buf: mut_ptr_of(&mut buf),
        ..Default::default()
    };
    // SAFETY: `buf` borrows `buf` with `buf_len` writable bytes, across the call.
    unsafe { bpf_call(Cmd::TaskFdQuery, &mut attr) }?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(TaskFdInfo {
        prog_id: attr.prog_id,
        fd_type: attr.fd_type,
        name: String::from_utf8_lossy(&buf[..end]).into_owned(),
        probe_offset: attr.probe_offset,
        probe_addr: attr.probe_addr,
    })
}

/// `BPF_PROG_STREAM_READ_BY_FD`—drain a program's stdout (1) or stderr (2) stream into `buf`; returns the
/// bytes read.
pub fn prog_stream_read(prog: BorrowedFd<'_>, stream_id: u32, buf: &mut [u8]) -> Result<usize> {
    let mut attr = ProgStreamReadAttr {
        stream_buf_len: len_u32(buf.len(), "stream buffer")?,
        stream_buf: mut_ptr_of(buf),
        stream_id,
        prog_fd: fd_u32(prog),
        _pad0: 0,
    };
    // SAFETY: `stream_buf` borrows `buf` with its length, across the call.
    let n = unsafe { bpf_call(Cmd::ProgStreamReadByFd, &mut attr) }?;
    Ok(n as usize)
}

/// `BPF_PROG_ASSOC_STRUCT_OPS`—associate a program with a struct_ops map (newer than 6.18: expect
/// `InvalidInput` there).
pub fn prog_assoc_struct_ops(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<()> {
    let mut attr = ProgAssocStructOpsAttr {
        map_fd: fd_u32(map),
        prog_fd: fd_u32(prog),
        flags: 0,
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::ProgAssocStructOps, &mut attr) }.map(drop)
}

#[cfg(test)]
mod tests {
    use super::zero_record_tails;

    #[test]
    fn record_tails_are_zeroed_and_sizes_kept() {
        let recs: Vec<u8> = (1..=24).collect();
        // Three 8-byte records, the kernel knows 4 bytes of each.
        assert_eq!(
            zero_record_tails(&recs, 8, 4),
            [1, 2, 3, 4, 0, 0, 0, 0, 9, 10, 11, 12, 0, 0, 0, 0, 17, 18, 19, 20, 0, 0, 0, 0]
        );
        // Two 12-byte func_info records for an 8-byte kernel.
        let z = zero_record_tails(&recs, 12, 8);
        assert_eq!(&z[..8], &recs[..8]);
        assert_eq!(&z[8..12], &[0; 4]);
        assert_eq!(&z[12..20], &recs[12..20]);
        assert_eq!(&z[20..], &[0; 4]);
        // Nothing to cut: unchanged.
        assert_eq!(zero_record_tails(&recs, 8, 8), recs);
        assert_eq!(zero_record_tails(&recs, 8, 16), recs);
        assert_eq!(zero_record_tails(&recs, 0, 4), recs);
        assert!(zero_record_tails(&[], 12, 8).is_empty());
    }
}
