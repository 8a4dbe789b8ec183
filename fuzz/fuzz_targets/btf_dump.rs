//! BTF → C: any BTF that parses must dump as a C header in bounded time and memory (loops,
//! self-referencing structs, huge arrays and deep modifier chains included). libFuzzer's
//! `-timeout` and `-rss_limit_mb` catch a hang or a blow-up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf::btf::{Btf, TypeId};

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else { return };
    if let Ok(h) = btf.to_c_header() {
        // The dumper stops at 128 MiB of C (inline anonymous types repeat) and ~12 MiB of
        // padding lines; a member or padding line past the limit is the most it overshoots.
        assert!(
            h.len() <= (1 << 27) + (16 << 20) + 256 * data.len(),
            "{} bytes of C from {} bytes of BTF",
            h.len(),
            data.len()
        );
    }
    for id in 1..(btf.len() as TypeId).min(256) {
        let _ = btf.type_to_c(id);
    }
});
