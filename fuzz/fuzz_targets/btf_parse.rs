//! Arbitrary bytes → `Btf::parse`: must return Ok or Err, never panic or hang. When the bytes parse,
//! every query a consumer makes must be panic-free too, and encoding must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf::btf::{Btf, BtfFeatures, CDumper, TypeId};

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else { return };
    let bytes = btf.to_bytes();
    let again = Btf::parse(&bytes).expect("encoded BTF parses");
    assert_eq!(again.to_bytes(), bytes, "encoding is stable");
    for id in 0..btf.len() as TypeId {
        let _ = btf.resolve_size(id);
        let _ = btf.align_of(id);
        let _ = btf.skip_mods_and_typedefs(id);
        let _ = btf.resolve_type(id);
        let _ = btf.enum_values(id);
        let _ = btf.func_proto(id);
        let _ = btf.find_member(id, "x");
        if let Ok(name) = btf.name_of(id) {
            let _ = btf.ids_by_name(name);
        }
    }
    let _ = btf.to_raw_listing();
    let mut d = CDumper::new(&btf);
    for id in 1..btf.len() as TypeId {
        if d.dump_type(id).is_err() {
            break;
        }
    }
    let mut s = btf.clone();
    let _ = s.sanitize(&BtfFeatures::NONE);
    let _ = s.to_bytes();
});
