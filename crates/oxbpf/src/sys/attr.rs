//! The `union bpf_attr` of the 6.18 UAPI, one `#[repr(C)]` struct per command.
//!
//! Each struct mirrors one member of the kernel's union, field for field, with the kernel's names. Holes
//! the C compiler would pad are spelled out as `_pad*` fields, so every struct is [`Pod`]: deriving
//! `Pod` refuses to compile a struct with hidden padding, and a zeroed value has every byte zero.
//! Pointers are `u64` user addresses; the functions in [`super::bpf`] fill them from borrows that outlive
//! the call and never let an attr escape. The size passed to the kernel is the size of the struct: the
//! kernel zero-fills what it knows beyond that, and rejects a longer attr only if its tail is not zero.

use bytemuck::{Pod, Zeroable};

/// `BPF_OBJ_NAME_LEN`: the size of a map or program name, including its terminating NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// `BPF_TAG_SIZE`: the size of a program tag.
pub const BPF_TAG_SIZE: usize = 8;

/// `BPF_MAP_CREATE`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub value_type_btf_obj_fd: i32,
    pub map_token_fd: i32,
    pub excl_prog_hash: u64,
    pub excl_prog_hash_size: u32,
    pub _pad0: u32,
}

/// `BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM`, `BPF_MAP_GET_NEXT_KEY`, `BPF_MAP_LOOKUP_AND_DELETE_ELEM`,
/// `BPF_MAP_FREEZE`. `value` doubles as `next_key`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MapElemAttr {
    pub map_fd: u32,
    pub _pad0: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// `BPF_MAP_*_BATCH`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MapBatchAttr {
    pub in_batch: u64,
    pub out_batch: u64,
    pub keys: u64,
    pub values: u64,
    pub count: u32,
    pub map_fd: u32,
    pub elem_flags: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`. `attach_prog_fd` doubles as `attach_btf_obj_fd`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    pub attach_prog_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    pub log_true_size: u32,
    pub prog_token_fd: i32,
    pub fd_array_cnt: u32,
    pub signature: u64,
    pub signature_size: u32,
    pub keyring_id: i32,
}

/// `BPF_OBJ_PIN`, `BPF_OBJ_GET`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ObjAttr {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
    pub path_fd: i32,
    pub _pad0: u32,
}

/// `BPF_PROG_ATTACH`, `BPF_PROG_DETACH`. `target_fd` doubles as `target_ifindex`, `relative_fd` as
/// `relative_id`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgAttachAttr {
    pub target_fd: u32,
    pub attach_bpf_fd: u32,
    pub attach_type: u32,
    pub attach_flags: u32,
    pub replace_bpf_fd: u32,
    pub relative_fd: u32,
    pub expected_revision: u64,
}

/// `BPF_PROG_TEST_RUN` (a.k.a. `BPF_PROG_RUN`).
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub _pad0: u32,
}

/// `BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID` and `..._GET_FD_BY_ID`. `start_id` doubles as the object id.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct GetIdAttr {
    pub start_id: u32,
    pub next_id: u32,
    pub open_flags: u32,
    pub fd_by_id_token_fd: i32,
}

/// `BPF_OBJ_GET_INFO_BY_FD`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct InfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_PROG_QUERY`. `target_fd` doubles as `target_ifindex`, `prog_cnt` as `count`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgQueryAttr {
    pub target_fd: u32,
    pub attach_type: u32,
    pub query_flags: u32,
    pub attach_flags: u32,
    pub prog_ids: u64,
    pub prog_cnt: u32,
    pub _pad0: u32,
    pub prog_attach_flags: u64,
    pub link_ids: u64,
    pub link_attach_flags: u64,
    pub revision: u64,
}

/// `BPF_RAW_TRACEPOINT_OPEN`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RawTracepointAttr {
    pub name: u64,
    pub prog_fd: u32,
    pub _pad0: u32,
    pub cookie: u64,
}

/// `BPF_BTF_LOAD`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BtfLoadAttr {
    pub btf: u64,
    pub btf_log_buf: u64,
    pub btf_size: u32,
    pub btf_log_size: u32,
    pub btf_log_level: u32,
    pub btf_log_true_size: u32,
    pub btf_flags: u32,
    pub btf_token_fd: i32,
}

/// `BPF_TASK_FD_QUERY`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct TaskFdQueryAttr {
    pub pid: u32,
    pub fd: u32,
    pub flags: u32,
    pub buf_len: u32,
    pub buf: u64,
    pub prog_id: u32,
    pub fd_type: u32,
    pub probe_offset: u64,
    pub probe_addr: u64,
}

