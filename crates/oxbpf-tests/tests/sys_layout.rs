//! oxbpf's UAPI structs against libbpf-sys's bindgen of the same header: every named field at the same
//! offset, every struct the same size. No kernel needed.

use std::mem::{offset_of, size_of};

use libbpf_sys as c;
use oxbpf::sys::attr::*;

/// Asserts that `$ours` and `$theirs` have the same size and the listed fields at the same offsets.
macro_rules! same_layout {
    ($ours:ty, $theirs:ty, [$($f:ident),* $(,)?]) => {{
        assert_eq!(size_of::<$ours>(), size_of::<$theirs>(), "size of {}", stringify!($ours));
        $(assert_eq!(offset_of!($ours, $f), offset_of!($theirs, $f), "{}.{}", stringify!($ours), stringify!($f));)*
    }};
}

/// Like `same_layout!`, for a field that sits in an anonymous union at `$anon` in the bindgen type.
macro_rules! same_offset_in_anon {
    ($ours:ty, $f:ident, $theirs:ty, $anon:ident) => {
        assert_eq!(
            offset_of!($ours, $f),
            offset_of!($theirs, $anon),
            "{}.{}",
            stringify!($ours),
            stringify!($f)
        );
    };
}

#[test]
fn attr_structs_match_bindgen() {
    same_layout!(
        MapCreateAttr,
        c::bpf_attr__bindgen_ty_1,
        [
            map_type,
            key_size,
            value_size,
            max_entries,
            map_flags,
            inner_map_fd,
            numa_node,
            map_name,
            map_ifindex,
            btf_fd,
            btf_key_type_id,
            btf_value_type_id,
            btf_vmlinux_value_type_id,
            map_extra,
            value_type_btf_obj_fd,
            map_token_fd,
            excl_prog_hash,
            excl_prog_hash_size,
        ]
    );
    same_layout!(MapElemAttr, c::bpf_attr__bindgen_ty_2, [map_fd, key, flags]);
    same_offset_in_anon!(
        MapElemAttr,
        value,
        c::bpf_attr__bindgen_ty_2,
        __bindgen_anon_1
    );
    same_layout!(
        MapBatchAttr,
        c::bpf_attr__bindgen_ty_3,
        [in_batch, out_batch, keys, values, count, map_fd, elem_flags, flags,]
    );
    same_layout!(
        ProgLoadAttr,
        c::bpf_attr__bindgen_ty_4,
        [
            prog_type,
            insn_cnt,
            insns,
            license,
            log_level,
            log_size,
            log_buf,
            kern_version,
            prog_flags,
            prog_name,
            prog_ifindex,
            expected_attach_type,
            prog_btf_fd,
            func_info_rec_size,
            func_info,
            func_info_cnt,
            line_info_rec_size,
            line_info,
            line_info_cnt,
            attach_btf_id,
            core_relo_cnt,
            fd_array,
            core_relos,
            core_relo_rec_size,
            log_true_size,
            prog_token_fd,
            fd_array_cnt,
            signature,
            signature_size,
            keyring_id,
        ]
    );
    same_offset_in_anon!(
        ProgLoadAttr,
        attach_prog_fd,
        c::bpf_attr__bindgen_ty_4,
        __bindgen_anon_1
    );
    same_layout!(
        ObjAttr,
        c::bpf_attr__bindgen_ty_5,
        [pathname, bpf_fd, file_flags, path_fd]
    );
    same_layout!(
        ProgAttachAttr,
        c::bpf_attr__bindgen_ty_6,
        [
            attach_bpf_fd,
            attach_type,
            attach_flags,
            replace_bpf_fd,
            expected_revision,
        ]
    );
    same_offset_in_anon!(
        ProgAttachAttr,
        target_fd,
        c::bpf_attr__bindgen_ty_6,
        __bindgen_anon_1
    );
    same_offset_in_anon!(
        ProgAttachAttr,
        relative_fd,
        c::bpf_attr__bindgen_ty_6,
        __bindgen_anon_2
    );
    same_layout!(
        TestRunAttr,
        c::bpf_attr__bindgen_ty_7,
        [
            prog_fd,
            retval,
            data_size_in,
            data_size_out,
            data_in,
            data_out,
            repeat,
            duration,
            ctx_size_in,
            ctx_size_out,
            ctx_in,
            ctx_out,
            flags,
            cpu,
            batch_size,
        ]
    );
    same_layout!(
        GetIdAttr,
        c::bpf_attr__bindgen_ty_8,
        [next_id, open_flags, fd_by_id_token_fd]
    );
    same_layout!(
        InfoAttr,
        c::bpf_attr__bindgen_ty_9,
        [bpf_fd, info_len, info]
    );
    same_layout!(
        ProgQueryAttr,
        c::bpf_attr__bindgen_ty_10,
        [
            attach_type,
            query_flags,
            attach_flags,
            prog_ids,
            prog_attach_flags,
            link_ids,
            link_attach_flags,
            revision,
        ]
    );
    same_offset_in_anon!(
        ProgQueryAttr,
        prog_cnt,
        c::bpf_attr__bindgen_ty_10,
        __bindgen_anon_2
    );
    same_layout!(
        RawTracepointAttr,
        c::bpf_attr__bindgen_ty_11,
        [name, prog_fd, cookie]
    );
    same_layout!(
        BtfLoadAttr,
        c::bpf_attr__bindgen_ty_12,
        [
            btf,
            btf_log_buf,
            btf_size,
            btf_log_size,
            btf_log_level,
            btf_log_true_size,
            btf_flags,
            btf_token_fd,
        ]
    );
    same_layout!(
        TaskFdQueryAttr,
        c::bpf_attr__bindgen_ty_13,
        [
            pid,
            fd,
            flags,
            buf_len,
            buf,
            prog_id,
            fd_type,
            probe_offset,
            probe_addr,
        ]
    );
    same_layout!(
        LinkCreateAttr,
        c::bpf_attr__bindgen_ty_14,
        [attach_type, flags]
    );
    same_offset_in_anon!(
        LinkCreateAttr,
        extra,
        c::bpf_attr__bindgen_ty_14,
        __bindgen_anon_3
    );
    same_layout!(LinkUpdateAttr, c::bpf_attr__bindgen_ty_15, [link_fd, flags]);
    same_layout!(LinkDetachAttr, c::bpf_attr__bindgen_ty_16, [link_fd]);
    same_layout!(EnableStatsAttr, c::bpf_attr__bindgen_ty_17, [type_]);
    same_layout!(IterCreateAttr, c::bpf_attr__bindgen_ty_18, [link_fd, flags]);
    same_layout!(
        ProgBindMapAttr,
        c::bpf_attr__bindgen_ty_19,
        [prog_fd, map_fd, flags]
    );
    same_layout!(
        TokenCreateAttr,
        c::bpf_attr__bindgen_ty_20,
        [flags, bpffs_fd]
    );
    same_layout!(
        ProgStreamReadAttr,
        c::bpf_attr__bindgen_ty_21,
        [stream_buf, stream_buf_len, stream_id, prog_fd]
    );
    same_layout!(
        ProgAssocStructOpsAttr,
        c::bpf_attr__bindgen_ty_22,
        [map_fd, prog_fd, flags]
    );
    // The largest member is the union's size: our attrs never exceed what the header knows.
    for s in [
        size_of::<MapCreateAttr>(),
        size_of::<ProgLoadAttr>(),
        size_of::<LinkCreateAttr>(),
    ] {
        assert!(s <= size_of::<c::bpf_attr>());
    }
}

