//! `oxbpf btf dump file PATH|id N [--base BASE] format c|raw`: print BTF as a C header or bpftool's
//! raw listing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use oxbpf::btf::Btf;
use oxbpf::{Error, Result, ResultExt};

/// `oxbpf btf ...`
#[derive(Subcommand)]
pub enum BtfCmd {
    /// Dump BTF from a file (raw BTF such as `/sys/kernel/btf/*`, or an ELF object's `.BTF` section)
    /// or from the kernel by BTF object id.
    Dump(DumpArgs),
}

/// Output formats of `btf dump`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Compilable C declarations (vmlinux.h).
    C,
    /// One line per type, as bpftool prints it.
    Raw,
}

/// Where `btf dump` reads from.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Source {
    /// A file: raw BTF or an ELF object.
    File,
    /// A kernel BTF object, by id (`bpftool btf list` shows them).
    Id,
}

/// Arguments of `btf dump`, in bpftool's word order: `file PATH format c`, `id N format raw`.
#[derive(Args)]
pub struct DumpArgs {
    /// The source kind: `file` or `id`.
    #[arg(value_enum)]
    source: Source,
    /// The BTF file or ELF object, or the BTF object id (decimal or 0x hex).
    path: PathBuf,
    /// The `format` keyword.
    #[arg(value_parser = ["format"], requires = "format")]
    format_kw: Option<String>,
    /// The output format (default: raw).
    #[arg(value_enum)]
    format: Option<Format>,
    /// Base BTF for split BTF (default for module BTF, by path or id: `/sys/kernel/btf/vmlinux`).
    #[arg(long = "base", short = 'B', alias = "base-btf")]
    base: Option<PathBuf>,
}

/// Parses the BTF in `path`: raw BTF (read header and types first, then the strings, to keep the
/// peak memory low on vmlinux) or the `.BTF` section of an ELF object.
fn parse_file(path: &Path, base: Option<Arc<Btf>>) -> Result<Btf> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e| Error::io(format!("read {}", path.display()), e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let total = f.metadata().map_err(io)?.len() as usize;
    let mut head = vec![0u8; 24.min(total)];
    f.read_exact(&mut head).map_err(io)?;
    if head.starts_with(b"\x7fELF") {
        let mut data = head;
        f.read_to_end(&mut data).map_err(io)?;
        let bytes = elf_btf_section(&data)?;
        drop(data);
        return match base {
            Some(b) => Btf::parse_split(&bytes, b),
            None => Btf::parse_owned(bytes, None),
        };
    }
    let head_len = Btf::head_len(&head)?.min(total);
    head.resize(head_len, 0);
    f.read_exact(&mut head[24..]).map_err(io)?;
    Btf::parse_in_parts(head, total, base, |range| {
        let mut strings = vec![0u8; range.len()];
        f.seek(SeekFrom::Start(range.start as u64)).map_err(io)?;
        f.read_exact(&mut strings).map_err(io)?;
        Ok(strings)
    })
}

/// The `.BTF` section of an ELF file.
fn elf_btf_section(data: &[u8]) -> Result<Vec<u8>> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(data).map_err(|e| Error::malformed(format!("ELF: {e}")))?;
    let sec = file
        .section_by_name(".BTF")
        .ok_or_else(|| Error::not_found("ELF has no .BTF section"))?;
    let bytes = sec
        .data()
        .map_err(|e| Error::malformed(format!("ELF .BTF section: {e}")))?;
    Ok(bytes.to_vec())
}

/// `EPIPE` (32 on every Linux architecture): the reader of our output went away (`... | head`),
/// which is not an error for a dump.
const EPIPE: i32 = 32;

/// The kernel's own BTF, the base of every module's.
const SYSFS_VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Loads the BTF at `path`, split on `base` when given.
pub fn load(path: &Path, base: Option<&Path>) -> Result<Btf> {
    let base = match base {
        Some(b) => Some(Arc::new(
            parse_file(b, None).with_context(|| b.display().to_string())?,
        )),
        None => None,
    };
    parse_file(path, base).with_context(|| path.display().to_string())
}

/// A BTF object id as bpftool reads it: decimal, or hex with `0x`.
fn parse_id(s: &str) -> Result<u32> {
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    n.map_err(|_| Error::invalid(format!("can't parse '{s}' as a BTF object id")))
}

/// Loads kernel BTF object `id`; module BTF is split on `base`, by default on the sysfs vmlinux BTF
/// (bpftool's choice: the object's name is not `vmlinux`).
pub fn load_id(id: u32, base: Option<&Path>) -> Result<Btf> {
    let obj = oxbpf::kernel::btf_object::read_btf_object(id)?;
    let sysfs_base = Path::new(SYSFS_VMLINUX);
    let base = base.or_else(|| obj.is_module().then_some(sysfs_base));
    let base = match base {
        Some(b) => Some(Arc::new(
            parse_file(b, None).with_context(|| b.display().to_string())?,
        )),
        None => None,
    };
    obj.parse(base)
}

/// Runs a `btf` subcommand, writing to stdout.
pub fn run(cmd: BtfCmd) -> Result<()> {
    match cmd {
        BtfCmd::Dump(args) => {
            let btf = match args.source {
                Source::File => {
                    // Like bpftool: module BTF in sysfs is split BTF on vmlinux unless told otherwise.
                    let sysfs_base = Path::new(SYSFS_VMLINUX);
                    let base = args.base.as_deref().or_else(|| {
                        (args.path.starts_with("/sys/kernel/btf/") && args.path != sysfs_base)
                            .then_some(sysfs_base)
                    });
                    load(&args.path, base)?
                }
                Source::Id => load_id(
                    parse_id(&args.path.to_string_lossy())?,
                    args.base.as_deref(),
                )?,
            };
            let mut out = std::io::stdout().lock();
            let r = match args.format.unwrap_or(Format::Raw) {
                Format::C => btf.write_c_header(&mut out),
                Format::Raw => btf.write_raw_listing(&mut out),
            };
            match r.and_then(|_| out.flush().map_err(|e| Error::io("write stdout", e))) {
                Err(e) if e.errno() == Some(EPIPE) => Ok(()),
                r => r,
            }
        }
    }
}
