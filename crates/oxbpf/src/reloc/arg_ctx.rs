//! `__arg_ctx` on kernels that do not understand it (before 6.8): libbpf's
//! `bpf_program_fixup_func_info`.
//!
//! A global subprogram argument tagged `arg:ctx` (a DECL_TAG on the FUNC, with the argument's
//! index) tells a recent verifier "this is the program's context". Older verifiers only recognise a
//! context argument by its type: a pointer to the program type's named context struct
//! (`struct __sk_buff *`, `struct xdp_md *`, ...). So for each entry program, every tagged
//! argument of a global function it calls whose type is not already acceptable gets a private copy
//! of the FUNC and FUNC_PROTO in which that argument points to an empty STRUCT of the expected name,
//! and the program's func_info record points at the copy. The types are appended to the object's
//! BTF in libbpf's order, so the uploaded BTF grows the same way.

use crate::btf::{
    Btf, CompositeBuf, DeclTag, Func, Linkage, Type, TypeBuf, TypeId, TypeKind, TypeKindBuf,
};
use crate::error::{Error, Result};
use crate::obj::sections::p;

/// The decl tag text that marks a context argument.
pub const ARG_CTX_TAG: &str = "arg:ctx";

/// The struct a verifier without `arg:ctx` support expects a context argument of program type
/// `prog_type` to point to; `None` for program types without a named context struct (tracepoints,
/// tracing, LSM, ...), which this fallback cannot help.
pub fn ctx_struct_name(prog_type: u32) -> Option<&'static str> {
    Some(match prog_type {
        p::CGROUP_DEVICE => "bpf_cgroup_dev_ctx",
        p::CGROUP_SKB
        | p::FLOW_DISSECTOR
        | p::LWT_IN
        | p::LWT_OUT
        | p::LWT_SEG6LOCAL
        | p::LWT_XMIT
        | p::SCHED_ACT
        | p::SCHED_CLS
        | p::SK_SKB
        | p::SOCKET_FILTER => "__sk_buff",
        p::CGROUP_SOCK => "bpf_sock",
        p::CGROUP_SOCK_ADDR => "bpf_sock_addr",
        p::CGROUP_SOCKOPT => "bpf_sockopt",
        p::CGROUP_SYSCTL => "bpf_sysctl",
        p::KPROBE => "bpf_user_pt_regs_t",
        p::NETFILTER => "bpf_nf_ctx",
        p::PERF_EVENT => "bpf_perf_event_data",
        p::RAW_TRACEPOINT | p::RAW_TRACEPOINT_WRITABLE => "bpf_raw_tracepoint_args",
        p::SK_LOOKUP => "bpf_sk_lookup",
        p::SK_MSG => "sk_msg_md",
        p::SK_REUSEPORT => "sk_reuseport_md",
        p::SOCK_OPS => "bpf_sock_ops",
        p::XDP => "xdp_md",
        _ => return None,
    })
}

/// The struct behind the kernel's `bpf_user_pt_regs_t` on this architecture, which perf_event
/// programs may also name as their context.
fn arch_user_regs_struct() -> Option<&'static str> {
    if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        Some("pt_regs")
    } else if cfg!(any(
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "loongarch64",
        target_arch = "mips64"
    )) {
        Some("user_pt_regs")
    } else if cfg!(target_arch = "riscv64") {
        Some("user_regs_struct")
    } else {
        None
    }
}