/// `BPF_LINK_CREATE`. `prog_fd` doubles as `map_fd` (struct_ops), `target_fd` as `target_ifindex`.
/// `extra` holds the per-attach-type part of the union (48 bytes), written by [`LinkCreateAttr::set_extra`]
/// from one of the `Link*Extra` structs below.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkCreateAttr {
    pub prog_fd: u32,
    pub target_fd: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub extra: [u64; 6],
}

impl LinkCreateAttr {
    /// Writes one per-type union member at the start of `extra`; the rest stays zero.
    pub fn set_extra<T: Pod>(&mut self, part: &T) {
        let src = bytemuck::bytes_of(part);
        let dst = bytemuck::bytes_of_mut(&mut self.extra);
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
    }
}

/// `link_create.target_btf_id` / `link_create.tracing` (fentry/fexit/lsm/iter targets with a cookie).
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkTracingExtra {
    pub target_btf_id: u32,
    pub _pad0: u32,
    pub cookie: u64,
}

/// `link_create.iter_info` / `iter_info_len`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkIterExtra {
    pub iter_info: u64,
    pub iter_info_len: u32,
    pub _pad0: u32,
}

/// `link_create.perf_event`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkPerfEventExtra {
    pub bpf_cookie: u64,
}

/// `link_create.kprobe_multi`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkKprobeMultiExtra {
    pub flags: u32,
    pub cnt: u32,
    pub syms: u64,
    pub addrs: u64,
    pub cookies: u64,
}

/// `link_create.netfilter`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkNetfilterExtra {
    pub pf: u32,
    pub hooknum: u32,
    pub priority: i32,
    pub flags: u32,
}

/// `link_create.tcx`, `link_create.netkit` and `link_create.cgroup` (same layout): `relative_fd`
/// doubles as `relative_id`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkRelativeExtra {
    pub relative_fd: u32,
    pub _pad0: u32,
    pub expected_revision: u64,
}

/// `link_create.uprobe_multi`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkUprobeMultiExtra {
    pub path: u64,
    pub offsets: u64,
    pub ref_ctr_offsets: u64,
    pub cookies: u64,
    pub cnt: u32,
    pub flags: u32,
    pub pid: u32,
    pub _pad0: u32,
}

/// `BPF_LINK_UPDATE`. `new_prog_fd` doubles as `new_map_fd`, `old_prog_fd` as `old_map_fd`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkUpdateAttr {
    pub link_fd: u32,
    pub new_prog_fd: u32,
    pub flags: u32,
    pub old_prog_fd: u32,
}

/// `BPF_LINK_DETACH`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LinkDetachAttr {
    pub link_fd: u32,
}

/// `BPF_ENABLE_STATS`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct EnableStatsAttr {
    pub type_: u32,
}

/// `BPF_ITER_CREATE`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct IterCreateAttr {
    pub link_fd: u32,
    pub flags: u32,
}

/// `BPF_PROG_BIND_MAP`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgBindMapAttr {
    pub prog_fd: u32,
    pub map_fd: u32,
    pub flags: u32,
}

/// `BPF_TOKEN_CREATE`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct TokenCreateAttr {
    pub flags: u32,
    pub bpffs_fd: u32,
}

/// `BPF_PROG_STREAM_READ_BY_FD`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgStreamReadAttr {
    pub stream_buf: u64,
    pub stream_buf_len: u32,
    pub stream_id: u32,
    pub prog_fd: u32,
    pub _pad0: u32,
}

/// `BPF_PROG_ASSOC_STRUCT_OPS`.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProgAssocStructOpsAttr {
    pub map_fd: u32,
    pub prog_fd: u32,
    pub flags: u32,
}

/// `struct bpf_prog_info`, filled by `BPF_OBJ_GET_INFO_BY_FD` on a program fd.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BpfProgInfo {
    pub type_: u32,
    pub id: u32,
    pub tag: [u8; BPF_TAG_SIZE],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    /// Bit 0: `gpl_compatible`.
    pub gpl_compatible: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    pub _pad0: u32,
}

/// `struct bpf_map_info`, filled by `BPF_OBJ_GET_INFO_BY_FD` on a map fd.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BpfMapInfo {
    pub type_: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; BPF_OBJ_NAME_LEN],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_id: u32,
    pub map_extra: u64,
    pub hash: u64,
    pub hash_size: u32,
    pub _pad0: u32,
}

/// `struct bpf_btf_info`, filled by `BPF_OBJ_GET_INFO_BY_FD` on a BTF fd.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BpfBtfInfo {
    pub btf: u64,
    pub btf_size: u32,
    pub id: u32,
    pub name: u64,
    pub name_len: u32,
    pub kernel_btf: u32,
}

