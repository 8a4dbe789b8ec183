//! Poisoning: an instruction whose relocation cannot be resolved becomes a call to a helper that
//! does not exist (`call 0xbad2310`, "bad relo"). The verifier removes it if it is dead code and
//! rejects the program with `invalid func unknown#195896080` if it is reachable. This file also
//! turns a poisoned relocation into words, and finds it again in a verifier log.

use super::matching::Mismatch;
use super::names::essential_name;
use super::spec::{btf_kind_str, Spec};
use super::KindClass;
use crate::insn::{Insn, BPF_CALL, BPF_JMP};

/// The helper id of libbpf's poison call: 0xbad2310, "bad relo".
pub const POISON_IMM: i32 = 0xbad2310;

/// Replaces `insn` with the poison call.
pub fn poison_insn(insn: &mut Insn) {
    *insn = Insn::new(BPF_JMP | BPF_CALL, 0, 0, 0, POISON_IMM);
}

/// True for the poison call.
pub fn is_poison(insn: &Insn) -> bool {
    insn.code == BPF_JMP | BPF_CALL && insn.imm == POISON_IMM && insn.src() == 0
}

fn type_words(spec: &Spec<'_>, id: crate::btf::TypeId) -> String {
    let btf = spec.btf;
    match btf.type_by_id(id) {
        Ok(t) => {
            let n = btf.str_at(t.name_off).unwrap_or("");
            if n.is_empty() {
                format!("anonymous {}", btf_kind_str(&t))
            } else {
                format!("{} {}", btf_kind_str(&t), essential_name(n))
            }
        }
        Err(_) => format!("type [{id}]"),
    }
}

/// The C-like path of the first `upto` accessors: `inet_sock.sk.flags[2]`.
fn path(spec: &Spec<'_>, upto: usize) -> String {
    let root = spec
        .btf
        .name_of(spec.root_type_id)
        .map(essential_name)
        .unwrap_or("");
    let mut s = root.to_string();
    for (i, a) in spec.acc.iter().take(upto).enumerate() {
        match a.name {
            Some(n) => {
                s.push('.');
                s.push_str(n);
            }
            None if i > 0 || a.idx > 0 => s.push_str(&format!("[{}]", a.idx)),
            None => {}
        }
    }
    s
}

/// Why a relocation failed, in words: "struct inet_sock has no field freebind on this kernel".
pub fn failure_words(
    local: &Spec<'_>,
    mismatch: Option<Mismatch>,
    candidates: usize,
    memsz: Option<(u32, u32)>,
) -> String {
    let root = type_words(local, local.root_type_id);
    if let Some((from, to)) = memsz {
        return format!(
            "field {} changed size from {from} to {to} bytes on this kernel, and is not an \
             unsigned integer or a pointer, so the load cannot be resized",
            path(local, local.acc.len())
        );
    }
    if candidates == 0 {
        return format!("{root} does not exist on this kernel");
    }
    let acc = |i: usize| local.acc.get(i);
    match mismatch {
        Some(Mismatch::NoMember { acc: i }) => {
            let a = acc(i);
            format!(
                "{} has no field {} on this kernel",
                a.map_or(root.clone(), |a| type_words(local, a.type_id)),
                a.and_then(|a| a.name).unwrap_or("?")
            )
        }
        Some(Mismatch::IncompatibleMember { acc: i }) => format!(
            "field {} has an incompatible type on this kernel",
            path(local, i + 1)
        ),
        Some(Mismatch::NotComposite { acc: i }) => format!(
            "{} is not a struct, union or array on this kernel",
            path(local, i)
        ),
        Some(Mismatch::OutOfBounds { acc: i, nelems }) => format!(
            "index {} of {} is out of bounds on this kernel (array of {nelems})",
            acc(i).map_or(0, |a| a.idx),
            path(local, i)
        ),
        Some(Mismatch::NotEnum) => format!("{root} is not an enum on this kernel"),
        Some(Mismatch::NoEnumerator) => format!(
            "{root} has no value {} on this kernel",
            acc(0).and_then(|a| a.name).unwrap_or("?")
        ),
        Some(Mismatch::Type) | None => match KindClass::of(local.kind) {
            KindClass::Type => format!("{root} does not match on this kernel"),
            _ => format!(
                "{} does not exist on this kernel",
                path(local, local.acc.len())
            ),
        },
    }
}

