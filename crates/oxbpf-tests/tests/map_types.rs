//! Every map type of the kernel, created through `MapHandle::create`, written, read back and iterated.
//! Types whose elements user space cannot write (or read) check that the kernel refuses with the errno
//! it documents, and are iterated anyway.

mod sys_util;

use std::os::fd::AsFd;

use oxbpf::insn::{reg::*, Insn};
use oxbpf::map::{possible_cpus, MapFlags, MapHandle, MapType, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC};
use oxbpf::program::{ProgLoadOpts, ProgramHandle, ProgramType};
use oxbpf::sys::bpf::MapCreateOpts;
use oxbpf::ErrorKind;
use sys_util::{raw, root, FdGuard};

fn create(t: MapType, k: u32, v: u32, n: u32) -> MapHandle {
    create_with(t, k, v, n, &MapCreateOpts::default())
}

fn create_with(t: MapType, k: u32, v: u32, n: u32, o: &MapCreateOpts<'_>) -> MapHandle {
    MapHandle::create(t, Some(t.name()), k, v, n, o).unwrap_or_else(|e| panic!("create {t}: {e}"))
}

/// Whether the kernel has map type `t` (libbpf's probe); a test skips only the types it lacks.
fn kernel_has(t: MapType) -> bool {
    oxbpf::kernel::features::probe_map_type(t).unwrap_or_else(|e| panic!("probe {t}: {e}"))
}

fn keys(m: &MapHandle) -> Vec<Vec<u8>> {
    m.keys().collect::<oxbpf::Result<Vec<_>>>().unwrap()
}

fn u32b(v: u32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn u64b(v: u64) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn trivial_prog() -> ProgramHandle {
    ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("trivial"),
        "GPL",
        &[Insn::mov64_imm(R0, 0), Insn::exit()],
        &ProgLoadOpts::default(),
    )
    .unwrap()
}

/// Hash-like maps: insert three keys, read back, iterate, delete one, check NOEXIST/EXIST.
fn exercise_hash(m: &MapHandle) {
    for i in 0..3u32 {
        m.update(&u32b(i), &u64b(u64::from(i) * 10), MapFlags::NOEXIST)
            .unwrap();
    }
    assert_eq!(m.lookup(&u32b(2), MapFlags::ANY).unwrap(), Some(u64b(20)));
    let err = m.update(&u32b(2), &u64b(1), MapFlags::NOEXIST).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let err = m.update(&u32b(9), &u64b(1), MapFlags::EXIST).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let mut ks = keys(m);
    ks.sort();
    assert_eq!(ks, vec![u32b(0), u32b(1), u32b(2)]);
    assert!(m.delete(&u32b(1)).unwrap());
    assert!(!m.delete(&u32b(1)).unwrap());
    assert_eq!(m.lookup(&u32b(1), MapFlags::ANY).unwrap(), None);
    match m.lookup_and_delete(&u32b(0)) {
        // Hash maps take BPF_MAP_LOOKUP_AND_DELETE_ELEM since 5.14 (ENOTSUPP before).
        Err(e) if e.errno() == Some(524) && !oxbpf_tests::kernel_at_least(5, 14) => {
            assert_eq!(m.lookup(&u32b(0), MapFlags::ANY).unwrap(), Some(u64b(0)));
            assert!(m.delete(&u32b(0)).unwrap());
        }
        r => assert_eq!(r.unwrap(), Some(u64b(0))),
    }
    assert_eq!(keys(m), vec![u32b(2)]);
}

#[test]
fn hash_and_lru_hash() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    exercise_hash(&create(MapType::Hash, 4, 8, 16));
    exercise_hash(&create_with(
        MapType::Hash,
        4,
        8,
        16,
        &MapCreateOpts {
            map_flags: BPF_F_NO_PREALLOC,
            ..Default::default()
        },
    ));
    exercise_hash(&create(MapType::LruHash, 4, 8, 16));
}

