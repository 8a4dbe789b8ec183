//! Shared helpers of the attach tests: fixtures loaded by oxbpf's loader so that oxbpf's attachers
//! are exercised on real programs; counters read back through oxbpf's map handles; the
//! `attach_target` test process; network namespaces with a veth pair.

#![allow(dead_code)]

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use oxbpf::map::{MapFlags, MapHandle};

/// A fixture object loaded into the kernel by oxbpf's loader; programs and maps are handed out as
/// duplicated fds / handles so that oxbpf's attachers can be exercised on them.
pub struct Loaded {
    obj: oxbpf::object::Object,
}

/// The first `u64` of `obj`'s `.bss` (a counter its programs bump).
pub fn first_bss_u64(obj: &oxbpf::object::Object) -> u64 {
    let bss = obj
        .maps()
        .iter()
        .find(|m| m.name().ends_with(".bss"))
        .expect("a .bss map");
    let v = bss
        .handle()
        .unwrap()
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .unwrap()
        .expect(".bss holds its value");
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

/// True when this kernel can create kprobes at all (the PMU or tracefs `kprobe_events`).
pub fn have_kprobes() -> bool {
    [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

/// Whether this kernel knows struct_ops links (6.4): its BTF has the link-creating function. True
/// when the kernel's BTF cannot be read (the test then fails on its own terms).
pub fn struct_ops_links() -> bool {
    oxbpf::kernel::vmlinux::vmlinux_btf()
        .map(|btf| {
            btf.find_by_name_kind("bpf_struct_ops_link_create", oxbpf::btf::Kind::Func)
                .is_some()
        })
        .unwrap_or(true)
}

/// Opens fixture `name` with only the programs in `progs` (all when empty) set to autoload.
pub fn open_only(name: &str, progs: &[&str]) -> oxbpf::Result<oxbpf::object::OpenObject> {
    let mut open = oxbpf::object::Object::open_file(oxbpf_tests::fixture(name))?;
    if !progs.is_empty() {
        let names: Vec<String> = open
            .spec()
            .entry_programs()
            .map(|p| p.name.clone())
            .collect();
        for n in names {
            open.set_autoload(&n, progs.contains(&n.as_str()))?;
        }
    }
    Ok(open)
}

impl Loaded {
    /// Loads fixture `name` with only the programs in `progs` (all when empty) set to autoload.
    pub fn load(name: &str, progs: &[&str]) -> Result<Loaded, String> {
        let open = open_only(name, progs).map_err(|e| format!("open {name}: {e}"))?;
        let obj = open.load().map_err(|e| format!("load {name}: {e}"))?;
        Ok(Loaded { obj })
    }

    /// The oxbpf object.
    pub fn object(&self) -> &oxbpf::object::Object {
        &self.obj
    }

    /// The fd of program `name`.
    pub fn prog(&self, name: &str) -> OwnedFd {
        let p = self
            .obj
            .program(name)
            .unwrap_or_else(|| panic!("no program {name}"));
        p.handle()
            .unwrap_or_else(|| panic!("program {name} not loaded"))
            .as_fd()
            .try_clone_to_owned()
            .unwrap()
    }

    /// Map `name` as an oxbpf handle (`.bss` and friends by their section name suffix too).
    pub fn map(&self, name: &str) -> MapHandle {
        let m = self
            .obj
            .maps()
            .iter()
            .find(|m| m.name() == name || (name.starts_with('.') && m.name().ends_with(name)))
            .unwrap_or_else(|| panic!("no map {name}"));
        m.handle().unwrap().try_clone().unwrap()
    }

    /// Writes the kernel value oxbpf's loader prepared for struct_ops map `name` (program fds in
    /// place of function pointers), so that it can be registered with a link or swapped in.
    pub fn prime_struct_ops(&mut self, name: &str) {
        let m = self
            .obj
            .map(name)
            .unwrap_or_else(|| panic!("no map {name}"));
        let value = m.struct_ops_value().expect("a struct_ops map").to_vec();
        m.handle()
            .unwrap()
            .update(&0u32.to_ne_bytes(), &value, MapFlags::ANY)
            .unwrap();
    }

    /// Sets u32 slot `key` of array map `name`.
    pub fn set_u32(&self, name: &str, key: u32, value: u32) {
        self.map(name)
            .update(&key.to_ne_bytes(), &value.to_ne_bytes(), MapFlags::ANY)
            .unwrap();
    }
}

/// Reads u64 slot `key` of array map `map`.
pub fn read_u64(map: &MapHandle, key: u32) -> u64 {
    let v = map
        .lookup(&key.to_ne_bytes(), MapFlags::ANY)
        .unwrap()
        .unwrap();
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

/// A handle of loaded object `obj`'s map `name`, kept apart from the object.
pub fn map_handle(obj: &oxbpf::object::Object, name: &str) -> MapHandle {
    obj.map(name)
        .unwrap_or_else(|| panic!("no map {name}"))
        .handle()
        .unwrap()
        .try_clone()
        .unwrap()
}

/// Zeroes u64 slot `key` of array map `map`.
pub fn reset_u64(map: &MapHandle, key: u32) {
    map.update(&key.to_ne_bytes(), &0u64.to_ne_bytes(), MapFlags::ANY)
        .unwrap();
}

/// Runs a fresh `attach_target` for `rounds` rounds with its pid in array map `target_pid`, and
/// returns how much each u64 slot of map `counts` named in `slots` grew; each slot is paired with
/// the program that bumps it. The slots in `reset_too` are zeroed before each run as well.
///
/// Kernel 7.2 runs syscall-tracepoint programs preemptibly. A task preempted inside a program still
/// holds a per-CPU recursion guard (the program's own for raw_tp and tp_btf, the one all tracepoint
/// and kprobe programs share for tp), so the kernel skips the program for other tasks on that CPU
/// until it resumes, and counts a recursion miss. On a one-CPU VM this can swallow a whole run. A
/// slot that falls short while its program's recursion misses grew is therefore run again, up to
/// four more times (misses of other tasks qualify too: they cannot be told apart). Any other
/// shortfall, or one that lasts, is returned for the caller's assertion to report.
pub fn count_target_rounds(
    obj: &oxbpf::object::Object,
    rounds: u32,
    slots: &[(u32, &str)],
    reset_too: &[u32],
) -> Vec<u64> {
    let (counts, pids) = (map_handle(obj, "counts"), map_handle(obj, "target_pid"));
    let misses = |prog: &str| {
        let p = obj
            .program(prog)
            .unwrap_or_else(|| panic!("no program {prog}"));
        p.info().unwrap().recursion_misses
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before: Vec<u64> = slots.iter().map(|&(_, p)| misses(p)).collect();
        for slot in slots
            .iter()
            .map(|&(s, _)| s)
            .chain(reset_too.iter().copied())
        {
            reset_u64(&counts, slot);
        }
        let t = Target::spawn(rounds);
        pids.update(&0u32.to_ne_bytes(), &t.pid().to_ne_bytes(), MapFlags::ANY)
            .unwrap();
        t.run();
        let got: Vec<u64> = slots
            .iter()
            .map(|&(slot, _)| read_u64(&counts, slot))
            .collect();
        let skipped: Vec<&str> = slots
            .iter()
            .zip(&got)
            .zip(&before)
            .filter(|((&(_, p), &n), &m)| n < u64::from(rounds) && misses(p) > m)
            .map(|((&(_, p), _), _)| p)
            .collect();
        if skipped.is_empty() || attempt == 5 {
            return got;
        }
        eprintln!(
            "note: attempt {attempt}: the kernel skipped {skipped:?} (recursion misses: a \
             preempted run held the guard); running the target again"
        );
    }
}

/// The path of the `attach_target` test binary (testbin/attach_target.c).
pub fn target_binary() -> PathBuf {
    PathBuf::from(env!("OXBPF_TESTBIN_DIR")).join("attach_target")
}

/// A started but waiting `attach_target`: it runs its `rounds` once [`Target::run`] is called.
pub struct Target {
    child: Child,
}

impl Target {
    /// Spawns the target; it blocks on stdin until [`Target::run`].
    pub fn spawn(rounds: u32) -> Target {
        let child = Command::new(target_binary())
            .arg(rounds.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn attach_target");
        Target::ready(child)
    }

    /// Waits (up to 5 s each) until the child's address space holds the target binary (attaching by
    /// pid reads /proc/PID/maps, which under load can still show the pre-exec image for a moment),
    /// then until it sits in its `read` of stdin: past the dynamic loader's start-up, so probes and
    /// semaphore updates meet a settled process even where emulation (QEMU TCG) is slow.
    fn ready(child: std::process::Child) -> Target {
        let want = target_binary();
        let maps = format!("/proc/{}/maps", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let text = std::fs::read_to_string(&maps).unwrap_or_default();
            if text
                .lines()
                .any(|l| l.ends_with(want.to_str().unwrap_or("attach_target")))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // /proc/PID/syscall: "<nr> <arg0> ..." while blocked in a system call.
        let want_call = format!("{} 0x0 ", libc::SYS_read);
        let syscall = format!("/proc/{}/syscall", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if std::fs::read_to_string(&syscall)
                .map(|s| s.starts_with(&want_call))
                .unwrap_or(true)
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Target { child }
    }

    /// The target's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the target run its rounds and waits for it to exit successfully.
    pub fn run(mut self) {
        self.child.stdin.take().unwrap().write_all(b"g").unwrap();
        let st = self.child.wait().unwrap();
        assert!(st.success(), "attach_target exited with {st}");
    }
}

/// Starts a kernel test: `None` (after printing the skip line) unless root; otherwise a guard that
/// runs the tests of one binary one at a time, so the process-wide fd counts of the leak checks and
/// the shared counters are not disturbed by a neighbour.
pub fn setup() -> Option<std::sync::MutexGuard<'static, ()>> {
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("not root: cannot load or attach BPF programs");
        return None;
    }
    Some(oxbpf_tests::serial())
}

impl Target {
    /// Spawns the target in UDP mode: once run, it sends `n` datagrams to 127.0.0.1:`port`.
    pub fn spawn_udp(n: u32, port: u16) -> Target {
        let child = Command::new(target_binary())
            .args([n.to_string(), "udp".into(), port.to_string()])
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn attach_target");
        Target::ready(child)
    }
}

/// Two network namespaces joined by a veth pair: `veth0` (10.77.0.1) in `a`, `veth1` (10.77.0.2)
/// in `b`. Deleted on drop.
pub struct VethPair {
    /// Namespace holding veth0.
    pub a: String,
    /// Namespace holding veth1.
    pub b: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl VethPair {
    /// Creates the namespaces and the pair.
    pub fn new(tag: &str) -> VethPair {
        let pid = std::process::id();
        let (a, b) = (
            format!("oxbpf_{tag}_a_{pid}"),
            format!("oxbpf_{tag}_b_{pid}"),
        );
        ip(&["netns", "add", &a]);
        ip(&["netns", "add", &b]);
        let pair = VethPair { a, b };
        ip(&[
            "-n", &pair.a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
            "netns", &pair.b,
        ]);
        ip(&["-n", &pair.a, "addr", "add", "10.77.0.1/24", "dev", "veth0"]);
        ip(&["-n", &pair.b, "addr", "add", "10.77.0.2/24", "dev", "veth1"]);
        for (ns, dev) in [(&pair.a, "veth0"), (&pair.b, "veth1")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        // The pair needs a moment after "up" (carrier, neighbour discovery) before it carries pings.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pair.ping(1) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "veth pair never answered a ping"
            );
        }
        pair
    }

    /// Runs `f` on a thread that has entered namespace `ns` (netlink, ifindex and attaches then refer
    /// to that namespace).
    pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                enter_netns(ns);
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// Sends `count` ICMP echo requests from namespace `a` to 10.77.0.2; returns the replies seen.
    pub fn ping(&self, count: u32) -> u32 {
        Self::in_ns(&self.a, || ping([10, 77, 0, 2], count))
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Moves the calling thread into network namespace `name` (from `ip netns add`).
pub fn enter_netns(name: &str) {
    let f = std::fs::File::open(format!("/var/run/netns/{name}")).expect("open netns");
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a valid namespace fd affects only the calling thread.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns {name}: {}", std::io::Error::last_os_error());
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A minimal ping over a raw ICMP socket: `count` echo requests to `dst`, each waiting up to 1s.
pub fn ping(dst: [u8; 4], count: u32) -> u32 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh socket we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: valid option pointer and size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    // SAFETY: sockaddr_in is plain integers; all zeroes is a valid (unspecified) address.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as u16;
    addr.sin_addr.s_addr = u32::from_ne_bytes(dst);
    let mut replies = 0;
    for seq in 0..count as u16 {
        let mut pkt = vec![8u8, 0, 0, 0, 0x0b, 0xbf, (seq >> 8) as u8, seq as u8];
        pkt.extend_from_slice(b"oxbpf-ping");
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
        // SAFETY: valid buffer and address.
        let n = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                &addr as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        };
        assert_eq!(
            n as usize,
            pkt.len(),
            "sendto: {}",
            std::io::Error::last_os_error()
        );
        let mut buf = [0u8; 1500];
        loop {
            // SAFETY: valid writable buffer.
            let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                break;
            }
            let ihl = usize::from(buf[0] & 0xf) * 4;
            let icmp = &buf[ihl..n as usize];
            if icmp.len() >= 8
                && icmp[0] == 0
                && icmp[4..6] == [0x0b, 0xbf]
                && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
            {
                replies += 1;
                break;
            }
        }
    }
    replies
}