/// Finds the poison call the verifier tripped on in `log` (`123: (85) call unknown#195896080`)
/// and returns its instruction index, for the loader to look up the relocation it came from.
pub fn poisoned_insn_in_log(log: &str) -> Option<usize> {
    let lines: Vec<&str> = log.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("invalid func unknown#195896080"))?;
    let prev = lines.get(at.checked_sub(1)?)?;
    let (idx, rest) = prev.split_once(':')?;
    rest.trim_start()
        .strip_prefix("(85) call unknown#195896080")?;
    idx.trim().parse().ok()
}

/// The verifier log rewritten as libbpf rewrites it when a program trips on a poisoned
/// instruction: the two lines about the poison call become
/// `N: <invalid CO-RE relocation>` and `failed to resolve CO-RE relocation <spec>`. `find` maps
/// an instruction index of the loaded program to the relocation that poisoned it. `None` when
/// the log does not end on a poisoned instruction.
pub fn fixup_verifier_log<'o>(
    log: &str,
    find: impl Fn(usize) -> Option<&'o super::CoreOutcome>,
) -> Option<String> {
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    // libbpf looks at the last 10 lines only.
    let from = lines.len().saturating_sub(10);
    let at = (from..lines.len())
        .rev()
        .find(|&i| lines[i].starts_with("invalid func unknown#195896080"))?;
    let prev = at.checked_sub(1)?;
    let insn = poisoned_insn_in_log(&lines[prev..=at].concat())?;
    let o = find(insn)?;
    let mut out: String = lines[..prev].concat();
    out.push_str(&format!(
        "{insn}: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation {}\n",
        o.local_spec
    ));
    out.push_str(&lines[at + 1..].concat());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_poisoned_insn() {
        let log = "0: R1=ctx() R10=fp0\n; x @ a.c:3\n12: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 5 insns\n";
        assert_eq!(poisoned_insn_in_log(log), Some(12));
        assert_eq!(
            poisoned_insn_in_log("invalid func unknown#195896080\n"),
            None
        );
        assert_eq!(poisoned_insn_in_log("12: (85) call bpf_x#1\n"), None);
    }

    #[test]
    fn log_is_rewritten_like_libbpf() {
        let o = super::super::CoreOutcome {
            relo_idx: 0,
            insn_idx: 3,
            kind: crate::btf::CoreReloKind::FieldByteOffset,
            local_spec: "<byte_off> [5] struct s.b (0:1 @ offset 4)".into(),
            orig_val: 4,
            new_val: 0,
            target: None,
            poisoned: true,
            failure: Some("struct s has no field b on this kernel".into()),
        };
        let log = "0: R1=ctx()\n3: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 4 insns\n";
        let fixed = fixup_verifier_log(log, |i| (i == 3).then_some(&o)).unwrap();
        assert_eq!(
            fixed,
            "0: R1=ctx()\n3: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation <byte_off> [5] struct s.b (0:1 @ offset 4)\nprocessed 4 insns\n"
        );
        assert!(fixup_verifier_log(log, |_| None).is_none());
    }

    #[test]
    fn poison_is_the_bad_relo_call() {
        let mut i = Insn::ldx_mem(crate::insn::BPF_W, 1, 2, 8);
        poison_insn(&mut i);
        assert!(is_poison(&i));
        assert_eq!(i.to_bytes(), [0x85, 0, 0, 0, 0x10, 0x23, 0xad, 0x0b]);
    }
}
