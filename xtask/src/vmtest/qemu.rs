//! QEMU and busybox, unpacked from Debian packages into the cache (never installed: installing
//! `qemu-system-x86` on this image would remove the preinstalled backports `qemu-utils`), and one
//! VM run: boot a prepared kernel under TCG, stream the command's output, enforce the timeout.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::apt::{unpack, Apt};
use super::kernel::Kernel;
use super::util::{describe, remove_tree, tail, write_atomic, Result};

/// The host tools the VMs need, from the cache.
pub struct Tools {
    qemu_root: PathBuf,
    /// The `qemu-system-x86_64` binary.
    pub qemu: PathBuf,
    /// The static busybox for the initramfs.
    pub busybox: PathBuf,
}

impl Tools {
    /// Unpacks QEMU (with the libraries this host lacks) and busybox-static into `cache/tools`, once.
    pub fn prepare(cache: &Path, apt: &Apt) -> Result<Tools> {
        let qemu_root = cache.join("tools/qemu");
        if !qemu_root.join("ready").exists() {
            eprintln!("vmtest: unpacking QEMU from Debian packages (first use)");
            remove_tree(&qemu_root)?;
            let packages = apt.missing_for_install("qemu-system-x86")?;
            if !packages.is_empty() {
                let scratch = cache.join("tmp/qemu-debs");
                remove_tree(&scratch)?;
                for deb in apt.download(&packages, &scratch)? {
                    unpack(&deb, &qemu_root.join("root"))?;
                }
                remove_tree(&scratch)?;
            }
            write_atomic(&qemu_root.join("ready"), packages.join("\n").as_bytes())?;
        }
        let bundled = qemu_root.join("root/usr/bin/qemu-system-x86_64");
        let qemu = if bundled.exists() {
            bundled
        } else {
            // Every package was already installed on the host.
            PathBuf::from("/usr/bin/qemu-system-x86_64")
        };

        let bb_root = cache.join("tools/busybox");
        let busybox = bb_root.join("root/bin/busybox");
        if !bb_root.join("ready").exists() {
            remove_tree(&bb_root)?;
            let scratch = cache.join("tmp/busybox-debs");
            remove_tree(&scratch)?;
            for deb in apt.download(&["busybox-static".to_string()], &scratch)? {
                unpack(&deb, &bb_root.join("root"))?;
            }
            remove_tree(&scratch)?;
            if !busybox.exists() {
                return Err(format!("busybox-static has no {}", busybox.display()));
            }
            write_atomic(&bb_root.join("ready"), b"")?;
        }
        Ok(Tools {
            qemu_root,
            qemu,
            busybox,
        })
    }

    fn qemu_command(&self) -> Command {
        let root = self.qemu_root.join("root");
        let mut cmd = Command::new(&self.qemu);
        let libs = [
            root.join("usr/lib/x86_64-linux-gnu"),
            root.join("lib/x86_64-linux-gnu"),
        ];
        let mut path = std::env::join_paths(libs.iter()).unwrap_or_default();
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            path.push(":");
            path.push(old);
        }
        cmd.env("LD_LIBRARY_PATH", path);
        cmd.env(
            "QEMU_MODULE_DIR",
            root.join("usr/lib/x86_64-linux-gnu/qemu"),
        );
        for fw in ["usr/share/qemu", "usr/share/seabios"] {
            if root.join(fw).exists() {
                cmd.arg("-L").arg(root.join(fw));
            }
        }
        cmd
    }
}

/// Knobs of one VM run.
pub struct VmConfig {
    /// Guest memory (`-m`).
    pub mem: String,
    /// `tcg` (here) or `kvm` (machines with real VT-x/AMD-V).
    pub accel: String,
    /// Wall-clock limit for the whole run, boot included.
    pub timeout: Duration,
    /// Extra kernel command line.
    pub append: String,
}

