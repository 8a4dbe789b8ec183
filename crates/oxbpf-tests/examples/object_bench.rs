//! Bench (not a test): open and load of every fixture, oxbpf vs libbpf (through libbpf-rs) in one
//! run, printing medians and ratios. Run as root: `cargo run --release -p oxbpf-tests --example object_bench`.
//!
//! Loads go whole-object only; fixtures that libbpf cannot load whole are measured for open only.
//! `ITERS=n` sets the repetitions, `ONLY=a,b` keeps those fixtures, `OPEN_ONLY=1` skips loads (for
//! profiling open, e.g. under `valgrind --tool=callgrind`).

use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

/// Medians of `n` runs of `a` and of `b`, alternated so that both see the same machine (a burst
/// of load elsewhere, a cold cache) rather than one of them taking it all; `None` for a side that
/// failed.
fn time_pair(
    n: usize,
    mut a: impl FnMut() -> bool,
    mut b: impl FnMut() -> bool,
) -> (Option<Duration>, Option<Duration>) {
    let (mut va, mut vb) = (Some(Vec::with_capacity(n)), Some(Vec::with_capacity(n)));
    for _ in 0..n {
        for (f, v) in [
            (&mut a as &mut dyn FnMut() -> bool, &mut va),
            (&mut b, &mut vb),
        ] {
            if let Some(times) = v {
                let t = Instant::now();
                if f() {
                    times.push(t.elapsed());
                } else {
                    *v = None;
                }
            }
        }
    }
    (va.and_then(median), vb.and_then(median))
}

fn main() {
    oxbpf::log::set_print(None);
    let n: usize = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    println!(
        "{:<14} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}",
        "fixture", "open oxbpf", "open libbpf", "ratio", "load oxbpf", "load libbpf", "ratio"
    );
    let only = std::env::var("ONLY").ok();
    let open_only = std::env::var_os("OPEN_ONLY").is_some();
    let names: Vec<&str> = oxbpf_tests::fixture_names()
        .into_iter()
        .filter(|n| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|o| o == *n))
        })
        .collect();
    // Warm the per-process caches of both (vmlinux BTF, kconfig, kallsyms) before measuring.
    for &name in names.iter().filter(|_| !open_only) {
        let path = oxbpf_tests::fixture(name);
        let _ = oxbpf::Object::open_file(&path).and_then(|o| o.load());
    }
    for &name in &names {
        let path = oxbpf_tests::fixture(name);
        let (ox_open, lb_open) = time_pair(
            n,
            || oxbpf::Object::open_file(&path).is_ok(),
            || libbpf_rs::ObjectBuilder::default().open_file(&path).is_ok(),
        );
        let n_load = if open_only { 0 } else { n };
        let (ox_load, lb_load) = time_pair(
            n_load,
            || {
                oxbpf::Object::open_file(&path)
                    .and_then(|o| o.load())
                    .is_ok()
            },
            || {
                libbpf_rs::ObjectBuilder::default()
                    .open_file(&path)
                    .and_then(|o| o.load())
                    .is_ok()
            },
        );
        let us = |d: Option<Duration>| {
            d.map_or("-".to_string(), |d| {
                format!("{:.1}us", d.as_secs_f64() * 1e6)
            })
        };
        let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
            _ => "-".into(),
        };
        println!(
            "{:<14} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}",
            name,
            us(ox_open),
            us(lb_open),
            ratio(ox_open, lb_open),
            us(ox_load),
            us(lb_load),
            ratio(ox_load, lb_load)
        );
    }
}
