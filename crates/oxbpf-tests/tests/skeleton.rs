//! Generated skeletons: one per fixture (built by build.rs into `$OUT_DIR/skeletons.rs`; that this
//! file compiles proves they all compile, with their size/offset assertions), globals written before
//! load and read after the programs ran, map values read back as generated structs.

#[allow(dead_code, clippy::all)]
mod skels {
    include!(concat!(env!("OUT_DIR"), "/skeletons.rs"));
}

use oxbpf::map::MapFlags;
use skels::{minimal, obj_globals, skel_types};

fn kernel_ok() -> bool {
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("needs root");
        return false;
    }
    true
}

#[test]
fn every_fixture_has_a_skeleton() {
    let failed: Vec<_> = skels::GENERATED
        .iter()
        .filter(|(_, e)| !e.is_empty())
        .collect();
    assert!(failed.is_empty(), "generator refused: {failed:?}");
    assert!(skels::GENERATED.len() >= 20, "{:?}", skels::GENERATED);
    for (name, _) in skels::GENERATED {
        assert!(
            oxbpf_tests::fixture_names().contains(name)
                || oxbpf_tests::header_fixture_names().contains(name),
            "{name}"
        );
    }
}

#[test]
fn generated_layouts_match_c() {
    use skel_types::types::*;
    use std::mem::{offset_of, size_of};
    // struct skel_value, as clang lays it out for BPF.
    assert_eq!(size_of::<skel_value>(), 72);
    assert_eq!(offset_of!(skel_value, b), 8);
    assert_eq!(offset_of!(skel_value, inner), 16);
    assert_eq!(offset_of!(skel_inner, arr), 4);
    assert_eq!(offset_of!(skel_value, u), 32);
    assert_eq!(offset_of!(skel_value, tail), 42);
    assert_eq!(offset_of!(skel_value, anon), 44);
    assert_eq!(offset_of!(skel_value, kind), 64);
    assert_eq!(size_of::<skel_key>(), 8);
    assert_eq!(skel_kind::SKEL_NEG.0, -3);
    assert_eq!(format!("{:?}", skel_kind::SKEL_B), "SKEL_B");
    assert_eq!(format!("{:?}", skel_kind(42)), "skel_kind(42)");
    // Types only a subprogram's parameters or a pointer reach are generated too; a typedef names
    // an anonymous struct; a tag and a typedef of the same name get distinct Rust names.
    assert_eq!(size_of::<skel_event_t>(), 16);
    assert_eq!(offset_of!(skel_event_t, ts), 8);
    assert_eq!(size_of::<skel_only_ptr>(), 8);
    let (tag, typedef) = if size_of::<skel_pair>() == 8 {
        (size_of::<skel_pair>(), size_of::<skel_pair_2>())
    } else {
        (size_of::<skel_pair_2>(), size_of::<skel_pair>())
    };
    assert_eq!((tag, typedef), (8, 4));
    // The .rodata struct keeps the config at offset 0 and the section's size.
    assert_eq!(size_of::<rodata>(), 16);
    assert_eq!(offset_of!(skel_config, mul), 8);
}

#[test]
fn rodata_before_load_bss_after_run() {
    if !kernel_ok() {
        return;
    }
    let _serial = oxbpf_tests::serial();
    let before = oxbpf_tests::open_fds();
    {
        let mut open = minimal::OpenMinimalSkel::open().unwrap();
        assert_eq!(open.rodata().target_pid, 0);
        open.rodata_mut().target_pid = std::process::id() as i32;
        let mut skel = open.load().unwrap();
        assert_eq!(skel.rodata().target_pid, std::process::id() as i32);
        assert_eq!(skel.bss().hits, 0);
        skel.attach().unwrap();
        assert!(skel.links().handle_write.is_some());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        for _ in 0..10 {
            std::io::Write::write_all(&mut f, b"x").unwrap();
        }
        let hits = skel.bss().hits;
        assert!(hits >= 10, "hits {hits}");
        // Written through the mapping, seen by the program.
        skel.bss_mut().hits = 1000;
        std::io::Write::write_all(&mut f, b"x").unwrap();
        assert!(skel.bss().hits >= 1001);
        skel.detach();
        assert!(skel.links().handle_write.is_none());
        let h = skel.bss().hits;
        std::io::Write::write_all(&mut f, b"x").unwrap();
        assert_eq!(skel.bss().hits, h, "detached program still runs");
        // Named accessors reach the real kernel objects.
        assert!(skel.progs().handle_write.handle().is_some());
        assert_eq!(skel.maps().bss.name(), "minimal.bss");
    }
    assert_eq!(oxbpf_tests::open_fds(), before, "fd leak");
}

