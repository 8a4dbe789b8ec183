//! profile: sample every CPU with a perf_event (cpu-clock) program, count (process, kernel stack,
//! user stack) in a hash map, then print the hottest stacks, kernel frames symbolized with
//! /proc/kallsyms.

use std::time::{Duration, Instant};

use clap::Parser;
use examples::skel::profile::{types::sample_key, OpenProfileSkel};
use oxbpf::attach::perf_event::{attach_perf_event, open_cpu_clock_event, PerfEventOpts};
use oxbpf::map::MapFlags;
use std::os::fd::AsFd;

/// Sample stacks on every CPU and print the hottest ones.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to sample (the example keeps one CPU busy meanwhile).
    #[arg(long, default_value_t = 2)]
    duration: u64,
    /// Samples per second per CPU.
    #[arg(long, default_value_t = 99)]
    freq: u64,
    /// Stacks to print.
    #[arg(long, default_value_t = 5)]
    top: usize,
}

/// Kernel symbols sorted by address, for address → `name+off`.
struct Ksyms(Vec<(u64, String)>);

impl Ksyms {
    fn load() -> Ksyms {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let mut v: Vec<(u64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let addr = u64::from_str_radix(it.next()?, 16).ok()?;
                let _ty = it.next()?;
                Some((addr, it.next()?.to_string()))
            })
            .filter(|(a, _)| *a != 0)
            .collect();
        v.sort();
        Ksyms(v)
    }
    fn name(&self, addr: u64) -> String {
        match self.0.partition_point(|(a, _)| *a <= addr) {
            0 => format!("{addr:#x}"),
            i => {
                let (a, n) = &self.0[i - 1];
                format!("{n}+{:#x}", addr - a)
            }
        }
    }
}

fn frames(stacks: &oxbpf::map::MapHandle, id: i32) -> Vec<u64> {
    if id < 0 {
        return Vec::new();
    }
    match stacks.lookup(&(id as u32).to_ne_bytes(), MapFlags::ANY) {
        Ok(Some(v)) => v
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            .take_while(|&a| a != 0)
            .collect(),
        _ => Vec::new(),
    }
}

fn main() {
    let args = Args::parse();
    let open = OpenProfileSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let cpus = oxbpf::map::possible_cpus().unwrap_or(1);
    let mut attached = 0;
    for cpu in 0..cpus as u32 {
        // Offline CPUs refuse the event; sample the others.
        let Ok(ev) = open_cpu_clock_event(cpu, args.freq) else {
            continue;
        };
        let fd = skel.progs().profile.handle().expect("loaded").as_fd();
        let link = attach_perf_event(fd, ev, &PerfEventOpts::default())
            .unwrap_or_else(|e| examples::die("attach perf_event", &e));
        skel.skel_mut().keep_link("profile", link);
        attached += 1;
    }
    println!(
        "sampling {attached} CPUs at {} Hz for {}s",
        args.freq, args.duration
    );
    let end = Instant::now() + Duration::from_secs(args.duration);
    let mut x = 0u64;
    while Instant::now() < end {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    skel.detach();

    let maps = skel.maps();
    let counts = maps.counts.handle().expect("created");
    let stacks = maps.stacks.handle().expect("created");
    let mut rows: Vec<(sample_key, u64)> = Vec::new();
    for key in counts.keys() {
        let Ok(key) = key else { break };
        let Some(raw) = key.get(..std::mem::size_of::<sample_key>()) else {
            continue;
        };
        let k: sample_key = oxbpf::skel::bytemuck::pod_read_unaligned(raw);
        if let Ok(Some(n)) = counts.lookup_pod::<sample_key, u64>(&k, MapFlags::ANY) {
            rows.push((k, n));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let total: u64 = rows.iter().map(|r| r.1).sum();
    println!(
        "samples: {} ({} distinct stacks)",
        skel.bss().samples,
        rows.len()
    );
    let ksyms = Ksyms::load();
    for (k, n) in rows.iter().take(args.top) {
        println!(
            "\n{n} samples ({:.1}%) {} [{}]",
            100.0 * *n as f64 / total.max(1) as f64,
            comm(&k.comm),
            k.pid
        );
        for a in frames(stacks, k.kstack) {
            println!("    {}", ksyms.name(a));
        }
        let user = frames(stacks, k.ustack);
        if !user.is_empty() {
            println!("    -- user: {} frames, {:#x} ...", user.len(), user[0]);
        }
    }
}

fn comm(c: &[u8; 16]) -> String {
    let n = c.iter().position(|&b| b == 0).unwrap_or(c.len());
    String::from_utf8_lossy(&c[..n]).into_owned()
}