/// Whether argument `arg_idx` of `fn_name` (of type `arg_type`) must be retyped for the old
/// verifier to see a context pointer. An argument that is neither acceptable as it is nor fixable
/// is left alone with a warning: the verifier will say what it thinks of it.
fn needs_fixup(
    btf: &Btf,
    prog_name: &str,
    prog_type: u32,
    fn_name: &str,
    arg_idx: usize,
    arg_type: TypeId,
    ctx_name: &str,
) -> bool {
    let pointee = match btf.skip_mods_and_typedefs(arg_type) {
        Ok((
            _,
            Type {
                kind: TypeKind::Ptr(to),
                ..
            },
        )) => to,
        _ => return warn_expected(prog_name, fn_name, arg_idx, ctx_name),
    };
    let Ok((_, t)) = btf.skip_mods_and_typedefs(pointee) else {
        return warn_expected(prog_name, fn_name, arg_idx, ctx_name);
    };
    let name = btf.str_at(t.name_off).unwrap_or("<anon>");
    match &t.kind {
        // `void *`: always.
        TypeKind::Void => return true,
        // Already the canonical struct.
        TypeKind::Struct(_) if name == ctx_name => return false,
        TypeKind::Struct(_) if prog_type == p::KPROBE && name == "pt_regs" => return true,
        TypeKind::Struct(_)
            if prog_type == p::PERF_EVENT && Some(name) == arch_user_regs_struct() =>
        {
            return true
        }
        // Raw tracepoints may take their arguments as `u64 *`.
        TypeKind::Int(i)
            if i.size == 8
                && matches!(prog_type, p::RAW_TRACEPOINT | p::RAW_TRACEPOINT_WRITABLE) =>
        {
            return true
        }
        _ => {}
    }
    warn_expected(prog_name, fn_name, arg_idx, ctx_name)
}

fn warn_expected(prog_name: &str, fn_name: &str, arg_idx: usize, ctx_name: &str) -> bool {
    crate::log::warn(format_args!(
        "prog '{prog_name}': subprog '{fn_name}' arg#{arg_idx} is expected to be of `struct {ctx_name} *` type"
    ));
    false
}

/// Appends a copy of FUNC `fn_id` and of its FUNC_PROTO (same name, linkage, return type and
/// parameters) and returns the new FUNC's id. libbpf creates the copy under the entry program's
/// name and then points it at the original name, so that name lands in the strings too
/// (normally it is there already: it is the entry program's FUNC name).
fn clone_func(btf: &mut Btf, prog_name: &str, fn_id: TypeId, func: Func) -> Result<TypeId> {
    let name_off = btf.type_by_id(fn_id)?.name_off;
    let proto = match btf.type_by_id(func.proto)?.to_buf().kind {
        TypeKindBuf::FuncProto(fp) => fp,
        _ => {
            return Err(Error::malformed(format!(
                "BTF type [{fn_id}]: FUNC does not point to a FUNC_PROTO"
            )))
        }
    };
    let proto_id = btf.add_type(TypeBuf::new(0, TypeKindBuf::FuncProto(proto)));
    btf.add_string(prog_name);
    Ok(btf.add_type(TypeBuf::new(
        name_off,
        TypeKindBuf::Func(Func {
            proto: proto_id,
            linkage: func.linkage,
        }),
    )))
}