/// How a VM run ended.
#[derive(Debug, PartialEq)]
pub enum VmExit {
    /// The command ran; its exit status.
    Program(i32),
    /// The timeout struck; QEMU was killed.
    Timeout,
    /// The VM stopped before the command finished (boot failure, panic, setup failure).
    Failed(String),
}

/// What a VM run left behind.
pub struct VmOutcome {
    /// How it ended.
    pub exit: VmExit,
    /// `uname -r` in the guest, when it got that far.
    pub uname: Option<String>,
    /// Everything the command wrote to stderr.
    pub stderr: String,
    /// Wall time from QEMU start to exit.
    pub elapsed: Duration,
    /// Where the console log is.
    pub console_log: PathBuf,
}

/// Boots `kernel` with `initrd`, runs the command file `cmd_file` (a host path) inside, and hands
/// every line of the command's stdout to `on_line` as it arrives.
pub fn run(
    tools: &Tools,
    kernel: &Kernel,
    initrd: &Path,
    cmd_file: &Path,
    rundir: &Path,
    cfg: &VmConfig,
    on_line: &mut dyn FnMut(&str),
) -> Result<VmOutcome> {
    let console_log = rundir.join("console.log");
    let stderr_log = rundir.join("stderr.log");
    let qemu_log = rundir.join("qemu.log");
    for f in [&console_log, &stderr_log] {
        let _ = fs::remove_file(f);
    }
    // `no_timer_check`: under TCG on a loaded host the IO-APIC timer check can fail and panic the
    // boot (seen on 6.12). `lsm=...,bpf`: the BPF LSM is not in every Debian kernel's default list
    // (5.10), and the LSM tests need it; `--append lsm=...` overrides it (the last `lsm=` wins).
    let append = format!(
        "console=ttyS0 panic=-1 loglevel=5 no_timer_check lsm=lockdown,capability,yama,bpf \
         vmtest.cmd={} {}",
        cmd_file.display(),
        cfg.append
    );
    let mut cmd = tools.qemu_command();
    cmd.args(["-nodefaults", "-display", "none", "-no-reboot"])
        .args([
            "-accel", &cfg.accel, "-cpu", "max", "-smp", "1", "-m", &cfg.mem,
        ])
        .arg("-kernel")
        .arg(kernel.vmlinux())
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", append.trim()])
        .arg("-serial")
        .arg(format!("file:{}", console_log.display()))
        .args(["-serial", "stdio"])
        .arg("-serial")
        .arg(format!("file:{}", stderr_log.display()))
        .args([
            "-fsdev",
            "local,id=host,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device",
            "virtio-9p-pci,fsdev=host,mount_tag=host",
        ]);
    let qemu_err = File::create(&qemu_log)
        .map_err(|e| format!("cannot create {}: {e}", qemu_log.display()))?;
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(qemu_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", describe(&cmd)))?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if tx.send(line.to_string()).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let deadline = start + cfg.timeout;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for QEMU: {e}"))?;
    let _ = reader.join();
    let elapsed = start.elapsed();

    let console = fs::read_to_string(&console_log).unwrap_or_default();
    let marker = |key: &str| {
        console
            .lines()
            .find_map(|l| l.split_once(key).map(|x| x.1.trim().to_string()))
    };
    let uname = marker("VMTEST-UNAME:");
    let exit = if timed_out {
        VmExit::Timeout
    } else if let Some(why) = marker("VMTEST-FAIL:") {
        VmExit::Failed(format!("guest setup failed: {why}"))
    } else if let Some(code) = marker("VMTEST-EXIT:").and_then(|c| c.parse().ok()) {
        VmExit::Program(code)
    } else {
        let qemu_err = fs::read_to_string(&qemu_log).unwrap_or_default();
        VmExit::Failed(format!(
            "the VM stopped before the command finished (QEMU {status}); console tail:\n{}\n{}",
            tail(&console, 25),
            tail(&qemu_err, 10)
        ))
    };
    Ok(VmOutcome {
        exit,
        uname,
        stderr: fs::read_to_string(&stderr_log).unwrap_or_default(),
        elapsed,
        console_log,
    })
}
