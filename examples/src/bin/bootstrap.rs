//! bootstrap: every process exec and exit on the system, with exit codes and lifetimes, streamed
//! from a ring buffer for a few seconds. Optionally only processes that lived at least
//! `--min-duration` milliseconds (a .rodata setting the verifier sees as a constant).

use std::time::{Duration, Instant};

use clap::Parser;
use examples::skel::bootstrap::{types::event, OpenBootstrapSkel};
use oxbpf::ringbuf::RingBuffer;

/// Trace process exec and exit events through a BPF ring buffer.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run before printing the summary and exiting (0: until killed).
    #[arg(long, default_value_t = 3)]
    duration: u64,
    /// Only report exits of processes that lived at least this many milliseconds.
    #[arg(short = 'd', long, default_value_t = 0)]
    min_duration: u64,
}

fn text(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

fn main() {
    let args = Args::parse();
    let mut open = OpenBootstrapSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    open.rodata_mut().min_duration_ns = args.min_duration * 1_000_000;
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    skel.attach()
        .unwrap_or_else(|e| examples::die("attach", &e));

    let (mut execs, mut exits) = (0u64, 0u64);
    println!(
        "{:<8} {:<5} {:<16} {:>7} {:>7} FILENAME/EXIT CODE",
        "TIME", "EVENT", "COMM", "PID", "PPID"
    );
    {
        let mut builder = RingBuffer::builder();
        builder
            .add(
                skel.maps().rb.handle().expect("created"),
                |data: &[u8]| {
                    let Some(raw) = data.get(..std::mem::size_of::<event>()) else {
                        return;
                    };
                    let e: event = oxbpf::skel::bytemuck::pod_read_unaligned(raw);
                    if e.exit_event != 0 {
                        exits += 1;
                        let lived = if e.duration_ns != 0 {
                            format!(" ({}ms)", e.duration_ns / 1_000_000)
                        } else {
                            String::new()
                        };
                        println!(
                            "{:<8} {:<5} {:<16} {:>7} {:>7} [{}]{lived}",
                            clock(),
                            "EXIT",
                            text(&e.comm),
                            e.pid,
                            e.ppid,
                            e.exit_code
                        );
                    } else {
                        execs += 1;
                        println!(
                            "{:<8} {:<5} {:<16} {:>7} {:>7} {}",
                            clock(),
                            "EXEC",
                            text(&e.comm),
                            e.pid,
                            e.ppid,
                            text(&e.filename)
                        );
                    }
                },
            )
            .unwrap_or_else(|e| examples::die("ring buffer", &e));
        let mut rb = builder
            .build()
            .unwrap_or_else(|e| examples::die("ring buffer", &e));
        let end = (args.duration > 0).then(|| Instant::now() + Duration::from_secs(args.duration));
        loop {
            let left = end.map(|t| t.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                break;
            }
            let wait = left
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(100));
            // Signals interrupt the wait without an error.
            if let Err(e) = rb.poll(wait) {
                examples::die("polling the ring buffer", &e);
            }
        }
        // What arrived in the last moment.
        let _ = rb.consume();
    }
    println!(
        "{} events: {execs} exec, {exits} exit; processes tracked now: {}",
        execs + exits,
        skel.maps()
            .exec_start
            .handle()
            .expect("created")
            .keys()
            .count()
    );
}