#[test]
fn array() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = create(MapType::Array, 4, 8, 4);
    m.update_pod(&1u32, &11u64, MapFlags::ANY).unwrap();
    assert_eq!(
        m.lookup_pod::<u32, u64>(&1, MapFlags::ANY).unwrap(),
        Some(11)
    );
    assert_eq!(
        m.lookup_pod::<u32, u64>(&0, MapFlags::ANY).unwrap(),
        Some(0),
        "arrays are zero-filled"
    );
    assert_eq!(keys(&m), (0..4).map(u32b).collect::<Vec<_>>());
    let mut buf = [0u8; 8];
    assert!(m.lookup_into(&u32b(1), &mut buf, MapFlags::ANY).unwrap());
    assert_eq!(buf, 11u64.to_ne_bytes());
    let mut short = [0u8; 4];
    let err = m
        .lookup_into(&u32b(1), &mut short, MapFlags::ANY)
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidInput,
        "a short buffer is refused before the syscall"
    );
    let err = m.delete(&u32b(0)).unwrap_err();
    assert_eq!(
        err.errno(),
        Some(libc::EINVAL),
        "array elements cannot be deleted"
    );
    let err = m.update_pod(&4u32, &0u64, MapFlags::ANY).unwrap_err();
    assert_eq!(err.errno(), Some(libc::E2BIG), "index past max_entries");
    // Typed access checks sizes before any syscall.
    assert_eq!(
        m.lookup_pod::<u32, u32>(&0, MapFlags::ANY)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn percpu_maps() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let cpus = possible_cpus().unwrap();
    assert!(cpus >= 1);
    for t in [
        MapType::PercpuArray,
        MapType::PercpuHash,
        MapType::LruPercpuHash,
    ] {
        let m = create(t, 4, 4, 8);
        let values: Vec<Vec<u8>> = (0..cpus as u32).map(|c| u32b(100 + c)).collect();
        m.update_percpu(&u32b(3), &values, MapFlags::ANY).unwrap();
        assert_eq!(
            m.lookup_percpu(&u32b(3)).unwrap(),
            Some(values.clone()),
            "{t}"
        );
        let typed: Vec<u32> = m.lookup_percpu_pod(&3u32).unwrap().unwrap();
        assert_eq!(typed, (0..cpus as u32).map(|c| 100 + c).collect::<Vec<_>>());
        // The raw lookup returns every CPU's value at an 8-byte stride.
        assert_eq!(
            m.lookup(&u32b(3), MapFlags::ANY).unwrap().unwrap().len(),
            8 * cpus
        );
        assert!(keys(&m).contains(&u32b(3)));
        // Wrong count of values is refused before the syscall.
        assert!(m
            .update_percpu(&u32b(3), &values[..0], MapFlags::ANY)
            .is_err());
    }
}

#[test]
fn lpm_trie_longest_prefix() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let o = MapCreateOpts {
        map_flags: BPF_F_NO_PREALLOC,
        ..Default::default()
    };
    let m = create_with(MapType::LpmTrie, 8, 4, 16, &o);
    let key = |plen: u32, ip: [u8; 4]| [plen.to_ne_bytes().to_vec(), ip.to_vec()].concat();
    m.update(&key(8, [10, 0, 0, 0]), &u32b(1), MapFlags::ANY)
        .unwrap();
    m.update(&key(24, [10, 1, 2, 0]), &u32b(2), MapFlags::ANY)
        .unwrap();
    assert_eq!(
        m.lookup(&key(32, [10, 1, 2, 3]), MapFlags::ANY).unwrap(),
        Some(u32b(2))
    );
    assert_eq!(
        m.lookup(&key(32, [10, 9, 9, 9]), MapFlags::ANY).unwrap(),
        Some(u32b(1))
    );
    assert_eq!(
        m.lookup(&key(32, [11, 0, 0, 0]), MapFlags::ANY).unwrap(),
        None
    );
    assert_eq!(keys(&m).len(), 2);
}

