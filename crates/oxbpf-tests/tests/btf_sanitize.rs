//! Sanitized BTF is accepted by the running kernel: for each missing feature, the downgraded BTF of
//! every fixture object without externs (with its DATASECs fixed up as a loader does) and of a
//! hand-built sample with every kind loads with `BPF_BTF_LOAD`.

use std::os::fd::{FromRawFd, OwnedFd};

use object::{Object, ObjectSection, ObjectSymbol};
use oxbpf::btf::*;

/// Loads BTF bytes into the kernel; on failure, the kernel's log from a second, logged attempt.
fn kernel_load(bytes: &[u8]) -> Result<OwnedFd, String> {
    let load = |log: &mut [u8], level: u32| {
        let mut opts = libbpf_sys::bpf_btf_load_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_btf_load_opts>() as _,
            log_buf: if log.is_empty() {
                std::ptr::null_mut()
            } else {
                log.as_mut_ptr().cast()
            },
            log_level: level,
            log_size: log.len() as u32,
            ..Default::default()
        };
        // SAFETY: bytes and log outlive the call; opts is a valid, sized bpf_btf_load_opts.
        unsafe { libbpf_sys::bpf_btf_load(bytes.as_ptr().cast(), bytes.len() as _, &mut opts) }
    };
    let fd = load(&mut [], 0);
    if fd >= 0 {
        // SAFETY: a fresh fd we own.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let mut log = vec![0u8; 1 << 24];
    let again = load(&mut log, 1);
    if again >= 0 {
        // SAFETY: a fresh fd we own; closed right away.
        drop(unsafe { OwnedFd::from_raw_fd(again) });
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(0);
    let text = String::from_utf8_lossy(&log[..end]);
    // The verdict is on the last lines; the rest is the type listing.
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    Err(format!(
        "errno {}: {}",
        -fd,
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    ))
}

/// What the loader does before loading object BTF: DATASEC sizes from the ELF sections, variable
/// offsets from the symbols.
fn fix_datasecs(btf: &mut Btf, file: &object::File<'_>) {
    let ids: Vec<TypeId> = btf
        .types()
        .filter(|(_, t)| matches!(t.kind, TypeKind::Datasec(_)))
        .map(|(id, _)| id)
        .collect();
    for id in ids {
        let name = btf.name_of(id).unwrap().to_string();
        let size = file.section_by_name(&name).map_or(0, |s| s.size() as u32);
        let vars: Vec<(usize, String)> = match &btf.type_by_id(id).unwrap().kind {
            TypeKind::Datasec(d) => d
                .vars
                .iter()
                .enumerate()
                .map(|(i, v)| (i, btf.name_of(v.type_id).unwrap().to_string()))
                .collect(),
            _ => unreachable!(),
        };
        let offsets: Vec<(usize, u32)> = vars
            .into_iter()
            .filter_map(|(i, n)| {
                file.symbols()
                    .find(|s| s.name() == Ok(&n))
                    .map(|s| (i, s.address() as u32))
            })
            .collect();
        btf.update_type(id, |t| {
            let TypeKindBuf::Datasec(d) = &mut t.kind else {
                unreachable!()
            };
            d.size = size;
            for (i, off) in offsets {
                d.vars[i].offset = off;
            }
        })
        .unwrap();
    }
}

/// The BTF features the running kernel has, as the loader probes them.
fn kernel_features() -> BtfFeatures {
    use oxbpf::kernel::features::{kernel_supports, Feature};
    BtfFeatures {
        func: kernel_supports(Feature::BtfFunc),
        func_global: kernel_supports(Feature::BtfGlobalFunc),
        datasec: kernel_supports(Feature::BtfDatasec),
        qmark_datasec: kernel_supports(Feature::BtfQmarkDatasec),
        float: kernel_supports(Feature::BtfFloat),
        decl_tag: kernel_supports(Feature::BtfDeclTag),
        type_tag: kernel_supports(Feature::BtfTypeTag),
        enum64: kernel_supports(Feature::BtfEnum64),
    }
}

/// The feature sets to sanitize for, each limited to what this kernel has: a kernel is only ever
/// handed BTF sanitized for (at most) its own features ('all' on 5.10 is 5.10's set).
fn feature_sets() -> Vec<(&'static str, BtfFeatures)> {
    let k = kernel_features();
    let without = move |name: &'static str, change: fn(&mut BtfFeatures)| {
        let mut f = k;
        change(&mut f);
        (name, f)
    };
    vec![
        ("all", k),
        // DECL_TAG (5.16) came long after FUNC (5.0): no kernel has tags but no functions, and a
        // tag on a function's argument (__arg_ctx) is invalid once the function is a typedef.
        without("no func", |f| {
            f.func = false;
            f.decl_tag = false;
        }),
        without("no global func", |f| f.func_global = false),
        without("no datasec", |f| f.datasec = false),
        without("no qmark datasec", |f| f.qmark_datasec = false),
        without("no float", |f| f.float = false),
        without("no decl tag", |f| f.decl_tag = false),
        without("no type tag", |f| f.type_tag = false),
        without("no enum64", |f| f.enum64 = false),
        ("none", BtfFeatures::NONE),
    ]
}

