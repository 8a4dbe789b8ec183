//! USDT note parsing: the first byte picks the ELF class and byte order, the rest is a
//! `.note.stapsdt` section. Every note that parses has its argument string parsed for both
//! architectures and encoded; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf::attach::usdt_spec::{parse_notes, Arch, UsdtSpec};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, notes)) = data.split_first() else {
        return;
    };
    let Ok(notes) = parse_notes(notes, flags & 1 == 0, flags & 2 == 0) else {
        return;
    };
    for n in &notes {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            if let Ok(spec) = UsdtSpec::parse(&n.args, arch, n.loc_addr) {
                let _ = spec.to_bytes();
            }
        }
    }
});