#[test]
fn queue_stack_and_bloom_filter() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let q = create(MapType::Queue, 0, 4, 4);
    let s = create(MapType::Stack, 0, 4, 4);
    for v in 1..=3u32 {
        q.push(&u32b(v), MapFlags::ANY).unwrap();
        s.push(&u32b(v), MapFlags::ANY).unwrap();
    }
    assert_eq!(q.peek(None).unwrap(), Some(u32b(1)));
    assert_eq!(s.peek(None).unwrap(), Some(u32b(3)));
    assert_eq!(
        (1..=3)
            .map(|_| q.pop().unwrap().unwrap())
            .collect::<Vec<_>>(),
        vec![u32b(1), u32b(2), u32b(3)]
    );
    assert_eq!(
        (1..=3)
            .map(|_| s.pop().unwrap().unwrap())
            .collect::<Vec<_>>(),
        vec![u32b(3), u32b(2), u32b(1)]
    );
    assert_eq!(q.pop().unwrap(), None);
    // Keyless maps have nothing to iterate.
    assert!(keys(&q).is_empty());

    if !kernel_has(MapType::BloomFilter) {
        return oxbpf_tests::skip("bloom_filter: no BPF_MAP_TYPE_BLOOM_FILTER (added in 5.16)");
    }
    let b = create_with(
        MapType::BloomFilter,
        0,
        4,
        64,
        &MapCreateOpts {
            map_extra: 3,
            ..Default::default()
        },
    );
    b.push(&u32b(7), MapFlags::ANY).unwrap();
    assert_eq!(
        b.peek(Some(&u32b(7))).unwrap(),
        Some(u32b(7)),
        "a pushed value is reported present"
    );
    assert_eq!(b.info().unwrap().map_extra, 3);
    assert!(keys(&b).is_empty());
}

#[test]
fn prog_array_holds_programs() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = trivial_prog();
    let m = create(MapType::ProgArray, 4, 4, 2);
    m.update(&u32b(1), &u32b(raw(&p)), MapFlags::ANY).unwrap();
    // Reading a slot from user space gives the program's id.
    assert_eq!(
        m.lookup(&u32b(1), MapFlags::ANY).unwrap(),
        Some(u32b(p.id().unwrap()))
    );
    assert_eq!(m.lookup(&u32b(0), MapFlags::ANY).unwrap(), None);
    assert_eq!(keys(&m).len(), 2);
    assert!(m.delete(&u32b(1)).unwrap());
}

#[test]
fn perf_event_and_cgroup_arrays() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let ev = sys_util::perf_event_fd();
    let m = create(MapType::PerfEventArray, 4, 4, 2);
    m.update(&u32b(0), &u32b(raw(&ev)), MapFlags::ANY).unwrap();
    // The kernel does not hand perf event fds back to user space.
    let err = m.lookup(&u32b(0), MapFlags::ANY).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSupported, "{err}");
    assert_eq!(keys(&m).len(), 2);
    assert!(m.delete(&u32b(0)).unwrap());

    let Some(cg) = sys_util::cgroup2_dir() else {
        return oxbpf_tests::skip("no cgroup2 mount: cgroup_array write");
    };
    let cgfd = std::fs::File::open(cg).unwrap();
    let m = create(MapType::CgroupArray, 4, 4, 2);
    m.update(&u32b(1), &u32b(raw(&cgfd)), MapFlags::ANY)
        .unwrap();
    assert_eq!(
        m.lookup(&u32b(1), MapFlags::ANY).unwrap_err().kind(),
        ErrorKind::NotSupported
    );
    assert_eq!(keys(&m).len(), 2);
}

#[test]
fn stack_trace_is_kernel_written() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = create(MapType::StackTrace, 4, 8 * 16, 64);
    assert_eq!(m.lookup(&u32b(0), MapFlags::ANY).unwrap(), None);
    let err = m.update(&u32b(0), &[0u8; 128], MapFlags::ANY).unwrap_err();
    assert_eq!(
        err.errno(),
        Some(libc::EINVAL),
        "user space cannot write stacks"
    );
    assert!(keys(&m).is_empty());
    // The kernel writes them: bpf_get_stackid(ctx, &m, 0) from a raw tracepoint on sys_enter.
    let mut insns = vec![Insn::mov64_reg(R6, R1)];
    insns.extend(Insn::ld_map_fd(R2, raw(&m) as i32));
    insns.extend([
        Insn::mov64_reg(R1, R6),
        Insn::mov64_imm(R3, 0),
        Insn::call_helper(27), // bpf_get_stackid
        Insn::mov64_imm(R0, 0),
        Insn::exit(),
    ]);
    let p = ProgramHandle::load(
        ProgramType::RawTracepoint,
        Some("stacks"),
        "GPL",
        &insns,
        &ProgLoadOpts::default(),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let link = oxbpf::sys::link::raw_tracepoint_open(p.as_fd(), Some("sys_enter"), 0).unwrap();
    for _ in 0..10 {
        let _ = std::fs::metadata("/");
    }
    drop(link);
    let ks = keys(&m);
    assert!(!ks.is_empty(), "syscalls were traced");
    let stack = m.lookup(&ks[0], MapFlags::ANY).unwrap().unwrap();
    let first_ip = u64::from_ne_bytes(stack[..8].try_into().unwrap());
    assert!(
        first_ip >= 0xffff_0000_0000_0000,
        "a kernel address: {first_ip:#x}"
    );
    assert!(m.delete(&ks[0]).unwrap());
}

