//! Fuzz target: `Object::open_memory` on arbitrary bytes must return, never panic or hang.
//! Seed the corpus with the fixtures: `cp target/debug/build/oxbpf-tests-*/out/bpf/*.o fuzz/corpus/object_open/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = oxbpf::Object::open_memory("fuzz", data);
});