#[test]
fn link_create_union_members_match_bindgen() {
    // Each per-type part of link_create, against the bindgen struct of the same union member.
    same_layout!(
        LinkKprobeMultiExtra,
        c::bpf_attr__bindgen_ty_14__bindgen_ty_3__bindgen_ty_3,
        [flags, cnt, syms, addrs, cookies,]
    );
    same_layout!(
        LinkTracingExtra,
        c::bpf_attr__bindgen_ty_14__bindgen_ty_3__bindgen_ty_4,
        [target_btf_id, cookie]
    );
    same_layout!(
        LinkNetfilterExtra,
        c::bpf_attr__bindgen_ty_14__bindgen_ty_3__bindgen_ty_5,
        [pf, hooknum, priority, flags,]
    );
    same_layout!(
        LinkUprobeMultiExtra,
        c::bpf_attr__bindgen_ty_14__bindgen_ty_3__bindgen_ty_7,
        [path, offsets, ref_ctr_offsets, cookies, cnt, flags, pid,]
    );
    assert_eq!(
        size_of::<LinkRelativeExtra>(),
        size_of::<c::bpf_attr__bindgen_ty_14__bindgen_ty_3__bindgen_ty_6>()
    );
    assert_eq!(
        size_of::<[u64; 6]>(),
        size_of::<c::bpf_attr__bindgen_ty_14__bindgen_ty_3>()
    );
}