#[test]
fn maps_of_maps() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let inner = create(MapType::Array, 4, 4, 1);
    let other = create(MapType::Array, 4, 4, 1);
    let o = MapCreateOpts {
        inner_map_fd: Some(inner.as_fd()),
        ..Default::default()
    };
    for t in [MapType::ArrayOfMaps, MapType::HashOfMaps] {
        let m = create_with(t, 4, 4, 4, &o);
        m.update(&u32b(2), &u32b(raw(&other)), MapFlags::ANY)
            .unwrap();
        // User space reads back the inner map's id.
        assert_eq!(
            m.lookup(&u32b(2), MapFlags::ANY).unwrap(),
            Some(u32b(other.id().unwrap())),
            "{t}"
        );
        assert!(keys(&m).contains(&u32b(2)));
        assert!(m.delete(&u32b(2)).unwrap());
    }
}

#[test]
fn devmap_and_cpumap() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let lo = 1u32; // ifindex of the loopback device
    for t in [MapType::Devmap, MapType::DevmapHash] {
        let m = create(t, 4, 4, 4);
        m.update(&u32b(0), &u32b(lo), MapFlags::ANY).unwrap();
        assert_eq!(
            m.lookup(&u32b(0), MapFlags::ANY).unwrap(),
            Some(u32b(lo)),
            "{t}"
        );
        assert_eq!(keys(&m).first(), Some(&u32b(0)));
    }
    // struct bpf_cpumap_val { u32 qsize; u32 prog fd/id }
    let m = create(MapType::Cpumap, 4, 8, possible_cpus().unwrap() as u32);
    m.update(&u32b(0), &[u32b(192), u32b(0)].concat(), MapFlags::ANY)
        .unwrap();
    assert_eq!(
        m.lookup(&u32b(0), MapFlags::ANY).unwrap(),
        Some([u32b(192), u32b(0)].concat())
    );
    assert!(!keys(&m).is_empty());
}

#[test]
fn xskmap_holds_af_xdp_sockets() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = create(MapType::Xskmap, 4, 4, 4);
    // An XSK slot only takes a bound AF_XDP socket: a UDP socket is refused.
    let udp = sys_util::udp_socket();
    assert!(m.update(&u32b(0), &u32b(raw(&udp)), MapFlags::ANY).is_err());
    assert_eq!(keys(&m).len(), 4);
    let Some((xsk, _umem)) = sys_util::xsk_socket(1 /* lo */) else {
        return oxbpf_tests::skip("AF_XDP socket on lo refused by the kernel");
    };
    m.update(&u32b(2), &u32b(raw(&xsk)), MapFlags::ANY).unwrap();
    // Slots are not readable from user space; the update flags show whether one is taken: EXIST
    // succeeds while the slot holds a socket and fails once it is empty.
    assert_eq!(
        m.lookup(&u32b(2), MapFlags::ANY).unwrap_err().kind(),
        ErrorKind::NotSupported
    );
    m.update(&u32b(2), &u32b(raw(&xsk)), MapFlags::EXIST)
        .unwrap();
    let err = m
        .update(&u32b(1), &u32b(raw(&xsk)), MapFlags::EXIST)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "slot 1 is empty: {err}");
    assert!(m.delete(&u32b(2)).unwrap());
    let err = m
        .update(&u32b(2), &u32b(raw(&xsk)), MapFlags::EXIST)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn sockmap_sockhash_reuseport() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let sock = sys_util::udp_socket();
    for t in [MapType::Sockmap, MapType::Sockhash] {
        let m = create(t, 4, 8, 4);
        m.update(&u32b(1), &u64b(u64::from(raw(&sock))), MapFlags::ANY)
            .unwrap();
        // Reading back gives the socket cookie (non-zero), not the fd.
        let cookie = m.lookup(&u32b(1), MapFlags::ANY).unwrap().unwrap();
        assert_ne!(cookie, u64b(0), "{t}");
        assert!(keys(&m).contains(&u32b(1)));
        assert!(m.delete(&u32b(1)).unwrap());
    }
    // SO_REUSEPORT group member: a listening TCP socket with SO_REUSEPORT; reads give its cookie.
    let l = sys_util::reuseport_listener();
    let m = create(MapType::ReuseportSockarray, 4, 8, 2);
    m.update(&u32b(0), &u64b(u64::from(raw(&l))), MapFlags::ANY)
        .unwrap();
    assert_ne!(m.lookup(&u32b(0), MapFlags::ANY).unwrap().unwrap(), u64b(0));
    assert_eq!(m.lookup(&u32b(1), MapFlags::ANY).unwrap(), None);
    assert_eq!(keys(&m).len(), 2);
    assert!(m.delete(&u32b(0)).unwrap());
}

