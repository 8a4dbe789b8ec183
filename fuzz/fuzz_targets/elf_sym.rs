//! ELF symbol resolution for uprobes and USDT: arbitrary bytes as an executable or shared
//! library. Parsing, segment listing, function lookup and the USDT notes must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf::attach::elf_sym::ElfImage;
use oxbpf::attach::usdt_spec::parse_notes;

fuzz_target!(|data: &[u8]| {
    let Ok(img) = ElfImage::parse(data, "fuzz") else {
        return;
    };
    let segs = img.load_segments();
    for (name, _) in img.functions().iter().take(64) {
        if let Ok(off) = img.func_offset(name) {
            for s in &segs {
                let _ = s.file_offset(off);
            }
        }
    }
    let _ = img.func_offset("main");
    let _ = img.is_dyn();
    if let Some((_, notes)) = img.section(".note.stapsdt") {
        let _ = parse_notes(notes, img.is_64(), img.is_little_endian());
    }
});