#[test]
fn every_data_section_round_trips() {
    if !kernel_ok() {
        return;
    }
    let _serial = oxbpf_tests::serial();
    let mut open = obj_globals::OpenObjGlobalsSkel::open().unwrap();
    assert_eq!(open.data().data_int, 1);
    assert_eq!(open.data().data_arr, [1, 2, 3, 4]);
    assert_eq!(&open.rodata().ro_name[..8], b"globals\0");
    assert_eq!(open.data_custom().custom_data, 11);
    assert_eq!(open.rodata_custom().custom_ro, 12);
    open.data_mut().data_int = 100;
    open.data_mut().data_arr = [0; 4];
    open.rodata_mut().ro_cfg = 7;
    open.rodata_mut().ro_name[0] = b'x';
    let mut skel = open.load().unwrap();
    assert_eq!(skel.rodata().ro_cfg, 7);
    assert_eq!(skel.data().data_int, 100);
    skel.attach().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    std::io::Write::write_all(&mut f, b"x").unwrap();
    skel.detach();
    // Every write in the system adds data_int + data_arr[i] + ro_cfg + ro_name[0] = 100 + 0 + 7 + 'x'.
    let per = 100 + 7 + u64::from(b'x');
    let counter = skel.bss().bss_counter;
    assert!(
        counter >= per && counter.is_multiple_of(per),
        "bss_counter {counter}"
    );
    assert!(skel.bss_custom().custom_bss >= 1);
    assert_eq!(
        skel.bss()
            .bss_arr
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>(),
        (11 + 12 + 9) * skel.bss_custom().custom_bss + {
            // hidden_static starts at 5 and grows by one per run: the sum of 5..5+n.
            let n = skel.bss_custom().custom_bss;
            n * 5 + n * (n - 1) / 2
        }
    );
}

#[test]
fn map_values_read_as_generated_structs() {
    if !kernel_ok() {
        return;
    }
    let _serial = oxbpf_tests::serial();
    use skel_types::types::*;
    let mut open = skel_types::OpenSkelTypesSkel::open().unwrap();
    open.rodata_mut().cfg.target_pid = std::process::id();
    open.rodata_mut().cfg.mul = 1;
    open.maps_mut().values.max_entries = 8;
    let mut skel = open.load().unwrap();
    assert_eq!(skel.maps().values.spec().max_entries, 8);
    skel.attach().unwrap();
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    skel.detach();
    assert_eq!(skel.bss().calls, 1);
    let key = values_key {
        pid: std::process::id(),
        kind: skel_kind::SKEL_B,
    };
    let v: values_value = skel
        .maps()
        .values
        .handle()
        .unwrap()
        .lookup_pod(&key, MapFlags::ANY)
        .unwrap()
        .expect("the program stored a value under our key");
    assert_eq!(v.a, 0x11);
    assert_eq!(v.b, 0x2222222233333333);
    assert_eq!(v.inner.c, 0x4444);
    assert_eq!(v.inner.arr, [5, 6, 7]);
    // SAFETY: the program wrote the u32 member.
    assert_eq!(unsafe { v.u.x }, 0x88888888);
    // lo:4 = 9, hi:12 = 0xabc, through the accessors and as the raw bytes holding them.
    assert_eq!((v.lo(), v.hi()), (9, 0xabc));
    assert_eq!(u16::from_le_bytes(v.__bitfield_40), 9 | (0xabc << 4));
    assert_eq!(v.tail, 0x5d);
    assert_eq!(v.anon.s, -2);
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let comm = comm.trim_end();
    assert_eq!(&v.anon.comm[..comm.len()], comm.as_bytes());
    assert_eq!(v.kind, skel_kind::SKEL_B);
    // The .bss copy is the same value, read through the mmapped section.
    let last = skel.bss().last;
    assert_eq!(last.b, v.b);
    assert_eq!(last.kind, v.kind);
}

#[test]
fn bitfields_read_and_written_through_accessors() {
    if !kernel_ok() {
        return;
    }
    let _serial = oxbpf_tests::serial();
    use skel_types::types::*;
    let mut open = skel_types::OpenSkelTypesSkel::open().unwrap();
    open.rodata_mut().cfg.target_pid = std::process::id();
    let mut skel = open.load().unwrap();
    skel.attach().unwrap();
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() };
    skel.detach();
    let b: skel_bits = skel
        .maps()
        .bits
        .handle()
        .unwrap()
        .lookup_pod(&0u32, MapFlags::ANY)
        .unwrap()
        .expect("array maps have every key");
    // What the BPF program stored, read back through the generated getters.
    assert_eq!(b.lo(), 9u32);
    assert_eq!(b.hi(), 0xabc);
    assert_eq!(b.neg(), -7i32);
    assert_eq!(b.pos(), 63);
    assert_eq!(b.kind(), skel_kind::SKEL_NEG);
    assert!(b.flag());
    assert_eq!(b.wide(), 0xab_cdef_0123u64);
    assert_eq!(b.tail, 0x5d);
    let pk = b.pk;
    assert_eq!(pk.a(), 5u8);
    assert_eq!(pk.b(), 0x2aaa_bbbb_cccc_dddd);
    assert_eq!(pk.c(), -0x123_4567_89ab_cdefi64);
    // The setters lay the same values out byte for byte as clang did.
    let mut w = skel_bits::default();
    w.set_lo(9);
    w.set_hi(0xabc);
    w.set_neg(-7);
    w.set_pos(63);
    w.set_kind(skel_kind::SKEL_NEG);
    w.set_flag(true);
    w.set_wide(0xab_cdef_0123);
    w.tail = 0x5d;
    let mut pk = skel_packed_bits::default();
    pk.set_a(5);
    pk.set_b(0x2aaa_bbbb_cccc_dddd);
    pk.set_c(-0x123_4567_89ab_cdef);
    w.pk = pk;
    assert_eq!(
        oxbpf::skel::bytemuck::bytes_of(&w),
        oxbpf::skel::bytemuck::bytes_of(&b)
    );
    // A setter touches only its own bits, and truncates to the field's width.
    w.set_hi(0x1fff);
    assert_eq!((w.lo(), w.hi(), w.neg()), (9, 0xfff, -7));
}