#[test]
fn local_storage_maps_with_btf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let btf = sys_util::int_btf();
    let o = MapCreateOpts {
        map_flags: BPF_F_NO_PREALLOC,
        btf_fd: Some(btf.as_fd()),
        btf_key_type_id: 1,
        btf_value_type_id: 1,
        ..Default::default()
    };
    let sock = sys_util::udp_socket();
    let pidfd = sys_util::pidfd_self();
    let cg = sys_util::cgroup2_dir().map(|d| std::fs::File::open(d).unwrap());
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let cases: Vec<(MapType, Option<u32>)> = vec![
        (MapType::SkStorage, Some(raw(&sock))),
        (MapType::TaskStorage, Some(raw(&pidfd))),
        (MapType::CgrpStorage, cg.as_ref().map(raw)),
        (MapType::InodeStorage, Some(raw(&file))),
    ];
    for (t, key_fd) in cases {
        let m = match MapHandle::create(t, Some(t.name()), 4, 4, 0, &o) {
            Ok(m) => m,
            // inode storage needs the BPF LSM compiled in.
            Err(e) if e.kind() == ErrorKind::NotSupported || e.errno() == Some(libc::EINVAL) => {
                oxbpf_tests::skip(format!("{t}: {e}"));
                continue;
            }
            Err(e) => panic!("{t}: {e}"),
        };
        assert_eq!(m.info().unwrap().btf_value_type_id, 1);
        let Some(fd) = key_fd else {
            oxbpf_tests::skip(format!("{t}: no object to key it with"));
            continue;
        };
        match m.update(&u32b(fd), &u32b(77), MapFlags::ANY) {
            Ok(()) => {
                assert_eq!(
                    m.lookup(&u32b(fd), MapFlags::ANY).unwrap(),
                    Some(u32b(77)),
                    "{t}"
                );
                assert!(m.delete(&u32b(fd)).unwrap());
                assert_eq!(m.lookup(&u32b(fd), MapFlags::ANY).unwrap(), None);
            }
            // inode storage needs the BPF LSM to be active to hold per-inode data.
            Err(e) if t == MapType::InodeStorage => oxbpf_tests::skip(format!("{t} update: {e}")),
            Err(e) => panic!("{t}: {e}"),
        }
        // Local storage maps cannot be walked from user space.
        let err = m.next_key(None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotSupported, "{t}: {err}");
    }
}

