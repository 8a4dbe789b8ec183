//! The guest's initramfs: Debian's static busybox, our `/init`, the modules it loads and the kernel's
//! config (Debian kernels have no /proc/config.gz; the guest gets it at /boot/config-$(uname -r) so
//! `__kconfig` externs resolve). Built fresh for every run: it takes milliseconds and can never be
//! stale against the init script.

use super::cpio::Cpio;
use super::modules::Module;

/// The guest's PID 1: mounts the host's `/` read-only over 9p with a tmpfs overlay, chroots into it
/// and runs the command file named on the kernel command line.
const INIT: &str = include_str!("init.sh");

/// Where the modules and their load order live inside the initramfs.
const MODULE_DIR: &str = "lib/vmtest-modules";

/// Builds the archive (uncompressed: the kernel unpacks it faster than it would gunzip it under TCG).
pub fn build(busybox: &[u8], modules: &[Module], config: &[u8]) -> Vec<u8> {
    let mut c = Cpio::default();
    for d in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "mnt",
    ] {
        c.dir(d, 0o755);
    }
    c.dir("tmp", 0o1777);
    c.dir("lib", 0o755);
    c.dir(MODULE_DIR, 0o755);
    c.char_dev("dev/console", 0o600, 5, 1);
    c.file("bin/busybox", 0o755, busybox);
    c.symlink("bin/sh", "busybox");
    c.file("init", 0o755, INIT.as_bytes());
    let mut order = String::new();
    for m in modules {
        c.file(&format!("{MODULE_DIR}/{}.ko", m.name), 0o644, &m.data);
        order.push_str(&m.name);
        order.push('\n');
    }
    c.file(&format!("{MODULE_DIR}/order"), 0o644, order.as_bytes());
    c.file("lib/vmtest-config", 0o644, config);
    c.finish()
}
