//! Bench (not a test): N objects with CO-RE relocations loaded in one process, libbpf vs oxbpf.
//!
//! libbpf parses the kernel's BTF again for every object; oxbpf parses it once per process
//! (`reloc::core::shared_vmlinux`) and reuses its name index and candidate lists. Run as root:
//! `cargo run --release -p oxbpf-tests --example core_bench [N]`.
//!
//! Until oxbpf's object loader lands, the oxbpf side is the CO-RE pipeline by hand: read and parse
//! the ELF, `.BTF` and `.BTF.ext`, relocate every program against the shared vmlinux, then
//! `BPF_PROG_LOAD` each program. libbpf additionally loads the object's BTF into the kernel and
//! passes func/line info; "prepare" rows (relocation, no program load) isolate the CO-RE part.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use oxbpf::btf::{Btf, BtfExt};
use oxbpf::insn::Insn;
use oxbpf::reloc::core::{shared_vmlinux, CoreRelocator, CoreTargets};
use oxbpf::sys::bpf::{prog_load, ProgLoadOpts};

fn libbpf_once(path: &Path, load: bool) {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid path, default options; the object is closed before returning.
    unsafe {
        let obj = libbpf_sys::bpf_object__open_file(c.as_ptr(), std::ptr::null());
        assert!(!obj.is_null());
        let rc = if load {
            libbpf_sys::bpf_object__load(obj)
        } else {
            libbpf_sys::bpf_object__prepare(obj)
        };
        assert_eq!(rc, 0, "libbpf failed on {}", path.display());
        libbpf_sys::bpf_object__close(obj);
    }
}

fn oxbpf_once(path: &Path, load: bool) -> Vec<OwnedFd> {
    let data = std::fs::read(path).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let btf = Btf::parse(elf.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
    let ext = BtfExt::parse(
        elf.section_by_name(".BTF.ext").unwrap().data().unwrap(),
        &btf,
    )
    .unwrap();
    let mut progs = Vec::new();
    for sym in elf.symbols() {
        if sym.kind() != SymbolKind::Text || !sym.is_global() {
            continue;
        }
        let sec = elf.section_by_index(sym.section_index().unwrap()).unwrap();
        let bytes =
            &sec.data().unwrap()[sym.address() as usize..(sym.address() + sym.size()) as usize];
        progs.push((
            sym.name().unwrap().to_string(),
            sec.name().unwrap().to_string(),
            sym.address() as usize / 8,
            Insn::slice_from_bytes(bytes).unwrap(),
        ));
    }
    let vmlinux = shared_vmlinux(|| {
        std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| oxbpf::Error::io("vmlinux", e))
    })
    .unwrap();
    let targets = CoreTargets::new(vmlinux);
    let mut core = CoreRelocator::new(&btf, &targets);
    for sec in &ext.core_relos {
        for (i, relo) in sec.records.iter().enumerate() {
            let idx = relo.insn_off as usize / 8;
            let p = progs
                .iter_mut()
                .find(|p| p.1 == sec.name && idx >= p.2 && idx < p.2 + p.3.len())
                .unwrap();
            core.relocate(&p.0, &mut p.3, idx - p.2, relo, i).unwrap();
        }
    }
    if !load {
        return Vec::new();
    }
    progs
        .iter()
        .map(|p| {
            let ty = if p.1.starts_with("raw_tp/") { 17 } else { 5 };
            let name: String = p.0.chars().take(15).collect();
            prog_load(ty, Some(&name), "GPL", &p.3, &ProgLoadOpts::default(), None).unwrap()
        })
        .collect()
}

fn time(n: usize, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let path = oxbpf_tests::fixture("core_read");
    // SAFETY: silence libbpf's printing (null callback) for the whole run.
    unsafe { libbpf_sys::libbpf_set_print(None) };

    // The first oxbpf object pays for parsing vmlinux; report it apart.
    let first = Instant::now();
    drop(oxbpf_once(&path, false));
    let first = first.elapsed();

    let ox_prep = time(n, || drop(oxbpf_once(&path, false)));
    let lb_prep = time(n, || libbpf_once(&path, false));
    let ox_load = time(n, || drop(oxbpf_once(&path, true)));
    let lb_load = time(n, || libbpf_once(&path, true));

    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    println!("core_read.bpf.o ({} CO-RE objects per row), per object:", n);
    println!(
        "  oxbpf first object (parses vmlinux once): {:.2} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  relocate only:  oxbpf {:.3} ms   libbpf (prepare) {:.3} ms   ratio {:.3}",
        per(ox_prep),
        per(lb_prep),
        ox_prep.as_secs_f64() / lb_prep.as_secs_f64()
    );
    println!(
        "  relocate + load: oxbpf {:.3} ms   libbpf (load) {:.3} ms   ratio {:.3}",
        per(ox_load),
        per(lb_load),
        ox_load.as_secs_f64() / lb_load.as_secs_f64()
    );
    let total_ox = first + ox_load;
    println!(
        "  whole run incl. the first vmlinux parse: oxbpf {:.1} ms vs libbpf {:.1} ms (ratio {:.3})",
        total_ox.as_secs_f64() * 1e3,
        lb_load.as_secs_f64() * 1e3,
        total_ox.as_secs_f64() / lb_load.as_secs_f64()
    );
}