#[test]
fn cgroup_storage_written_once_attached() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    // key: struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; } (16 bytes)
    for t in [MapType::CgroupStorage, MapType::PercpuCgroupStorage] {
        let m = create(t, 16, 8, 0);
        assert_eq!(m.lookup(&[0u8; 16], MapFlags::ANY).unwrap(), None, "{t}");
        assert!(keys(&m).is_empty());
    }
    // Storage exists per (cgroup, attach type) once a program using it is attached: attach one to a
    // scratch cgroup, then write and read the element from user space.
    let Some(root_cg) = sys_util::cgroup2_dir() else {
        return oxbpf_tests::skip("no cgroup2 mount: cgroup storage write");
    };
    let dir = root_cg.join(format!("oxbpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&dir).unwrap());
    {
        let cg = std::fs::File::open(&dir).unwrap();
        let m = create(MapType::CgroupStorage, 16, 8, 0);
        let egress = oxbpf::program::AttachType::CgroupInetEgress;
        let mut insns = Insn::ld_map_fd(R1, raw(&m) as i32).to_vec();
        insns.extend([
            Insn::mov64_imm(R2, 0),
            Insn::call_helper(81), // bpf_get_local_storage
            Insn::mov64_imm(R0, 1),
            Insn::exit(),
        ]);
        let o = ProgLoadOpts {
            expected_attach_type: egress.as_u32(),
            ..Default::default()
        };
        let p = ProgramHandle::load(
            ProgramType::CgroupSkb,
            Some("cg_storage"),
            "GPL",
            &insns,
            &o,
        )
        .unwrap();
        let link = oxbpf::sys::link::link_create(
            p.as_fd(),
            oxbpf::sys::link::Target::Fd(cg.as_fd()),
            egress.as_u32(),
            0,
            &oxbpf::sys::link::LinkExtra::None,
        )
        .unwrap();
        let key = [
            ino.to_ne_bytes().to_vec(),
            egress.as_u32().to_ne_bytes().to_vec(),
            vec![0; 4],
        ]
        .concat();
        assert_eq!(
            keys(&m),
            vec![key.clone()],
            "one storage for the attached cgroup"
        );
        m.update(&key, &u64b(1234), MapFlags::ANY).unwrap();
        assert_eq!(m.lookup(&key, MapFlags::ANY).unwrap(), Some(u64b(1234)));
        drop(link);
    }
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn ringbuf_and_user_ringbuf_mmap() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let page = 4096u32;
    let rb = create(MapType::Ringbuf, 0, 0, 4 * page);
    assert_eq!(rb.info().unwrap().max_entries, 4 * page);
    // Record producer position through a program: bpf_ringbuf_output(&rb, &zero, 8, 0).
    let mut insns = vec![Insn::st_mem(oxbpf::insn::BPF_DW, R10, -8, 0x1234)];
    insns.extend(Insn::ld_map_fd(R1, raw(&rb) as i32));
    insns.extend([
        Insn::mov64_reg(R2, R10),
        Insn::alu64_imm(oxbpf::insn::BPF_ADD, R2, -8),
        Insn::mov64_imm(R3, 8),
        Insn::mov64_imm(R4, 0),
        Insn::call_helper(130), // bpf_ringbuf_output
        Insn::mov64_imm(R0, 0),
        Insn::exit(),
    ]);
    let p = ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("rb_out"),
        "GPL",
        &insns,
        &ProgLoadOpts::default(),
    )
    .unwrap();
    p.test_run(&[0u8; 64], &[], 1, 0, 0).unwrap();
    // Layout: consumer page (rw), then producer page + data (ro) mapped at offset one page.
    let prod = oxbpf::sys::mmap::Mmap::map(rb.as_fd(), (page * 2) as usize, u64::from(page), false)
        .unwrap();
    let pos = u64::from_ne_bytes(prod.as_slice()[..8].try_into().unwrap());
    assert_eq!(pos, 16, "one 8-byte record plus its 8-byte header");
    let data = &prod.as_slice()[page as usize..];
    assert_eq!(
        u32::from_ne_bytes(data[..4].try_into().unwrap()),
        8,
        "record length"
    );
    assert_eq!(u64::from_ne_bytes(data[8..16].try_into().unwrap()), 0x1234);
    assert!(
        rb.lookup(&[], MapFlags::ANY).is_err(),
        "ring buffers have no elements"
    );

    if !kernel_has(MapType::UserRingbuf) {
        return oxbpf_tests::skip("user_ringbuf: no BPF_MAP_TYPE_USER_RINGBUF (added in 6.1)");
    }
    let urb = create(MapType::UserRingbuf, 0, 0, 4 * page);
    // User ring buffer: consumer page read-only to user space, producer page writable.
    let cons = oxbpf::sys::mmap::Mmap::map(urb.as_fd(), page as usize, 0, false).unwrap();
    assert_eq!(&cons.as_slice()[..8], &[0u8; 8]);
    let mut prod =
        oxbpf::sys::mmap::Mmap::map(urb.as_fd(), page as usize, u64::from(page), true).unwrap();
    prod.as_mut_slice().unwrap()[..8].copy_from_slice(&0u64.to_ne_bytes());
    assert!(
        oxbpf::sys::mmap::Mmap::map(urb.as_fd(), page as usize, 0, true).is_err(),
        "consumer page is kernel-owned"
    );

    // Write one 8-byte sample (8-byte header: length, then the data) and drain it from a program:
    // bpf_user_ringbuf_drain(&urb, callback, NULL, 0) returns how many samples it consumed.
    let mut data =
        oxbpf::sys::mmap::Mmap::map(urb.as_fd(), (4 * page) as usize, u64::from(2 * page), true)
            .unwrap();
    let d = data.as_mut_slice().unwrap();
    d[..4].copy_from_slice(&8u32.to_ne_bytes());
    d[8..16].copy_from_slice(&0xabcdu64.to_ne_bytes());
    prod.as_mut_slice().unwrap()[..8].copy_from_slice(&16u64.to_ne_bytes());
    let mut insns = Insn::ld_map_fd(R1, raw(&urb) as i32).to_vec();
    insns.extend(Insn::ld_imm64_raw(R2, oxbpf::insn::BPF_PSEUDO_FUNC, 5, 0)); // callback at insn 8
    insns.extend([
        Insn::mov64_imm(R3, 0),
        Insn::mov64_imm(R4, 0),
        Insn::call_helper(209), // bpf_user_ringbuf_drain
        Insn::exit(),
        Insn::mov64_imm(R0, 0), // callback: keep draining
        Insn::exit(),
    ]);
    // Callbacks need BTF func info: insn 0 is FUNC main, insn 8 FUNC cb.
    let btf = sys_util::callback_btf();
    let func_info: Vec<u8> = [0u32, 3, 8, 6]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    let o = ProgLoadOpts {
        prog_btf_fd: Some(btf.as_fd()),
        func_info: &func_info,
        func_info_rec_size: 8,
        ..Default::default()
    };
    let p = ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("urb_drain"),
        "GPL",
        &insns,
        &o,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        p.test_run(&[0u8; 64], &[], 1, 0, 0).unwrap().retval,
        1,
        "one sample drained"
    );
    assert_eq!(
        &cons.as_slice()[..8],
        &16u64.to_ne_bytes(),
        "the kernel advanced the consumer position"
    );
}

