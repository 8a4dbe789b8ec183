//! The kernel modules the guest needs (9p, overlay, and the network pieces XDP/tc tests use), in
//! dependency order, resolved from each module's `depends=` modinfo. Debian's kernels build these as
//! modules; busybox `insmod` loads them one by one, so the order has to be worked out here (there is
//! no depmod/modprobe on the host or in the guest).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection};

use super::util::{read, run, walk_files, Result};

/// Modules to load, and whether the VM is useless without them. Modules the kernel has built in are
/// skipped.
pub const WANTED: &[(&str, bool)] = &[
    ("virtio_pci", true),
    ("9pnet_virtio", true),
    ("9p", true),
    ("overlay", true),
    ("veth", false),
    ("dummy", false),
    ("sch_ingress", false),
    ("cls_bpf", false),
    ("act_bpf", false),
];

/// What to unpack from a kernel's packages (tar wildcards matched against any trailing part of a
/// member's path): the kernel, its config, the builtin list and the module directories that hold
/// [`WANTED`] and their dependencies.
pub const UNPACK: &[&str] = &[
    "vmlinuz*",
    "config*",
    "modules.builtin",
    "kernel/fs/*",
    "kernel/net/*",
    "kernel/drivers/virtio/*",
    "kernel/drivers/net/veth.ko*",
    "kernel/drivers/net/dummy.ko*",
    "kernel/lib/*",
    "kernel/crypto/*",
];

/// One module, decompressed, ready for the initramfs.
pub struct Module {
    /// Name with `_` (as the kernel spells it).
    pub name: String,
    /// The uncompressed `.ko`.
    pub data: Vec<u8>,
}

/// Module names use `-` and `_` interchangeably; the kernel normalizes to `_`.
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a file `foo-bar.ko[.xz|.zst]`.
fn module_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|suffix| file.strip_suffix(suffix))?;
    Some(normalize(stem))
}

/// Reads a module file, decompressing `.ko.xz`/`.ko.zst` with the host tools.
fn load(path: &Path) -> Result<Vec<u8>> {
    let p = path.to_string_lossy();
    let tool = if p.ends_with(".xz") {
        "xz"
    } else if p.ends_with(".zst") {
        "zstd"
    } else if p.ends_with(".gz") {
        "gzip"
    } else {
        return read(path);
    };
    Ok(run(Command::new(tool).arg("-dcq").arg(path))?.stdout)
}

/// The `depends=` list from the `.modinfo` section of an uncompressed module.
fn depends(name: &str, ko: &[u8]) -> Result<Vec<String>> {
    let file =
        object::File::parse(ko).map_err(|e| format!("module {name}: not an ELF file: {e}"))?;
    let section = file
        .section_by_name(".modinfo")
        .ok_or_else(|| format!("module {name}: no .modinfo section"))?;
    let data = section
        .data()
        .map_err(|e| format!("module {name}: unreadable .modinfo: {e}"))?;
    Ok(data
        .split(|b| *b == 0)
        .filter_map(|entry| entry.strip_prefix(b"depends="))
        .flat_map(|list| list.split(|b| *b == b','))
        .filter(|d| !d.is_empty())
        .map(|d| normalize(&String::from_utf8_lossy(d)))
        .collect())
}

/// Resolves `wanted` against the module tree `moddir` (`.../lib/modules/<abi>`), returning every
/// module to load, dependencies first.
pub fn closure(moddir: &Path, wanted: &[(&str, bool)]) -> Result<Vec<Module>> {
    let index: BTreeMap<String, PathBuf> = walk_files(moddir)
        .into_iter()
        .filter_map(|p| Some((module_name(&p)?, p)))
        .collect();
    let builtin: BTreeSet<String> = std::fs::read_to_string(moddir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| module_name(Path::new(l)))
        .collect();

    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    for (name, required) in wanted {
        let name = normalize(name);
        if !index.contains_key(&name) {
            if builtin.contains(&name) {
                continue;
            }
            if *required {
                return Err(format!(
                    "module {name} is neither in {} nor built in",
                    moddir.display()
                ));
            }
            eprintln!("vmtest: module {name} not available in this kernel; skipping it");
            continue;
        }
        visit(
            &name,
            &index,
            &builtin,
            &mut done,
            &mut Vec::new(),
            &mut order,
        )?;
    }
    Ok(order)
}

fn visit(
    name: &str,
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    done: &mut BTreeSet<String>,
    stack: &mut Vec<String>,
    order: &mut Vec<Module>,
) -> Result<()> {
    if done.contains(name) {
        return Ok(());
    }
    if stack.iter().any(|s| s == name) {
        return Err(format!(
            "module dependency cycle: {} -> {name}",
            stack.join(" -> ")
        ));
    }
    let Some(path) = index.get(name) else {
        if builtin.contains(name) {
            return Ok(());
        }
        return Err(format!(
            "module {} needs {name}, which this kernel does not have",
            stack.last().map(String::as_str).unwrap_or("?")
        ));
    };
    let data = load(path)?;
    stack.push(name.to_string());
    for dep in depends(name, &data)? {
        visit(&dep, index, builtin, done, stack, order)?;
    }
    stack.pop();
    done.insert(name.to_string());
    order.push(Module {
        name: name.to_string(),
        data,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_normalized() {
        assert_eq!(
            module_name(Path::new("kernel/net/9p/9pnet_virtio.ko.xz")).as_deref(),
            Some("9pnet_virtio")
        );
        assert_eq!(
            module_name(Path::new("kernel/fs/fuse/virtio-fs.ko")).as_deref(),
            Some("virtio_fs")
        );
        assert_eq!(module_name(Path::new("modules.order")), None);
    }
}
