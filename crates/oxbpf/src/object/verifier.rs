//! A one-line summary of a verifier rejection: the verifier's final reason and the C source line
//! (from line info) of the instruction it rejected.

use crate::btf::Btf;

fn is_trailer(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with("processed ")
        || l.starts_with("verification time")
        || l.starts_with("stack depth")
        || l.starts_with("-- ")
}

/// The verifier's final reason: the last line of the log that is not a statistics trailer.
pub fn final_reason(log: &str) -> Option<&str> {
    log.lines().rev().map(str::trim).find(|l| !is_trailer(l))
}

/// The index of the last instruction the verifier printed (`"123: (85) call ..."`).
pub fn rejected_insn(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|l| {
        let (num, rest) = l.split_once(':')?;
        (rest.starts_with(" (") && !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
            .then(|| num.parse().ok())?
    })
}

/// `file:line: source` for instruction `insn` from kernel-form line info records (`rec_size`
/// bytes each, instruction offsets in instructions).
pub fn source_line(btf: &Btf, line_info: &[u8], rec_size: usize, insn: usize) -> Option<String> {
    if rec_size < 16 {
        return None;
    }
    let mut best: Option<&[u8]> = None;
    for rec in line_info.chunks_exact(rec_size) {
        let off = u32::from_ne_bytes(rec[0..4].try_into().ok()?) as usize;
        if off <= insn {
            best = Some(rec);
        } else {
            break;
        }
    }
    let rec = best?;
    let word = |i: usize| {
        rec.get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    let file = btf.str_at(word(4)?).ok()?;
    let text = btf.str_at(word(8)?).ok()?.trim();
    let line = word(12)? >> 10;
    let file = file.rsplit('/').next().unwrap_or(file);
    Some(format!("{file}:{line}: {text}"))
}

/// "`reason` (at `file:line: source`)", or just the reason.
pub fn summarize(
    log: &str,
    btf: Option<&Btf>,
    line_info: Option<(usize, &[u8])>,
) -> Option<String> {
    let reason = final_reason(log)?;
    let at = match (btf, line_info, rejected_insn(log)) {
        (Some(b), Some((rec, li)), Some(insn)) => source_line(b, li, rec, insn),
        _ => None,
    };
    Some(match at {
        Some(src) => format!("{reason} (at {src})"),
        None => reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_reason_and_insn() {
        let log = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (79) r2 = *(u64 *)(r1 +0)\ninvalid bpf_context access off=0 size=8\nprocessed 2 insns (limit 1000000) max_states_per_insn 0\n";
        assert_eq!(
            final_reason(log),
            Some("invalid bpf_context access off=0 size=8")
        );
        assert_eq!(rejected_insn(log), Some(1));
        assert_eq!(
            summarize(log, None, None).unwrap(),
            "invalid bpf_context access off=0 size=8"
        );
    }
}