#[test]
fn arena_and_mmapable_array() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let o = MapCreateOpts {
        map_flags: BPF_F_MMAPABLE,
        ..Default::default()
    };
    let a = create_with(MapType::Array, 4, 8, 16, &o);
    {
        let mut mem = a.mmap(true).unwrap();
        mem.as_mut_slice().unwrap()[8..16].copy_from_slice(&99u64.to_ne_bytes());
    }
    assert_eq!(
        a.lookup_pod::<u32, u64>(&1, MapFlags::ANY).unwrap(),
        Some(99),
        "write through the mapping"
    );
    a.update_pod(&2u32, &5u64, MapFlags::ANY).unwrap();
    assert_eq!(
        &a.mmap(false).unwrap().as_slice()[16..24],
        &5u64.to_ne_bytes()
    );
    assert!(
        create(MapType::Array, 4, 8, 1).mmap(false).is_err(),
        "plain arrays are not mmapable"
    );

    if !kernel_has(MapType::Arena) {
        return oxbpf_tests::skip("arena: no BPF_MAP_TYPE_ARENA (added in 6.9)");
    }
    let o = MapCreateOpts {
        map_flags: BPF_F_MMAPABLE,
        ..Default::default()
    };
    match MapHandle::create(MapType::Arena, Some("arena"), 0, 0, 4, &o) {
        Ok(arena) => {
            let mut mem = arena.mmap(true).unwrap();
            mem.as_mut_slice().unwrap()[4096] = 0x5a; // faults in a page of the arena
            assert_eq!(mem.as_slice()[4096], 0x5a);
            assert!(keys(&arena).is_empty() || arena.next_key(None).is_err());
        }
        Err(e) if e.kind() == ErrorKind::NotSupported => oxbpf_tests::skip(format!("arena: {e}")),
        Err(e) => panic!("arena: {e}"),
    }
}