fn rec_type_id(func_info: &[u8], rec_size: usize, i: usize) -> Option<u32> {
    let b = func_info.get(i * rec_size + 4..i * rec_size + 8)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn set_rec_type_id(func_info: &mut [u8], rec_size: usize, i: usize, id: TypeId) {
    if let Some(b) = func_info.get_mut(i * rec_size + 4..i * rec_size + 8) {
        b.copy_from_slice(&id.to_ne_bytes());
    }
}

/// Rewrites the BTF and the func_info records (kernel form, `rec_size` bytes each, type id at byte
/// 4) of the entry program `prog_name` of type `prog_type` so that a verifier without `arg:ctx`
/// support sees its tagged context arguments as context pointers. Returns how many arguments were
/// retyped. Call it only when the kernel lacks the feature.
pub fn fixup_func_info(
    btf: &mut Btf,
    prog_name: &str,
    prog_type: u32,
    func_info: &mut [u8],
    rec_size: usize,
) -> Result<usize> {
    let Some(ctx_name) = ctx_struct_name(prog_type) else {
        return Ok(0);
    };
    if rec_size < 8 || func_info.len() % rec_size != 0 {
        return Err(Error::malformed(format!(
            "prog '{prog_name}': func_info of {} bytes in {rec_size}-byte records",
            func_info.len()
        )));
    }
    let nrec = func_info.len() / rec_size;
    // The records' FUNC ids before any copy: a tag refers to the original FUNC.
    let orig: Vec<u32> = (0..nrec)
        .filter_map(|i| rec_type_id(func_info, rec_size, i))
        .collect();
    // The tags present now; the ones added below are not revisited.
    let tags: Vec<(TypeId, i32)> = btf
        .types()
        .filter_map(|(_, t)| match &t.kind {
            TypeKind::DeclTag(d) if btf.str_at(t.name_off).ok() == Some(ARG_CTX_TAG) => {
                Some((d.target, d.component_idx))
            }
            _ => None,
        })
        .collect();
    let mut ptr_id: TypeId = 0;
    let mut fixed = 0;
    for (fn_id, component_idx) in tags {
        let Ok(fn_t) = btf.type_by_id(fn_id) else {
            continue;
        };
        let func = match &fn_t.kind {
            TypeKind::Func(f) if f.linkage == Linkage::Global => *f,
            _ => continue,
        };
        let params = match btf.type_by_id(func.proto).map(|t| t.kind) {
            Ok(TypeKind::FuncProto(fp)) => fp.params,
            _ => continue,
        };
        // Only functions this program calls (or is).
        let Some(rec) = orig.iter().position(|&id| id == fn_id) else {
            continue;
        };
        let Some(arg_idx) = usize::try_from(component_idx)
            .ok()
            .filter(|&i| i < params.len())
        else {
            continue;
        };
        let Some(arg_type) = params.get(arg_idx).map(|p| p.type_id) else {
            continue;
        };
        let fn_name = btf.str_at(fn_t.name_off).unwrap_or("<anon>");
        if !needs_fixup(
            btf, prog_name, prog_type, fn_name, arg_idx, arg_type, ctx_name,
        ) {
            continue;
        }
        // One copy per function and program, shared by all its fixed arguments.
        let mut new_fn = rec_type_id(func_info, rec_size, rec).unwrap_or(fn_id);
        if new_fn == fn_id {
            new_fn = clone_func(btf, prog_name, fn_id, func)?;
            set_rec_type_id(func_info, rec_size, rec, new_fn);
        }
        // One `struct <ctx> *` per program: all its functions share the program type.
        if ptr_id == 0 {
            let name_off = btf.add_string(ctx_name);
            let struct_id = btf.add_type(TypeBuf::new(
                name_off,
                TypeKindBuf::Struct(CompositeBuf {
                    size: 0,
                    bitfield_encoding: false,
                    members: Vec::new(),
                }),
            ));
            ptr_id = btf.add_type(TypeBuf::new(0, TypeKindBuf::Ptr(struct_id)));
        }
        let tag_off = btf.add_string(ARG_CTX_TAG);
        btf.add_type(TypeBuf::new(
            tag_off,
            TypeKindBuf::DeclTag(DeclTag {
                target: new_fn,
                component_idx,
                attr: false,
            }),
        ));
        let proto_id = match btf.type_by_id(new_fn)?.kind {
            TypeKind::Func(f) => f.proto,
            _ => continue,
        };
        btf.update_type(proto_id, |t| {
            if let TypeKindBuf::FuncProto(fp) = &mut t.kind {
                if let Some(param) = fp.params.get_mut(arg_idx) {
                    param.type_id = ptr_id;
                    fixed += 1;
                }
            }
        })?;
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::FwdKind;

    /// [1] int, [2] void *, [3] int(void *ctx, int x), [4] FUNC main global -> [3],
    /// [5] FUNC sub `linkage` -> [3], [6] DECL_TAG arg:ctx on sub arg 0.
    fn base(linkage: Linkage) -> Btf {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, 1).unwrap();
        let vp = b.add_ptr(0);
        let proto = b.add_func_proto(int, &[("ctx", vp), ("x", int)]);
        b.add_func("main_prog", proto, Linkage::Global);
        let sub = b.add_func("sub", proto, linkage);
        b.add_decl_tag(ARG_CTX_TAG, sub, 0);
        b
    }

    /// func_info for main at insn 0 and sub at insn 4, `rec` bytes per record (tails 0xaa).
    fn records(rec: usize, ids: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            out.extend_from_slice(&(i as u32 * 4).to_ne_bytes());
            out.extend_from_slice(&id.to_ne_bytes());
            out.resize(out.len() + rec - 8, 0xaa);
        }
        out
    }

    fn proto_params(b: &Btf, fn_id: TypeId) -> Vec<TypeId> {
        let TypeKind::Func(f) = b.type_by_id(fn_id).unwrap().kind else {
            panic!("[{fn_id}] is not a FUNC");
        };
        b.func_proto(f.proto)
            .unwrap()
            .params
            .iter()
            .map(|p| p.type_id)
            .collect()
    }

    #[test]
    fn socket_filter_gets_a_sk_buff_copy_in_libbpfs_order() {
        let mut b = base(Linkage::Global);
        let before = b.len();
        let mut fi = records(8, &[4, 5]);
        let n = fixup_func_info(&mut b, "prog", p::SOCKET_FILTER, &mut fi, 8).unwrap();
        assert_eq!(n, 1);
        // FUNC_PROTO copy, FUNC copy, STRUCT __sk_buff, PTR, DECL_TAG: in that order.
        assert_eq!(b.len(), before + 5);
        let (proto, func, st, ptr, tag) = (7, 8, 9, 10, 11);
        assert!(matches!(
            b.type_by_id(proto).unwrap().kind,
            TypeKind::FuncProto(_)
        ));
        let TypeKind::Func(f) = b.type_by_id(func).unwrap().kind else {
            panic!()
        };
        assert_eq!((f.proto, f.linkage), (proto, Linkage::Global));
        assert_eq!(b.name_of(func).unwrap(), "sub");
        let TypeKind::Struct(c) = &b.type_by_id(st).unwrap().kind else {
            panic!()
        };
        assert_eq!((c.size, c.members.len()), (0, 0));
        assert_eq!(b.name_of(st).unwrap(), "__sk_buff");
        assert_eq!(b.type_by_id(ptr).unwrap().kind, TypeKind::Ptr(st));
        let TypeKind::DeclTag(d) = b.type_by_id(tag).unwrap().kind else {
            panic!()
        };
        assert_eq!((d.target, d.component_idx), (func, 0));
        assert_eq!(b.name_of(tag).unwrap(), ARG_CTX_TAG);
        // The copy's argument 0 is the context pointer, the rest and the original are unchanged;
        // parameter names are kept.
        assert_eq!(proto_params(&b, func), vec![ptr, 1]);
        assert_eq!(proto_params(&b, 5), vec![2, 1]);
        let fp = b.func_proto(proto).unwrap();
        assert_eq!(b.str_at(fp.params.get(0).unwrap().name_off).unwrap(), "ctx");
        // The record for sub now names the copy; main's is untouched.
        assert_eq!(fi, records(8, &[4, func]));
        // The result still encodes and parses; the only new strings are the program's name
        // (libbpf's placeholder name for the copy) and the struct's.
        let strings = b.strings().to_vec();
        assert!(strings.ends_with(b"\0prog\0__sk_buff\0"), "{strings:?}");
        Btf::parse(&b.to_bytes()).unwrap();
    }

    #[test]
    fn each_program_gets_its_own_copy_and_struct() {
        let mut b = base(Linkage::Global);
        let mut a = records(8, &[4, 5]);
        let mut x = records(8, &[4, 5]);
        fixup_func_info(&mut b, "a", p::SOCKET_FILTER, &mut a, 8).unwrap();
        fixup_func_info(&mut b, "x", p::XDP, &mut x, 8).unwrap();
        assert_eq!(a, records(8, &[4, 8]));
        assert_eq!(x, records(8, &[4, 13]));
        // The first program's tag copy is not picked up again by the second.
        assert_eq!(b.len(), 7 + 10);
        let ptr = proto_params(&b, 13)[0];
        let TypeKind::Ptr(st) = b.type_by_id(ptr).unwrap().kind else {
            panic!()
        };
        assert_eq!(b.name_of(st).unwrap(), "xdp_md");
    }

    #[test]
    fn two_tagged_args_share_one_copy_and_one_pointer() {
        let mut b = base(Linkage::Global);
        b.add_ptr(1); // [7] int *
        let proto = b.add_func_proto(1, &[("a", 2), ("b", 1), ("c", 2)]); // [8]
        let f = b.add_func("two", proto, Linkage::Global); // [9]
        b.add_decl_tag(ARG_CTX_TAG, f, 0); // [10]
        b.add_decl_tag(ARG_CTX_TAG, f, 2); // [11]
        let mut fi = records(8, &[4, 9]);
        let n = fixup_func_info(&mut b, "p", p::XDP, &mut fi, 8).unwrap();
        assert_eq!(n, 2);
        // proto, func, struct, ptr, tag, then only a second tag.
        assert_eq!(b.len(), 12 + 6);
        assert_eq!(fi, records(8, &[4, 13]));
        assert_eq!(proto_params(&b, 13), vec![15, 1, 15]);
        for (id, idx) in [(16, 0), (17, 2)] {
            let TypeKind::DeclTag(d) = b.type_by_id(id).unwrap().kind else {
                panic!()
            };
            assert_eq!((d.target, d.component_idx), (13, idx));
        }
    }

    #[test]
    fn nothing_to_do() {
        // Static functions, program types without a named context, functions the program does
        // not call, out-of-range argument indices.
        let cases: Vec<(Btf, u32, Vec<u32>)> = vec![
            (base(Linkage::Static), p::SOCKET_FILTER, vec![4, 5]),
            (base(Linkage::Global), p::TRACEPOINT, vec![4, 5]),
            (base(Linkage::Global), p::TRACING, vec![4, 5]),
            (base(Linkage::Global), p::SOCKET_FILTER, vec![4]),
            (
                {
                    let mut b = base(Linkage::Global);
                    b.add_decl_tag(ARG_CTX_TAG, 4, 7);
                    b.add_decl_tag("arg:nonnull", 4, 0);
                    b
                },
                p::SOCKET_FILTER,
                vec![4],
            ),
        ];
        for (i, (mut b, t, ids)) in cases.into_iter().enumerate() {
            let len = b.len();
            let mut fi = records(8, &ids);
            assert_eq!(
                fixup_func_info(&mut b, "p", t, &mut fi, 8).unwrap(),
                0,
                "case {i}"
            );
            assert_eq!(b.len(), len, "case {i}");
            assert_eq!(fi, records(8, &ids), "case {i}");
        }
    }

    /// BTF with sub(`arg`) tagged, where `arg` is built by `make` from [1] int.
    fn with_arg(make: impl FnOnce(&mut Btf) -> TypeId) -> Btf {
        let mut b = Btf::new();
        b.add_int("int", 4, 1).unwrap(); // [1]
        let arg = make(&mut b);
        let proto = b.add_func_proto(1, &[("ctx", arg)]);
        let sub = b.add_func("sub", proto, Linkage::Global);
        b.add_decl_tag(ARG_CTX_TAG, sub, 0);
        b
    }

    fn decides(b: &Btf, prog_type: u32) -> bool {
        let sub = b.find_by_name_kind("sub", crate::btf::Kind::Func).unwrap();
        let arg = proto_params(b, sub)[0];
        needs_fixup(
            b,
            "p",
            prog_type,
            "sub",
            0,
            arg,
            ctx_struct_name(prog_type).unwrap(),
        )
    }

    #[test]
    fn which_argument_types_are_retyped() {
        let strukt = |name: &'static str| {
            move |b: &mut Btf| {
                let s = b.add_struct(name, 8, &[]);
                b.add_ptr(s)
            }
        };
        // The canonical struct: already fine, also behind const and typedefs.
        assert!(!decides(&with_arg(strukt("__sk_buff")), p::SOCKET_FILTER));
        let b = with_arg(|b| {
            let s = b.add_struct("xdp_md", 8, &[]);
            let td = b.add_typedef("xdp_t", s);
            let c = b.add_const(td);
            b.add_ptr(c)
        });
        assert!(!decides(&b, p::XDP));
        // `void *` (also `const void *` and through a typedef of the pointer): retyped.
        assert!(decides(&with_arg(|b| b.add_ptr(0)), p::XDP));
        let b = with_arg(|b| {
            let c = b.add_const(0);
            let ptr = b.add_ptr(c);
            b.add_typedef("vp", ptr)
        });
        assert!(decides(&b, p::SOCKET_FILTER));
        // kprobe takes `struct pt_regs *`; perf_event too on x86.
        assert!(decides(&with_arg(strukt("pt_regs")), p::KPROBE));
        assert_eq!(
            decides(&with_arg(strukt("pt_regs")), p::PERF_EVENT),
            cfg!(target_arch = "x86_64")
        );
        assert!(!decides(&with_arg(strukt("pt_regs")), p::SOCKET_FILTER));
        // A struct named like the kprobe context is canonical there.
        assert!(!decides(&with_arg(strukt("bpf_user_pt_regs_t")), p::KPROBE));
        // raw_tp takes `u64 *`, not `int *`.
        let u64p = |b: &mut Btf| {
            let u = b.add_int("unsigned long long", 8, 0).unwrap();
            b.add_ptr(u)
        };
        assert!(decides(&with_arg(u64p), p::RAW_TRACEPOINT));
        assert!(decides(&with_arg(u64p), p::RAW_TRACEPOINT_WRITABLE));
        assert!(!decides(&with_arg(|b| b.add_ptr(1)), p::RAW_TRACEPOINT));
        assert!(!decides(&with_arg(u64p), p::SOCKET_FILTER));
        // Not pointers, wrong structs, forward declarations: left to the verifier.
        assert!(!decides(&with_arg(|_| 1), p::SOCKET_FILTER));
        assert!(!decides(&with_arg(strukt("xdp_md")), p::SOCKET_FILTER));
        let b = with_arg(|b| {
            let f = b.add_fwd("__sk_buff", FwdKind::Struct);
            b.add_ptr(f)
        });
        assert!(!decides(&b, p::SOCKET_FILTER));
    }

    #[test]
    fn bigger_records_keep_their_tails() {
        let mut b = base(Linkage::Global);
        let mut fi = records(12, &[4, 5]);
        fixup_func_info(&mut b, "p", p::SOCKET_FILTER, &mut fi, 12).unwrap();
        assert_eq!(fi, records(12, &[4, 8]));
    }

    #[test]
    fn malformed_records_are_errors() {
        let mut b = base(Linkage::Global);
        for (rec, len) in [(4, 8), (8, 12), (0, 0)] {
            let mut fi = vec![0; len];
            let e = fixup_func_info(&mut b, "p", p::XDP, &mut fi, rec).unwrap_err();
            assert!(e.to_string().contains("func_info"), "{e}");
        }
        // A tag on something that is not a FUNC, or on a dangling id: skipped.
        let mut b = base(Linkage::Global);
        b.add_decl_tag(ARG_CTX_TAG, 1, 0);
        b.add_decl_tag(ARG_CTX_TAG, 999, 0);
        let mut fi = records(8, &[4, 1, 999]);
        assert_eq!(fixup_func_info(&mut b, "p", p::XDP, &mut fi, 8).unwrap(), 0);
    }
}