/// `struct bpf_link_info`, filled by `BPF_OBJ_GET_INFO_BY_FD` on a link fd. `extra` is the per-link-type
/// union; read it with [`BpfLinkInfo::extra_u32`] / [`BpfLinkInfo::extra_u64`] at the UAPI offsets.
#[allow(missing_docs)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BpfLinkInfo {
    pub type_: u32,
    pub id: u32,
    pub prog_id: u32,
    pub _pad0: u32,
    pub extra: [u64; 6],
}

impl BpfLinkInfo {
    /// The `u32` at byte `offset` of the per-type union (0 when out of range).
    pub fn extra_u32(&self, offset: usize) -> u32 {
        let b = bytemuck::bytes_of(&self.extra);
        b.get(offset..offset + 4)
            .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Writes the `u32` at byte `offset` of the per-type union (ignored when out of range).
    pub fn set_extra_u32(&mut self, offset: usize, v: u32) {
        if let Some(d) = bytemuck::bytes_of_mut(&mut self.extra).get_mut(offset..offset + 4) {
            d.copy_from_slice(&v.to_ne_bytes());
        }
    }

    /// Writes the `u64` at byte `offset` of the per-type union (ignored when out of range).
    pub fn set_extra_u64(&mut self, offset: usize, v: u64) {
        if let Some(d) = bytemuck::bytes_of_mut(&mut self.extra).get_mut(offset..offset + 8) {
            d.copy_from_slice(&v.to_ne_bytes());
        }
    }

    /// The `u64` at byte `offset` of the per-type union (0 when out of range).
    pub fn extra_u64(&self, offset: usize) -> u64 {
        let b = bytemuck::bytes_of(&self.extra);
        b.get(offset..offset + 8).map_or(0, |s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_ne_bytes(a)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    // Offsets and sizes checked against the 6.18 UAPI header (pahole of union bpf_attr members).
    #[test]
    fn layouts_match_uapi() {
        assert_eq!(size_of::<MapCreateAttr>(), 96);
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(offset_of!(MapCreateAttr, map_extra), 64);
        assert_eq!(offset_of!(MapCreateAttr, map_token_fd), 76);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(size_of::<MapBatchAttr>(), 56);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, func_info), 80);
        assert_eq!(offset_of!(ProgLoadAttr, attach_prog_fd), 112);
        assert_eq!(offset_of!(ProgLoadAttr, fd_array), 120);
        assert_eq!(offset_of!(ProgLoadAttr, log_true_size), 140);
        assert_eq!(offset_of!(ProgLoadAttr, fd_array_cnt), 148);
        assert_eq!(size_of::<ProgLoadAttr>(), 168);
        assert_eq!(size_of::<ObjAttr>(), 24);
        assert_eq!(size_of::<ProgAttachAttr>(), 32);
        assert_eq!(size_of::<TestRunAttr>(), 80);
        assert_eq!(offset_of!(TestRunAttr, ctx_out), 56);
        assert_eq!(size_of::<GetIdAttr>(), 16);
        assert_eq!(size_of::<InfoAttr>(), 16);
        assert_eq!(size_of::<ProgQueryAttr>(), 64);
        assert_eq!(size_of::<RawTracepointAttr>(), 24);
        assert_eq!(size_of::<BtfLoadAttr>(), 40);
        assert_eq!(size_of::<TaskFdQueryAttr>(), 48);
        assert_eq!(size_of::<LinkCreateAttr>(), 64);
        assert_eq!(size_of::<LinkUprobeMultiExtra>(), 48);
        assert_eq!(size_of::<BpfProgInfo>(), 232);
        assert_eq!(offset_of!(BpfProgInfo, name), 64);
        assert_eq!(offset_of!(BpfProgInfo, btf_id), 128);
        assert_eq!(offset_of!(BpfProgInfo, verified_insns), 216);
        assert_eq!(size_of::<BpfMapInfo>(), 104);
        assert_eq!(offset_of!(BpfMapInfo, map_extra), 80);
        assert_eq!(size_of::<BpfBtfInfo>(), 32);
        assert_eq!(size_of::<BpfLinkInfo>(), 64);
    }

    #[test]
    fn link_extra_is_written_at_union_start() {
        let mut a = LinkCreateAttr::default();
        a.set_extra(&LinkTracingExtra {
            target_btf_id: 7,
            _pad0: 0,
            cookie: 9,
        });
        assert_eq!(a.extra[0], 7);
        assert_eq!(a.extra[1], 9);
        assert_eq!(a.extra[2], 0);
    }
}
