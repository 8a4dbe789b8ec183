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

use crate::btf::Btf;
use crate::error::{Error, Result};
use std::sync::{Arc, OnceLock};

/// Parses BTF from a file: raw BTF (`/sys/kernel/btf/vmlinux`) or an ELF image with a `.BTF` section.
pub fn parse_btf_file(path: &std::path::Path) -> Result<Btf> {
    let data = std::fs::read(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    if data.starts_with(b"\x7fELF") {
        use object::read::elf::{FileHeader, SectionHeader};
        let bad = |e: object::read::Error| Error::malformed(format!("{}: {e}", path.display()));
        let hdr =
            object::elf::FileHeader64::<object::Endianness>::parse(data.as_slice()).map_err(bad)?;
        let endian = hdr.endian().map_err(bad)?;
        let sections = hdr.sections(endian, data.as_slice()).map_err(bad)?;
        let (_, sec) = sections
            .section_by_name(endian, b".BTF")
            .ok_or_else(|| Error::not_found(format!("{}: no .BTF section", path.display())))?;
        let bytes = sec.data(endian, data.as_slice()).map_err(bad)?;
        return Btf::parse(bytes).map_err(|e| e.context(path.display()));
    }
    Btf::parse(&data).map_err(|e| e.context(path.display()))
}

/// The running kernel's BTF, parsed once per process and shared.
pub fn vmlinux_btf() -> Result<Arc<Btf>> {
    static BTF: OnceLock<std::result::Result<Arc<Btf>, String>> = OnceLock::new();
    BTF.get_or_init(|| {
        let path = vmlinux_btf_path().ok_or("failed to find valid kernel BTF")?;
        parse_btf_file(&path)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::not_found)
}
