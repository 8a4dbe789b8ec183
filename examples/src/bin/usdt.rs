//! usdt: a USDT probe (`example:tick`) compiled into this very binary, traced by a BPF program
//! through oxbpf's USDT support (argument specs, spec map, uprobes). The probe is a `nop` plus a
//! `.note.stapsdt` ELF note, emitted with inline assembly exactly as `<sys/sdt.h>`'s macros do.

use clap::Parser;
use examples::skel::usdt::OpenUsdtSkel;
use oxbpf::attach::usdt::UsdtOpts;
use std::os::fd::AsFd;

/// Trace a USDT probe of this binary.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Times to fire the probe.
    #[arg(long, default_value_t = 5)]
    count: i32,
}

/// Fires `example:tick` with arguments `n` (int) and `v` (long).
#[inline(never)]
fn tick(n: i32, v: i64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the block is a single `nop` in the text; everything else goes into note sections.
    unsafe {
        std::arch::asm!(
            "990: nop",
            ".pushsection .note.stapsdt, \"?\", \"note\"",
            ".balign 4",
            ".4byte 992f-991f, 994f-993f, 3",
            "991: .asciz \"stapsdt\"",
            "992: .balign 4",
            "993: .8byte 990b",
            ".8byte _.stapsdt.base",
            ".8byte 0",
            ".asciz \"example\"",
            ".asciz \"tick\"",
            ".asciz \"-4@{0:e} 8@{1}\"",
            "994: .balign 4",
            ".popsection",
            ".ifndef _.stapsdt.base",
            ".pushsection .stapsdt.base, \"aG\", \"progbits\", .stapsdt.base, comdat",
            ".weak _.stapsdt.base",
            ".hidden _.stapsdt.base",
            "_.stapsdt.base: .space 1",
            ".size _.stapsdt.base, 1",
            ".popsection",
            ".endif",
            in(reg) n,
            in(reg) v,
            options(att_syntax, nostack, preserves_flags),
        );
    }
    std::hint::black_box((n, v));
}

fn main() {
    let args = Args::parse();
    let open = OpenUsdtSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let manager = skel
        .object()
        .usdt_manager()
        .unwrap_or_else(|e| examples::die("usdt", &e))
        .expect("the object uses USDT");
    let exe = std::env::current_exe().expect("current_exe");
    let prog = skel
        .object()
        .program("on_tick")
        .and_then(|p| p.handle())
        .expect("loaded");
    let opts = UsdtOpts {
        pid: Some(std::process::id() as i32),
        ..Default::default()
    };
    let link = manager
        .attach(
            prog.as_fd(),
            &exe.to_string_lossy(),
            "example",
            "tick",
            &opts,
        )
        .unwrap_or_else(|e| examples::die("attach usdt example:tick", &e));
    skel.skel_mut().keep_link("on_tick", link);
    for n in 1..=args.count {
        tick(n, 100 * i64::from(n));
    }
    let bss = skel.bss();
    println!(
        "USDT example:tick fired {} times; last n = {}, sum of v = {}",
        bss.ticks, bss.last_n, bss.sum_arg2
    );
}
