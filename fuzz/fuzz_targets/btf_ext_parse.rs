//! Arbitrary bytes → `BtfExt::parse`: Ok or Err, never a panic. The input is a little-endian u32
//! length, that many bytes of `.BTF` (whose strings name the sections; an empty BTF when they do not
//! parse), then the `.BTF.ext` bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf::btf::{Btf, BtfExt};

fuzz_target!(|data: &[u8]| {
    let Some(len) = data.get(..4) else { return };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let rest = &data[4..];
    let (btf, ext) = rest.split_at(len.min(rest.len()));
    let btf = Btf::parse(btf).unwrap_or_default();
    if let Ok(ext) = BtfExt::parse(ext, &btf) {
        for sec in &ext.core_relos {
            for r in &sec.records {
                let _ = btf.str_at(r.access_str_off);
                let _ = r.relo_kind();
            }
        }
    }
});