#[test]
fn info_structs_match_bindgen() {
    same_layout!(
        BpfProgInfo,
        c::bpf_prog_info,
        [
            id,
            tag,
            jited_prog_len,
            xlated_prog_len,
            jited_prog_insns,
            xlated_prog_insns,
            load_time,
            created_by_uid,
            nr_map_ids,
            map_ids,
            name,
            ifindex,
            netns_dev,
            netns_ino,
            nr_jited_ksyms,
            nr_jited_func_lens,
            jited_ksyms,
            jited_func_lens,
            btf_id,
            func_info_rec_size,
            func_info,
            nr_func_info,
            nr_line_info,
            line_info,
            jited_line_info,
            nr_jited_line_info,
            line_info_rec_size,
            jited_line_info_rec_size,
            nr_prog_tags,
            prog_tags,
            run_time_ns,
            run_cnt,
            recursion_misses,
            verified_insns,
            attach_btf_obj_id,
            attach_btf_id,
        ]
    );
    same_layout!(
        BpfMapInfo,
        c::bpf_map_info,
        [
            id,
            key_size,
            value_size,
            max_entries,
            map_flags,
            name,
            ifindex,
            btf_vmlinux_value_type_id,
            netns_dev,
            netns_ino,
            btf_id,
            btf_key_type_id,
            btf_value_type_id,
            btf_vmlinux_id,
            map_extra,
            hash,
            hash_size,
        ]
    );
    same_layout!(
        BpfBtfInfo,
        c::bpf_btf_info,
        [btf, btf_size, id, name, name_len, kernel_btf]
    );
    same_layout!(BpfLinkInfo, c::bpf_link_info, [id, prog_id]);
    same_offset_in_anon!(BpfLinkInfo, extra, c::bpf_link_info, __bindgen_anon_1);
}

fn libbpf_str(p: *const std::os::raw::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: libbpf returns pointers to static NUL-terminated strings (or NULL, handled above).
    Some(
        unsafe { std::ffi::CStr::from_ptr(p) }
            .to_string_lossy()
            .into_owned(),
    )
}

#[test]
fn type_names_match_libbpf() {
    use oxbpf::sys::types::{AttachType, LinkType, MapType, ProgramType};
    for t in ProgramType::ALL {
        // SAFETY: libbpf's name lookups take any enum value and return a static string or NULL.
        let theirs = libbpf_str(unsafe { c::libbpf_bpf_prog_type_str(t.as_u32()) });
        assert_eq!(theirs.as_deref(), Some(t.name()), "{t:?}");
    }
    for t in MapType::ALL {
        // SAFETY: as above.
        let theirs = libbpf_str(unsafe { c::libbpf_bpf_map_type_str(t.as_u32()) });
        assert_eq!(theirs.as_deref(), Some(t.name()), "{t:?}");
    }
    for t in AttachType::ALL {
        // SAFETY: as above.
        let theirs = libbpf_str(unsafe { c::libbpf_bpf_attach_type_str(t.as_u32()) });
        assert_eq!(theirs.as_deref(), Some(t.name()), "{t:?}");
    }
    for t in LinkType::ALL {
        // SAFETY: as above.
        let theirs = libbpf_str(unsafe { c::libbpf_bpf_link_type_str(t.as_u32()) });
        assert_eq!(theirs.as_deref(), Some(t.name()), "{t:?}");
    }
}

#[test]
fn link_info_union_offsets_match_bindgen() {
    // The offsets `BpfLinkInfo::details` reads, against bindgen's union members.
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_1, cookie),
        16
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_1, tp_name_len),
        8
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_2, target_btf_id),
        8
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_2, cookie),
        16
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_3, attach_type),
        8
    );
    assert_eq!(
        offset_of!(
            c::bpf_link_info__bindgen_ty_1__bindgen_ty_4,
            __bindgen_anon_1
        ),
        12
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_5, attach_type),
        4
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_8, flags),
        12
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_9, count),
        8
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_9, missed),
        16
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_10, count),
        36
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_10, flags),
        40
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_10, pid),
        44
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_12, attach_type),
        4
    );
    assert_eq!(
        offset_of!(c::bpf_link_info__bindgen_ty_1__bindgen_ty_14, attach_type),
        4
    );
}
