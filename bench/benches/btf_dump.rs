//! `oxbpf btf dump file BTF format c|raw` against `bpftool btf dump file BTF format c|raw` (issue 4's
//! goal: at most 0.5x bpftool's wall time and no more peak memory), then vmlinux parse + index in
//! process, oxbpf against libbpf's `btf__new`.
//!
//! Both tools read the same regular-file copy of the BTF (page cache, not sysfs); runs alternate tool
//! by tool so a busy machine slows both alike; each child's CPU time and peak RSS come from its own
//! `wait4` rusage (what `/usr/bin/time` reports). Figures are medians.
//!
//! `cargo bench -p oxbpf-bench --bench btf_dump` (builds the release `oxbpf` binary first).
//! Environment: `OXBPF_BENCH_ROUNDS` (default 11), `OXBPF_BENCH_BTF` (default
//! `/sys/kernel/btf/vmlinux`), `OXBPF_BIN` (an `oxbpf` binary to use instead of building one).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use oxbpf_bench::{median, run_measured, Usage};

/// The release `oxbpf` binary: `OXBPF_BIN`, else built now with the cargo that runs this bench.
fn oxbpf_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("OXBPF_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let st = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "oxbpf-cli",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .status()
        .expect("run cargo build");
    assert!(st.success(), "cargo build -p oxbpf-cli failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("release/oxbpf")
}

struct Runs {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
}

impl Runs {
    fn new() -> Runs {
        Runs {
            wall: Vec::new(),
            cpu: Vec::new(),
            rss: Vec::new(),
        }
    }
    fn add(&mut self, u: Usage) {
        self.wall.push(u.wall);
        self.cpu.push(u.cpu);
        self.rss.push(u.maxrss_kib as f64);
    }
    /// Medians: wall s, CPU s, peak RSS KiB.
    fn medians(&mut self) -> (f64, f64, f64) {
        (
            median(&mut self.wall),
            median(&mut self.cpu),
            median(&mut self.rss),
        )
    }
}

fn dump(oxbpf: &Path, input: &Path, format: &str, rounds: usize) -> (f64, f64) {
    let mut ours = Runs::new();
    let mut theirs = Runs::new();
    for _ in 0..rounds {
        let mut b = Command::new("bpftool");
        b.args(["btf", "dump", "file"])
            .arg(input)
            .args(["format", format]);
        theirs.add(run_measured(&mut b).expect("bpftool btf dump"));
        let mut o = Command::new(oxbpf);
        o.args(["btf", "dump", "file"])
            .arg(input)
            .args(["format", format]);
        ours.add(run_measured(&mut o).expect("oxbpf btf dump"));
    }
    let (bw, bc, br) = theirs.medians();
    let (ow, oc, or) = ours.medians();
    println!(
        "btf dump format {format:<3} {:>10} {:>10} {:>13}   (medians of {rounds} alternating runs)",
        "wall", "cpu", "peak RSS"
    );
    println!("  bpftool            {bw:>9.3}s {bc:>9.3}s {br:>9.0} KiB");
    println!("  oxbpf              {ow:>9.3}s {oc:>9.3}s {or:>9.0} KiB");
    let cpu_ratio = if bc > 0.0 {
        format!("{:.2}x", oc / bc)
    } else {
        "n/a".to_string()
    };
    println!(
        "  ratio oxbpf/bpftool: wall {:.2}x, cpu {cpu_ratio}, peak RSS {:.2}x",
        ow / bw,
        or / br
    );
    (ow / bw, or / br)
}

/// Median milliseconds of `f` over `rounds` runs.
fn time_ms(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut v)
}

fn parse_and_index(bytes: &[u8], rounds: usize) {
    let btf = oxbpf::btf::Btf::parse(bytes).expect("BTF parses");
    let types = btf.len();
    drop(btf);
    let parse = time_ms(rounds, || {
        std::hint::black_box(oxbpf::btf::Btf::parse(bytes).unwrap());
    });
    let index = time_ms(rounds, || {
        let btf = oxbpf::btf::Btf::parse(bytes).unwrap();
        btf.build_index();
        std::hint::black_box(btf.find_by_name("task_struct"));
    });
    let libbpf = time_ms(rounds, || {
        // SAFETY: `bytes` outlives the call; btf__new copies them; the result is freed at once
        // (btf__free accepts NULL and error pointers are checked first).
        unsafe {
            let b = libbpf_sys::btf__new(bytes.as_ptr().cast(), bytes.len() as u32);
            assert!(
                libbpf_sys::libbpf_get_error(b.cast()) == 0,
                "libbpf btf__new"
            );
            libbpf_sys::btf__free(b);
        }
    });
    println!(
        "in-process, {} bytes, {types} types (medians of {rounds}):",
        bytes.len()
    );
    println!("  oxbpf Btf::parse                 {parse:>8.2} ms");
    println!("  oxbpf parse + name index + find  {index:>8.2} ms");
    println!(
        "  libbpf btf__new                  {libbpf:>8.2} ms   (oxbpf parse/libbpf {:.2}x)",
        parse / libbpf
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("OXBPF_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11);
    let src = std::env::var_os("OXBPF_BENCH_BTF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys/kernel/btf/vmlinux"));
    // Both tools read one regular file in the page cache.
    let input = std::env::temp_dir().join(format!("oxbpf-bench-btf-{}", std::process::id()));
    if std::fs::copy(&src, &input).is_err() {
        println!("SKIP: cannot read {}", src.display());
        return;
    }
    let size = std::fs::metadata(&input).map_or(0, |m| m.len());
    let have_bpftool = Command::new("bpftool")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_bpftool {
        let oxbpf = oxbpf_bin();
        println!("input: {} ({size} bytes)", src.display());
        let (wall, rss) = dump(&oxbpf, &input, "c", rounds);
        println!(
            "  goal (issue 4): wall <= 0.50x {}, peak RSS <= 1.00x {}",
            if wall <= 0.5 { "met" } else { "MISSED" },
            if rss <= 1.0 { "met" } else { "MISSED" }
        );
        dump(&oxbpf, &input, "raw", rounds);
    } else {
        println!("SKIP: bpftool not found (apt-get install bpftool): no dump comparison");
    }
    let bytes = std::fs::read(&input).expect("read the BTF copy");
    let _ = std::fs::remove_file(&input);
    parse_and_index(&bytes, rounds);
}
