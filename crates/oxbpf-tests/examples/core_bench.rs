//! Bench (not a test): N objects with CO-RE relocations loaded in one process, libbpf vs oxbpf.
//!
//! libbpf parses the kernel's BTF again for every object; oxbpf parses it once per process
//! (`kernel::vmlinux::vmlinux_btf` with `reloc::core::TargetBtf::shared`) and reuses its name index and candidate lists. Run as root:
//! `cargo run --release -p oxbpf-tests --example core_bench [N]`.
//!
//! Until oxbpf's object loader lands, the oxbpf side is the load pipeline by hand: read and parse
//! the ELF, `.BTF` and `.BTF.ext`, relocate every program against the shared vmlinux, load the
//! object's BTF (DATASEC sizes fixed) and `BPF_PROG_LOAD` each program with its func/line info,
//! as libbpf does. The "relocate only" row stops before the kernel is involved on oxbpf's side
//! (libbpf's `bpf_object__prepare` also probes features and loads the object's BTF).

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use object::{Object, ObjectSection};
use oxbpf::btf::{Btf, TypeKind, TypeKindBuf};
use oxbpf::reloc::core::{CoreRelocator, CoreTargets, TargetBtf};
use oxbpf::sys::bpf::{btf_load, prog_load, ProgLoadOpts};

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
    let (mut progs, btf, ext) = oxbpf_tests::raw_progs::raw_programs(path);
    let data = std::fs::read(path).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let vmlinux = TargetBtf::shared(
        "vmlinux",
        &oxbpf::kernel::vmlinux::vmlinux_btf().expect("vmlinux BTF"),
    );
    let targets = CoreTargets::new(vmlinux);
    let mut core = CoreRelocator::new(&btf, &targets);
    oxbpf_tests::raw_progs::relocate_core(&mut progs, &ext, &mut core, |_, _| ()).unwrap();
    if !load {
        return Vec::new();
    }
    // As libbpf: fix DATASEC sizes, load the object's BTF, pass func_info and line_info.
    let mut btf = btf;
    let datasecs: Vec<(usize, String)> = btf
        .types()
        .filter(|(_, t)| matches!(t.kind, TypeKind::Datasec(_)))
        .map(|(id, t)| (id as usize, btf.str_at(t.name_off).unwrap().to_string()))
        .collect();
    for (id, name) in datasecs {
        let size = elf.section_by_name(&name).map_or(0, |s| s.size()) as u32;
        btf.update_type(id as u32, |t| {
            if let TypeKindBuf::Datasec(d) = &mut t.kind {
                d.size = size;
            }
        })
        .unwrap();
    }
    let btf_fd = btf_load(&btf.to_bytes(), None, None).expect("object BTF load");
    let mut fds = vec![];
    for p in &progs {
        let start = (p.2 * 8) as u32;
        let end = start + 8 * p.3.len() as u32;
        let mut func_info = Vec::new();
        for s in ext.func_info.iter().filter(|s| s.name == p.1) {
            for r in s.records.iter().filter(|r| r.insn_off == start) {
                func_info.extend_from_slice(&0u32.to_ne_bytes());
                func_info.extend_from_slice(&r.type_id.to_ne_bytes());
            }
        }
        let mut line_info = Vec::new();
        for s in ext.line_info.iter().filter(|s| s.name == p.1) {
            for r in s
                .records
                .iter()
                .filter(|r| r.insn_off >= start && r.insn_off < end)
            {
                for v in [
                    (r.insn_off - start) / 8,
                    r.file_name_off,
                    r.line_off,
                    r.line_col,
                ] {
                    line_info.extend_from_slice(&v.to_ne_bytes());
                }
            }
        }
        let opts = ProgLoadOpts {
            prog_btf_fd: Some(btf_fd.as_fd()),
            func_info: &func_info,
            func_info_rec_size: 8,
            line_info: &line_info,
            line_info_rec_size: 16,
            ..ProgLoadOpts::default()
        };
        let ty = if p.1.starts_with("raw_tp/") { 17 } else { 5 };
        let name: String = p.0.chars().take(15).collect();
        fds.push(prog_load(ty, Some(&name), "GPL", &p.3, &opts, None).unwrap());
    }
    fds.push(btf_fd);
    fds
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

    {
        let t = Instant::now();
        let bytes = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
        let read = t.elapsed();
        let t = Instant::now();
        let btf = Btf::parse(&bytes).unwrap();
        let parse = t.elapsed();
        let t = Instant::now();
        btf.build_index();
        let index = t.elapsed();
        let target = oxbpf::reloc::core::TargetBtf::new("vmlinux", std::sync::Arc::new(btf));
        let t = Instant::now();
        target.warm_up();
        let flavors = t.elapsed();
        println!(
            "vmlinux BTF ({} bytes, {} types): read {:.1} ms, parse {:.1} ms, name index {:.1} ms, flavor index {:.1} ms",
            bytes.len(),
            target.btf().len(),
            read.as_secs_f64() * 1e3,
            parse.as_secs_f64() * 1e3,
            index.as_secs_f64() * 1e3,
            flavors.as_secs_f64() * 1e3
        );
        let t = Instant::now();
        // SAFETY: plain parse of the kernel's BTF by libbpf, freed right after.
        unsafe {
            let b = libbpf_sys::btf__load_vmlinux_btf();
            assert!(!b.is_null());
            libbpf_sys::btf__free(b);
        }
        println!(
            "libbpf btf__load_vmlinux_btf: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }

    // The first oxbpf object pays for parsing vmlinux; report it apart.
    let first = Instant::now();
    drop(oxbpf_once(&path, false));
    let first = first.elapsed();

    let ox_prep = time(n, || drop(oxbpf_once(&path, false)));
    let lb_prep = time(n, || libbpf_once(&path, false));
    let ox_load = time(n, || drop(oxbpf_once(&path, true)));
    let lb_load = time(n, || libbpf_once(&path, true));
    let ox_obj = time(n, || {
        drop(oxbpf::Object::open_file(&path).unwrap().load().unwrap())
    });

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
    println!(
        "  oxbpf Object::open_file + load (the real loader): {:.3} ms   ratio to libbpf {:.3}",
        per(ox_obj),
        ox_obj.as_secs_f64() / lb_load.as_secs_f64()
    );
    let total_ox = first + ox_load;
    println!(
        "  whole run incl. the first vmlinux parse: oxbpf {:.1} ms vs libbpf {:.1} ms (ratio {:.3})",
        total_ox.as_secs_f64() * 1e3,
        lb_load.as_secs_f64() * 1e3,
        total_ox.as_secs_f64() / lb_load.as_secs_f64()
    );
}
