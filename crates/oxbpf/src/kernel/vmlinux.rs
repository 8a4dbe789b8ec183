//! Where the running kernel's BTF lives: `/sys/kernel/btf/vmlinux`, else the locations libbpf
//! searches for a vmlinux image with BTF.

use std::path::PathBuf;

/// The path of the kernel's BTF: `/sys/kernel/btf/vmlinux` when present, else the first existing
/// file among libbpf's fallbacks (`/boot/vmlinux-$(uname -r)`, `/lib/modules/$(uname -r)/vmlinux-…`,
/// `/usr/lib/modules/$(uname -r)/kernel/vmlinux`, `/usr/lib/debug/boot/vmlinux-…`, ...).
pub fn vmlinux_btf_path() -> Option<PathBuf> {
    let release = super::version::kernel_release();
    let candidates = [
        "/sys/kernel/btf/vmlinux".to_string(),
        format!("/boot/vmlinux-{release}"),
        format!("/lib/modules/{release}/vmlinux-{release}"),
        format!("/lib/modules/{release}/build/vmlinux"),
        format!("/usr/lib/modules/{release}/kernel/vmlinux"),
        format!("/usr/lib/debug/boot/vmlinux-{release}"),
        format!("/usr/lib/debug/boot/vmlinux-{release}.debug"),
        format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
    ];
    candidates
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The directory holding kernel module BTFs (`/sys/kernel/btf`).
pub fn module_btf_dir() -> PathBuf {
    PathBuf::from("/sys/kernel/btf")
}
