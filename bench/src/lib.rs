//! Shared pieces of oxbpf's side-by-side benchmarks: statistics and CPU pinning.

use std::time::Duration;

/// The median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// CPU time consumed by the calling thread so far.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; the clock id is a constant the kernel knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Pins the calling thread to `cpu`; false when the machine does not have it.
pub fn pin_to_cpu(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it; the syscall reads
    // `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// What one child process cost: wall time, CPU time (user + system) and peak resident set size.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Seconds from spawn to exit.
    pub wall: f64,
    /// User plus system CPU seconds of the child.
    pub cpu: f64,
    /// Peak resident set size of the child in KiB (`ru_maxrss`).
    pub maxrss_kib: u64,
}

/// Runs `cmd` to completion with its output discarded and reports its [`Usage`] from `wait4`'s
/// rusage (the child's own figures, not the sum over every child this process has had). A failing
/// command is an error naming its exit status.
pub fn run_measured(cmd: &mut std::process::Command) -> std::io::Result<Usage> {
    use std::process::Stdio;
    let t0 = std::time::Instant::now();
    let child = cmd.stdout(Stdio::null()).stdin(Stdio::null()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage for the kernel to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our unwaited child; `status` and `ru` are valid to write.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(std::io::Error::other(format!(
            "{cmd:?} failed (wait status {status:#x})"
        )));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        wall,
        cpu: secs(ru.ru_utime) + secs(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss as u64,
    })
}