fn sample() -> Btf {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    let proto = b.add_func_proto(int, &[("a", int), ("b", int)]);
    let func = b.add_func("f", proto, Linkage::Global);
    let var = b.add_var("v", int, Linkage::Global);
    b.add_datasec(
        ".data",
        8,
        vec![VarSecInfo {
            type_id: var,
            offset: 4,
            size: 4,
        }],
    );
    b.add_float("double", 8);
    b.add_decl_tag("tag", func, -1);
    let tt = b.add_type_tag("user", int);
    b.add_ptr(tt);
    b.add_enum("se", 4, true, &[("NEG", -1)]);
    b.add_enum64("e64", 8, false, &[("BIG", 1 << 40), ("SMALL", 1)]);
    b
}

#[test]
fn kernel_accepts_sanitized_btf() {
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("BPF_BTF_LOAD needs root");
        return;
    }
    let fds = oxbpf_tests::LeakCheck::start();
    let mut inputs: Vec<(String, Btf)> = vec![("sample".into(), sample())];
    for name in oxbpf_tests::fixture_names() {
        let path = oxbpf_tests::fixture(name);
        let data = std::fs::read(&path).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let mut btf = Btf::parse(file.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
        // Externs (kconfig/ksym) need the loader's extern fixups before the kernel takes them;
        // that is not sanitization, so those objects are left out here.
        let has_externs = btf.types().any(|(_, t)| match &t.kind {
            TypeKind::Var(v) => v.linkage == Linkage::Extern,
            TypeKind::Func(f) => f.linkage == Linkage::Extern,
            _ => false,
        });
        if has_externs {
            continue;
        }
        fix_datasecs(&mut btf, &file);
        inputs.push((name.to_string(), btf));
    }
    // Kernels before 5.13 refuse a DATASEC without variables ("vlen == 0"); libbpf does not
    // sanitize those either (the loader then goes on without BTF, as libbpf does).
    let empty_datasec_ok = {
        let mut b = Btf::new();
        b.add_int("int", 4, INT_SIGNED).unwrap();
        b.add_datasec(".rodata", 8, vec![]);
        match kernel_load(&b.to_bytes()) {
            Ok(_) => true,
            Err(e) if e.contains("vlen == 0") => false,
            Err(e) => panic!("empty DATASEC probe: {e}"),
        }
    };
    let mut loaded = 0;
    for (what, btf) in &inputs {
        let empty_datasec = btf.types().any(|(_, t)| match &t.kind {
            TypeKind::Datasec(d) => d.vars.is_empty(),
            _ => false,
        });
        // FUNC_PROTO becomes an ENUM whose enumerators are the parameters; an unnamed parameter
        // gives an unnamed enumerator. Kernels without BTF_KIND_FUNC (before 5.0) accept that, this
        // one does not (its name checks came with FUNC). libbpf produces the same bytes.
        let unnamed_param = btf.types().any(|(_, t)| match &t.kind {
            TypeKind::FuncProto(p) => p.params.iter().any(|p| p.name_off == 0 && p.type_id != 0),
            _ => false,
        });
        for (fname, features) in feature_sets() {
            let mut s = btf.clone();
            s.sanitize(&features).unwrap();
            if !features.func && unnamed_param {
                let e = kernel_load(&s.to_bytes()).unwrap_err();
                assert!(e.contains("Invalid name"), "{what}, '{fname}': {e}");
                continue;
            }
            if features.datasec && empty_datasec && !empty_datasec_ok {
                let e = kernel_load(&s.to_bytes()).unwrap_err();
                assert!(e.contains("vlen == 0"), "{what}, '{fname}': {e}");
                continue;
            }
            loaded += 1;
            if let Err(e) = kernel_load(&s.to_bytes()) {
                panic!("{what}, sanitized for '{fname}': kernel rejects it: {e}");
            }
        }
    }
    assert!(inputs.len() >= 3, "too few inputs: {}", inputs.len());
    assert!(
        loaded >= inputs.len() * 7,
        "only {loaded} sanitized BTFs loaded"
    );
    println!("{} inputs, {loaded} sanitized BTFs loaded", inputs.len());
    fds.assert_clean("fds and BPF mappings");
}
