//! `perf_event_open(2)` and the perf ioctls attachers use, plus PMU discovery in sysfs.
//!
//! Tracepoints, kprobes, uprobes and software/hardware events are all perf events; a BPF program is
//! attached to one either with a `BPF_LINK_CREATE` link (kernel ≥ 5.15) or the older
//! `PERF_EVENT_IOC_SET_BPF` ioctl followed by `PERF_EVENT_IOC_ENABLE`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

/// `PERF_TYPE_HARDWARE`.
pub const PERF_TYPE_HARDWARE: u32 = 0;
/// `PERF_TYPE_SOFTWARE`.
pub const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_TYPE_TRACEPOINT`.
pub const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_TYPE_HW_CACHE`.
pub const PERF_TYPE_HW_CACHE: u32 = 3;
/// `PERF_TYPE_RAW`.
pub const PERF_TYPE_RAW: u32 = 4;
/// `PERF_TYPE_BREAKPOINT`.
pub const PERF_TYPE_BREAKPOINT: u32 = 5;

/// `PERF_COUNT_SW_CPU_CLOCK`.
pub const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_COUNT_SW_TASK_CLOCK`.
pub const PERF_COUNT_SW_TASK_CLOCK: u64 = 1;
/// `PERF_COUNT_SW_BPF_OUTPUT`.
pub const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;

/// `PERF_SAMPLE_RAW`.
pub const PERF_SAMPLE_RAW: u64 = 1 << 10;

/// `attr.flags` bit `disabled`.
pub const FLAG_DISABLED: u64 = 1 << 0;
/// `attr.flags` bit `inherit`.
pub const FLAG_INHERIT: u64 = 1 << 1;
/// `attr.flags` bit `freq` (sample_freq instead of sample_period).
pub const FLAG_FREQ: u64 = 1 << 10;
/// `attr.flags` bit `watermark`.
pub const FLAG_WATERMARK: u64 = 1 << 14;

/// The shift of the uprobe reference-counter (USDT semaphore) offset inside `attr.config`.
pub const UPROBE_REF_CTR_OFFSET_SHIFT: u32 = 32;

const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// `struct perf_event_attr` (through `sig_data`, `PERF_ATTR_SIZE_VER7`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PerfEventAttr {
    /// Event type (`PERF_TYPE_*` or a dynamic PMU type).
    pub type_: u32,
    /// Size of this struct; filled in by [`perf_event_open`].
    pub size: u32,
    /// Type-specific configuration (event id, retprobe bit, ...).
    pub config: u64,
    /// `sample_period` or, with [`FLAG_FREQ`], `sample_freq`.
    pub sample_period_or_freq: u64,
    /// `PERF_SAMPLE_*` bits.
    pub sample_type: u64,
    /// `PERF_FORMAT_*` bits.
    pub read_format: u64,
    /// The bit-field word: `disabled`, `inherit`, ..., `freq`, ...
    pub flags: u64,
    /// `wakeup_events` or `wakeup_watermark`.
    pub wakeup: u32,
    /// Breakpoint type.
    pub bp_type: u32,
    /// `config1`: `bp_addr`, `kprobe_func` or `uprobe_path` (a pointer).
    pub config1: u64,
    /// `config2`: `bp_len`, `probe_offset` or `probe_addr`.
    pub config2: u64,
    /// `branch_sample_type`.
    pub branch_sample_type: u64,
    /// `sample_regs_user`.
    pub sample_regs_user: u64,
    /// `sample_stack_user`.
    pub sample_stack_user: u32,
    /// `clockid`.
    pub clockid: i32,
    /// `sample_regs_intr`.
    pub sample_regs_intr: u64,
    /// `aux_watermark`.
    pub aux_watermark: u32,
    /// `sample_max_stack`.
    pub sample_max_stack: u16,
    /// Reserved.
    pub reserved_2: u16,
    /// `aux_sample_size`.
    pub aux_sample_size: u32,
    /// Reserved.
    pub reserved_3: u32,
    /// `sig_data`.
    pub sig_data: u64,
}

/// Opens a perf event for `pid` (-1: any) on `cpu` (-1: any), with `O_CLOEXEC`.
pub fn perf_event_open(
    attr: &PerfEventAttr,
    pid: i32,
    cpu: i32,
    group_fd: Option<BorrowedFd<'_>>,
) -> Result<OwnedFd> {
    let mut attr = *attr;
    attr.size = std::mem::size_of::<PerfEventAttr>() as u32;
    let group = group_fd.map_or(-1, |fd| fd.as_raw_fd());
    // SAFETY: `attr` is a valid, fully initialised perf_event_attr whose `size` field matches its size;
    // the kernel only reads it (any pointer in config1 is kept alive by the caller for the call).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid,
            cpu,
            group,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(Error::last_os_error("perf_event_open"));
    }
    // SAFETY: a non-negative return is a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

/// Opens a kprobe or uprobe through its dynamic PMU: `config1` points at `target` (function name or
/// binary path), `config2` holds `offset_or_addr`.
pub fn probe_event_open(
    pmu_type: u32,
    config: u64,
    target: &str,
    offset_or_addr: u64,
    pid: i32,
) -> Result<OwnedFd> {
    let target_c = CString::new(target)
        .map_err(|_| Error::invalid(format!("probe target '{target}' contains a NUL byte")))?;
    let attr = PerfEventAttr {
        type_: pmu_type,
        config,
        config1: target_c.as_ptr() as u64,
        config2: offset_or_addr,
        sample_period_or_freq: 1,
        wakeup: 1,
        ..Default::default()
    };
    let (pid, cpu) = if pid < 0 { (-1, 0) } else { (pid, -1) };
    // `target_c` outlives the call, so the pointer in config1 stays valid while the kernel reads it.
    let fd = perf_event_open(&attr, pid, cpu, None);
    drop(target_c);
    fd
}

fn ioctl(fd: BorrowedFd<'_>, request: libc::c_ulong, arg: libc::c_ulong, op: &str) -> Result<()> {
    // SAFETY: the perf ioctls used here take an integer argument (or none) and touch no user memory.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg) };
    if ret < 0 {
        return Err(Error::last_os_error(op));
    }
    Ok(())
}

/// `PERF_EVENT_IOC_SET_BPF`: runs program `prog` on every firing of `event` (legacy attach).
pub fn set_bpf(event: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    ioctl(
        event,
        PERF_EVENT_IOC_SET_BPF,
        prog.as_raw_fd() as libc::c_ulong,
        "PERF_EVENT_IOC_SET_BPF",
    )
}

/// `PERF_EVENT_IOC_ENABLE`.
pub fn enable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl(event, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE")
}

/// `PERF_EVENT_IOC_DISABLE`.
pub fn disable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl(event, PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE")
}

/// The directory of a dynamic PMU (`kprobe`, `uprobe`) in sysfs.
pub fn pmu_dir(pmu: &str) -> String {
    format!("/sys/bus/event_source/devices/{pmu}")
}

/// The type number of dynamic PMU `pmu`, from `/sys/bus/event_source/devices/<pmu>/type`.
pub fn pmu_type(pmu: &str) -> Result<u32> {
    let path = format!("{}/type", pmu_dir(pmu));
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(format!("read {path}"), e))?;
    text.trim()
        .parse()
        .map_err(|_| Error::malformed(format!("{path}: '{}' is not a number", text.trim())))
}

/// The bit of `attr.config` that makes a kprobe/uprobe PMU event a return probe (`format/retprobe`).
pub fn pmu_retprobe_bit(pmu: &str) -> Result<u32> {
    let path = format!("{}/format/retprobe", pmu_dir(pmu));
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(format!("read {path}"), e))?;
    text.trim()
        .strip_prefix("config:")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| {
            Error::malformed(format!(
                "{path}: expected 'config:<bit>', got '{}'",
                text.trim()
            ))
        })
}
