//! The object lifecycle: [`Object::open_file`] parses a `.bpf.o` (no syscalls) into an
//! [`OpenObject`] the caller may adjust; [`OpenObject::load`] creates maps, relocates and loads the
//! programs exactly as libbpf 1.7's `bpf_object__load` does, giving an [`Object`] that owns every
//! kernel object (dropping it closes them all).
//!
//! Load order, as libbpf: resolve externs → CO-RE → link subprograms → load BTF → create maps
//! (internal maps filled and `.rodata`/`.kconfig` frozen) → data relocations → load programs
//! (no log first; on failure again with a log that grows until it fits) → prog-array slots.
//!
//! ```no_run
//! # fn main() -> oxbpf::Result<()> {
//! let mut open = oxbpf::Object::open_file("minimal.bpf.o")?;
//! open.set_autoload("handle_write", true)?;
//! let obj = open.load()?;
//! for p in obj.programs() {
//!     println!("{} ({}): tag {}", p.name(), p.prog_type_name(), p.info()?.tag_hex());
//! }
//! # Ok(())
//! # }
//! ```

mod resolve;
pub mod verifier;

use crate::btf::BtfFeatures;
use crate::btf::{Btf, BtfExt, Kind, Linkage, TypeKind};
use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::insn::Insn;
use crate::kernel::features::{self, Feature};
use crate::map::{MapHandle, MapType};
use crate::obj::maps::{self as objmaps, MapKind, Pinning};
use crate::obj::programs::ProgramSpec;
use crate::obj::sections::{self, SecFlags};
use crate::obj::{MapSpec, ObjectSpec, OpenOptions};
use crate::program::{load_with_growing_log, ProgramHandle, ProgramInfo};
use crate::reloc::calls::{self, CallCtx, ExtSection, LinkedProgram};
use crate::reloc::core::{
    fixup_verifier_log, poisoned_insn_in_log, CoreOutcome, CoreRelocator, CoreTargets, TargetBtf,
};
use crate::reloc::data::{self, DataCtx, ExternValue};
use crate::sys::bpf::{self as sysbpf, MapCreateOpts, ProgLoadOpts};
use crate::sys::mmap::Mmap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `BPF_F_SLEEPABLE`.
const F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
const F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// Namespace of the object lifecycle's entry points; see the module docs.
#[derive(Debug)]
pub struct Object {
    name: String,
    programs: Vec<Program>,
    maps: Vec<Map>,
    btf_fd: Option<OwnedFd>,
}

/// An opened, not yet loaded object: adjust it, then [`load`](OpenObject::load) it.
#[derive(Debug, Clone)]
pub struct OpenObject {
    spec: ObjectSpec,
    path: Option<PathBuf>,
    kconfig: Option<String>,
    btf_custom_path: Option<PathBuf>,
    log_level: u32,
    reused: Vec<(String, Arc<MapHandle>)>,
}

/// A loaded program (or an entry program that was not loaded because autoload was off).
#[derive(Debug)]
pub struct Program {
    name: String,
    section: String,
    prog_type: u32,
    expected_attach_type: u32,
    handle: Option<ProgramHandle>,
    insns: Vec<Insn>,
}

/// A map of a loaded object.
#[derive(Debug)]
pub struct Map {
    spec: MapSpec,
    handle: Option<MapHandle>,
    mmap: Option<Mmap>,
    struct_ops_value: Option<Vec<u8>>,
}

impl Object {
    /// Opens the object at `path`; the object name is the file name up to its first `.`.
    pub fn open_file(path: impl AsRef<Path>) -> Result<OpenObject> {
        Self::open_file_with(path, &OpenOptions::default())
    }

    /// Opens the object at `path` with options.
    pub fn open_file_with(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<OpenObject> {
        let path = path.as_ref();
        let data =
            std::fs::read(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        let name = crate::obj::object_name_from_path(path);
        let spec = ObjectSpec::parse(&data, &name, opts)
            .with_context(|| format!("object '{}'", path.display()))?;
        Ok(OpenObject {
            spec,
            path: Some(path.to_path_buf()),
            kconfig: None,
            btf_custom_path: None,
            log_level: 0,
            reused: Vec::new(),
        })
    }

    /// Opens an object from memory under object name `name`.
    pub fn open_memory(name: &str, data: &[u8]) -> Result<OpenObject> {
        Self::open_memory_with(name, data, &OpenOptions::default())
    }

    /// Opens an object from memory with options.
    pub fn open_memory_with(name: &str, data: &[u8], opts: &OpenOptions) -> Result<OpenObject> {
        let spec =
            ObjectSpec::parse(data, name, opts).with_context(|| format!("object '{name}'"))?;
        Ok(OpenObject {
            spec,
            path: None,
            kconfig: None,
            btf_custom_path: None,
            log_level: 0,
            reused: Vec::new(),
        })
    }

    /// The object name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Entry programs, in object order (autoload-off ones are present, not loaded).
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// The entry program named `name`.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// Maps, in object order.
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.spec.name == name)
    }

    /// The map named `name`, mutably (for its mmapped data).
    pub fn map_mut(&mut self, name: &str) -> Option<&mut Map> {
        self.maps.iter_mut().find(|m| m.spec.name == name)
    }

    /// The object's BTF in the kernel, when it was loaded.
    pub fn btf_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.btf_fd.as_ref().map(|f| f.as_fd())
    }
}

impl Program {
    /// Function name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// ELF section name.
    pub fn section(&self) -> &str {
        &self.section
    }
    /// `enum bpf_prog_type`.
    pub fn prog_type(&self) -> u32 {
        self.prog_type
    }
    /// libbpf's name of the program type.
    pub fn prog_type_name(&self) -> &'static str {
        sections::prog_type_name(self.prog_type)
    }
    /// `enum bpf_attach_type` it was loaded with.
    pub fn expected_attach_type(&self) -> u32 {
        self.expected_attach_type
    }
    /// The loaded program, `None` when autoload was off.
    pub fn handle(&self) -> Option<&ProgramHandle> {
        self.handle.as_ref()
    }
    /// The instructions submitted to the kernel (empty when not loaded).
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }
    /// What the kernel reports about it (tag, ids, lengths).
    pub fn info(&self) -> Result<ProgramInfo> {
        self.handle
            .as_ref()
            .ok_or_else(|| Error::invalid(format!("prog '{}' was not loaded", self.name)))?
            .info()
    }
}

impl Map {
    /// Name as libbpf reports it.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
    /// The definition it was created from.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }
    /// The kernel map, `None` when it was not created (autocreate off).
    pub fn handle(&self) -> Option<&MapHandle> {
        self.handle.as_ref()
    }
    /// For a struct_ops map: its value in the kernel's `struct bpf_struct_ops_<name>` layout, with
    /// each function pointer holding the fd of its loaded program (what registering it writes).
    pub fn struct_ops_value(&self) -> Option<&[u8]> {
        self.struct_ops_value.as_deref()
    }
    /// The mmapped contents of a global data map (`BPF_F_MMAPABLE`).
    pub fn data(&self) -> Option<&[u8]> {
        let n = if self.spec.map_type == objmaps::MAP_TYPE_ARENA {
            usize::MAX
        } else {
            self.spec.value_size as usize
        };
        self.mmap.as_ref().map(|m| &m.as_slice()[..n.min(m.len())])
    }
    /// The mmapped contents, writable (not for `.rodata`/`.kconfig`, frozen after load).
    pub fn data_mut(&mut self) -> Option<Result<&mut [u8]>> {
        let n = self.spec.value_size as usize;
        self.mmap.as_mut().map(|m| {
            m.as_mut_slice().map(|s| {
                let len = n.min(s.len());
                &mut s[..len]
            })
        })
    }
}

impl OpenObject {
    /// The parsed object, read-only.
    pub fn spec(&self) -> &ObjectSpec {
        &self.spec
    }
    /// The parsed object, to adjust programs (autoload, type, flags) and maps (sizes, flags,
    /// `autocreate`, initial data, pin path) before load.
    pub fn spec_mut(&mut self) -> &mut ObjectSpec {
        &mut self.spec
    }
    /// The object name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
    /// The entry program named `name`, to adjust.
    pub fn program_mut(&mut self, name: &str) -> Option<&mut ProgramSpec> {
        self.spec
            .programs
            .iter_mut()
            .find(|p| !p.is_subprog && p.name == name)
    }
    /// The map named `name`, to adjust.
    pub fn map_mut(&mut self, name: &str) -> Option<&mut MapSpec> {
        self.spec.maps.iter_mut().find(|m| m.name == name)
    }
    /// Sets autoload of entry program `name`.
    pub fn set_autoload(&mut self, name: &str, autoload: bool) -> Result<()> {
        let p = self
            .program_mut(name)
            .ok_or_else(|| Error::not_found(format!("no program '{name}'")))?;
        p.autoload = autoload;
        Ok(())
    }
    /// Sets the kernel function an attach-BTF program (fentry, fexit, lsm, tp_btf, iter, ...)
    /// targets, overriding its section name (libbpf's `bpf_program__set_attach_target` with no
    /// target program).
    pub fn set_attach_target(&mut self, prog: &str, target: &str) -> Result<()> {
        let p = self
            .program_mut(prog)
            .ok_or_else(|| Error::not_found(format!("no program '{prog}'")))?;
        p.attach_target = Some(target.to_string());
        Ok(())
    }
    /// Uses an existing map instead of creating `name` (libbpf's `bpf_map__reuse_fd`); its type
    /// and sizes replace the definition's.
    pub fn reuse_map(&mut self, name: &str, map: MapHandle) -> Result<()> {
        let m = self
            .map_mut(name)
            .ok_or_else(|| Error::not_found(format!("no map '{name}'")))?;
        m.map_type = map.map_type().map_or(m.map_type, |t| t.as_u32());
        m.key_size = map.key_size();
        m.value_size = map.value_size();
        m.max_entries = map.max_entries();
        m.map_flags = map.map_flags();
        self.reused.push((name.to_string(), Arc::new(map)));
        Ok(())
    }
    /// Extra Kconfig lines (`CONFIG_FOO=y\n...`) consulted before the system config.
    pub fn set_kconfig(&mut self, kconfig: impl Into<String>) {
        self.kconfig = Some(kconfig.into());
    }
    /// A BTF file to use instead of the kernel's for CO-RE.
    pub fn set_btf_custom_path(&mut self, path: impl Into<PathBuf>) {
        self.btf_custom_path = Some(path.into());
    }
    /// Verifier log level for every program (0: only on failure).
    pub fn set_log_level(&mut self, level: u32) {
        self.log_level = level;
    }
    /// Initial contents of global data map `name` (`.data`, `.rodata`, `.bss`, custom sections).
    pub fn set_initial_value(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let m = self
            .map_mut(name)
            .ok_or_else(|| Error::not_found(format!("no map '{name}'")))?;
        if m.data.len() != data.len() || !m.kind.is_internal() {
            return Err(Error::invalid(format!(
                "map '{name}': initial value must be {} bytes of a global data map",
                m.data.len()
            )));
        }
        m.data.copy_from_slice(data);
        Ok(())
    }

    /// Loads the object: maps, relocations, programs. Every kernel object made on the way is
    /// released if any step fails.
    pub fn load(self) -> Result<Object> {
        let label = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| self.spec.name.clone());
        Loader::new(self)
            .run()
            .with_context(|| format!("object '{label}'"))
    }
}

/// Everything the load pipeline carries between steps.
struct Loader {
    open: OpenObject,
    vmlinux: Option<Arc<Btf>>,
    /// What each CO-RE relocation did, per function (index into the spec's programs).
    core: Vec<Vec<CoreOutcome>>,
    /// Pins made by this load, removed again if the load fails.
    pinned: Vec<PathBuf>,
}

fn ext_sections(spec: &ObjectSpec, ext: &BtfExt) -> (Vec<ExtSection>, Vec<ExtSection>) {
    let sec_idx = |name: &str| spec.elf.sections.iter().position(|s| s.name == name);
    let mut funcs = Vec::new();
    let rec = ext.func_info_rec_size as usize;
    for s in &ext.func_info {
        let Some(idx) = sec_idx(&s.name) else {
            continue;
        };
        let extra = rec.saturating_sub(8);
        let mut records = Vec::with_capacity(s.records.len() * rec);
        for (i, r) in s.records.iter().enumerate() {
            records.extend_from_slice(&r.insn_off.to_ne_bytes());
            records.extend_from_slice(&r.type_id.to_ne_bytes());
            records.extend_from_slice(s.extra.get(i * extra..(i + 1) * extra).unwrap_or(&[]));
        }
        funcs.push(ExtSection {
            sec_idx: idx,
            rec_size: rec,
            records,
        });
    }
    let mut lines = Vec::new();
    let rec = ext.line_info_rec_size as usize;
    for s in &ext.line_info {
        let Some(idx) = sec_idx(&s.name) else {
            continue;
        };
        let extra = rec.saturating_sub(16);
        let mut records = Vec::with_capacity(s.records.len() * rec);
        for (i, r) in s.records.iter().enumerate() {
            for w in [r.insn_off, r.file_name_off, r.line_off, r.line_col] {
                records.extend_from_slice(&w.to_ne_bytes());
            }
            records.extend_from_slice(s.extra.get(i * extra..(i + 1) * extra).unwrap_or(&[]));
        }
        lines.push(ExtSection {
            sec_idx: idx,
            rec_size: rec,
            records,
        });
    }
    (funcs, lines)
}

/// libbpf's `btf_get_kernel_prefix_kind` + lookup: the kernel BTF id an attach-BTF program targets.
fn find_attach_btf_id(vmlinux: &Btf, attach_type: u32, target: &str) -> Option<u32> {
    use crate::obj::sections::a;
    let target = match target.split_once(':') {
        Some(("vmlinux", f)) => f,
        _ => target,
    };
    let (prefix, kind) = match attach_type {
        a::TRACE_RAW_TP => ("btf_trace_", Kind::Typedef),
        a::LSM_MAC | a::LSM_CGROUP => ("bpf_lsm_", Kind::Func),
        a::TRACE_ITER => ("bpf_iter_", Kind::Func),
        _ => ("", Kind::Func),
    };
    vmlinux.find_by_name_kind(&format!("{prefix}{target}"), kind)
}

impl Loader {
    fn new(open: OpenObject) -> Self {
        Loader {
            open,
            vmlinux: None,
            core: Vec::new(),
            pinned: Vec::new(),
        }
    }

    fn vmlinux(&mut self) -> Result<Arc<Btf>> {
        if let Some(v) = &self.vmlinux {
            return Ok(v.clone());
        }
        let v = match &self.open.btf_custom_path {
            Some(p) => Arc::new(crate::kernel::vmlinux::parse_btf_file(p)?),
            None => crate::kernel::vmlinux::vmlinux_btf()?,
        };
        self.vmlinux = Some(v.clone());
        Ok(v)
    }

    fn run(mut self) -> Result<Object> {
        if !self.open.spec.elf.native_endian {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "loading non-native endianness is unsupported",
            ));
        }
        // libbpf's probe_loading: memlock on kernels without memcg accounting.
        features::bump_memlock_rlimit();
        // Old kernels without global data: internal maps are not created (references poisoned).
        if !features::kernel_supports(Feature::GlobalData) {
            for m in self
                .open
                .spec
                .maps
                .iter_mut()
                .filter(|m| m.kind.is_internal())
            {
                m.autocreate = false;
            }
        }
        // Externs (fills the .kconfig map's initial value).
        let ext_values = self.resolve_externs()?;
        // struct_ops maps laid out in the kernel's types; their programs learn their targets.
        let kern_st_ops = self.init_struct_ops()?;
        // CO-RE, on every autoloaded function's own instructions.
        self.relocate_core()?;
        // Subprogram calls: one linked image per autoloaded entry program.
        let linked = self.link_programs()?;
        // BTF into the kernel.
        let btf_fd = self.load_btf();
        // Maps, then data relocations and program loads; pins made here are undone on failure.
        let r = self.create_maps(btf_fd.as_ref()).and_then(|mut maps| {
            let programs = self.load_programs(&linked, &ext_values, &maps, btf_fd.as_ref())?;
            init_prog_array_slots(&mut maps, &programs)?;
            fill_struct_ops_values(&mut maps, &kern_st_ops, &programs);
            Ok((maps, programs))
        });
        match r {
            Ok((maps, programs)) => Ok(Object {
                name: self.open.spec.name.clone(),
                programs,
                maps,
                btf_fd,
            }),
            Err(e) => {
                for p in &self.pinned {
                    let _ = std::fs::remove_file(p);
                }
                Err(e)
            }
        }
    }

    fn resolve_externs(&mut self) -> Result<Vec<ExternValue>> {
        let spec = &self.open.spec;
        if spec.externs.is_empty() {
            return Ok(Vec::new());
        }
        let needs_btf = spec.externs.iter().any(|e| e.ksym_type_id != 0);
        let vmlinux = if needs_btf {
            Some(self.vmlinux())
        } else {
            None
        };
        let spec = &mut self.open.spec;
        let mut kcfg = match spec.kconfig_map_idx {
            Some(i) => std::mem::take(&mut spec.maps[i].data),
            None => Vec::new(),
        };
        let vm = |_: ()| -> Result<Arc<Btf>> {
            match &vmlinux {
                Some(Ok(v)) => Ok(v.clone()),
                Some(Err(e)) => Err(Error::new(e.kind(), e.message().to_string())),
                None => crate::kernel::vmlinux::vmlinux_btf(),
            }
        };
        let host = resolve::Host {
            kconfig_override: self.open.kconfig.as_deref(),
            kconfig: &crate::kernel::kconfig::host_kconfig,
            kallsyms: &crate::kernel::kallsyms::host_kallsyms,
            vmlinux: &|| vm(()),
            kernel_version: crate::kernel::version::kernel_version(),
        };
        let r = resolve::resolve_externs(&spec.externs, &mut kcfg, &host);
        if let Some(i) = spec.kconfig_map_idx {
            spec.maps[i].data = kcfg;
        }
        r
    }

    /// libbpf's `bpf_object__init_kern_struct_ops_maps` and `bpf_object_adjust_struct_ops_autoload`.
    fn init_struct_ops(&mut self) -> Result<Vec<Option<crate::obj::struct_ops::KernStructOps>>> {
        use crate::obj::struct_ops;
        let n = self.open.spec.maps.len();
        let mut out = vec![None; n];
        let wanted: Vec<usize> = (0..n)
            .filter(|&i| {
                self.open.spec.maps[i].struct_ops.is_some() && self.open.spec.maps[i].autocreate
            })
            .collect();
        if wanted.is_empty() {
            return Ok(out);
        }
        let kern = self.vmlinux()?;
        let spec = &mut self.open.spec;
        let btf = spec
            .btf
            .as_ref()
            .ok_or_else(|| Error::invalid("struct_ops maps need the object's BTF"))?;
        for i in wanted {
            let k = struct_ops::init_kern(&mut spec.maps[i], btf, &kern, &mut spec.programs)?;
            spec.maps[i].value_size = k.vdata.len() as u32;
            spec.maps[i].btf_vmlinux_value_type_id = k.vtype_id;
            out[i] = Some(k);
        }
        struct_ops::adjust_autoload(&spec.maps, &mut spec.programs);
        Ok(out)
    }

    /// CO-RE, as libbpf's `bpf_object__relocate_core`: records in `.BTF.ext` order, on each
    /// autoloaded function's own instructions, with one relocator (one candidate cache) for the
    /// whole object. What each relocation did is kept to explain poisoned instructions later.
    fn relocate_core(&mut self) -> Result<()> {
        let spec = &self.open.spec;
        let (Some(ext), Some(_)) = (&spec.btf_ext, &spec.btf) else {
            return Ok(());
        };
        if ext.core_relos.iter().all(|s| s.records.is_empty()) {
            return Ok(());
        }
        let target = self.vmlinux()?;
        let targets = if self.open.btf_custom_path.is_some() {
            CoreTargets::custom(TargetBtf::shared("custom", &target))
        } else {
            let vmlinux = TargetBtf::shared("vmlinux", &target);
            let base = vmlinux.clone();
            CoreTargets::new(vmlinux)
                .with_module_loader(move || crate::kernel::module_btf::module_btfs(&base))
        };
        let spec = &mut self.open.spec;
        let local = spec
            .btf
            .as_ref()
            .ok_or_else(|| Error::invalid("CO-RE needs the object's BTF"))?;
        let ext = spec
            .btf_ext
            .as_ref()
            .ok_or_else(|| Error::invalid("CO-RE needs .BTF.ext"))?;
        let mut core = CoreRelocator::new(local, &targets);
        let mut outcomes = vec![Vec::new(); spec.programs.len()];
        for s in &ext.core_relos {
            let Some(sec_idx) = spec.elf.sections.iter().position(|x| x.name == s.name) else {
                continue;
            };
            for (relo_idx, r) in s.records.iter().enumerate() {
                if r.insn_off % 8 != 0 {
                    return Err(Error::malformed(format!(
                        "sec '{}': CO-RE relo #{relo_idx} at unaligned offset",
                        s.name
                    )));
                }
                let insn = r.insn_off as usize / 8;
                // Records of eliminated weak subprograms have no function: skipped, as libbpf.
                let Some(p) = crate::obj::programs::find_by_sec_insn(&spec.programs, sec_idx, insn)
                else {
                    continue;
                };
                let prog = &mut spec.programs[p];
                if !prog.autoload {
                    continue;
                }
                let insn_idx = insn - prog.sec_insn_off;
                let o = core
                    .relocate_bytes(&prog.name, &mut prog.insns, insn_idx, r, relo_idx)
                    .map_err(|e| e.context("failed to perform CO-RE relocations"))?;
                outcomes[p].push(o);
            }
        }
        self.core = outcomes;
        Ok(())
    }

    /// The CO-RE relocation that poisoned instruction `insn` of the linked program `l` (entry
    /// function `p`), if any.
    fn poisoned_relo(
        &self,
        p: &ProgramSpec,
        l: &LinkedProgram,
        insn: usize,
    ) -> Option<&CoreOutcome> {
        let progs = &self.open.spec.programs;
        let entry = progs
            .iter()
            .position(|x| x.name == p.name && x.sec_idx == p.sec_idx)?;
        let (func, off) = if insn < p.insns.len() / 8 {
            (entry, insn)
        } else {
            let (f, start) = l
                .subprogs
                .iter()
                .filter(|(_, start)| *start <= insn)
                .max_by_key(|(_, start)| *start)?;
            (*f, insn - start)
        };
        self.core
            .get(func)?
            .iter()
            .find(|o| o.insn_idx == off && o.poisoned)
    }

    fn link_programs(&self) -> Result<Vec<Option<LinkedProgram>>> {
        let spec = &self.open.spec;
        let (funcs, lines) = match &spec.btf_ext {
            Some(ext) => ext_sections(spec, ext),
            None => (Vec::new(), Vec::new()),
        };
        let mut exc_cbs = vec![None; spec.programs.len()];
        if let Some(btf) = spec
            .btf
            .as_ref()
            .filter(|_| features::kernel_supports(Feature::BtfDeclTag))
        {
            for (i, p) in spec.programs.iter().enumerate() {
                if !p.is_subprog && p.autoload {
                    exc_cbs[i] = calls::exception_callback(btf, &spec.programs, i)?;
                }
            }
        }
        let ctx = CallCtx {
            progs: &spec.programs,
            text_shndx: spec.elf.text_shndx,
            func_info: &funcs,
            line_info: &lines,
            exception_cbs: &exc_cbs,
        };
        let mut out = Vec::with_capacity(spec.programs.len());
        for (i, p) in spec.programs.iter().enumerate() {
            if p.is_subprog || !p.autoload {
                out.push(None);
                continue;
            }
            let l = calls::link_program(&ctx, i)
                .map_err(|e| e.context(format!("prog '{}': failed to relocate calls", p.name)))?;
            out.push(Some(l));
        }
        Ok(out)
    }

    /// Loads the object's BTF (hidden globals turned static, as libbpf does). A failure is only
    /// reported: BTF is optional for the kernel here.
    fn load_btf(&mut self) -> Option<OwnedFd> {
        let spec = &mut self.open.spec;
        let btf = spec.btf.as_mut()?;
        let statics: Vec<String> = spec
            .programs
            .iter()
            .filter(|p| p.is_subprog && p.mark_btf_static)
            .map(|p| p.name.clone())
            .collect();
        for name in statics {
            let id = btf
                .types()
                .find(|(_, t)| {
                    matches!(&t.kind, TypeKind::Func(f) if f.linkage == Linkage::Global)
                        && btf.type_name(t).ok() == Some(name.as_str())
                })
                .map(|(id, _)| id);
            if let Some(id) = id {
                if let Ok(t) = btf.type_by_id_mut(id) {
                    if let TypeKind::Func(f) = &mut t.kind {
                        f.linkage = Linkage::Static;
                    }
                }
            }
        }
        if !features::kernel_supports(Feature::Btf) {
            crate::log::debug(format_args!(
                "Kernel doesn't support BTF, skipping uploading it."
            ));
            return None;
        }
        let wanted = BtfFeatures {
            func: features::kernel_supports(Feature::BtfFunc),
            func_global: features::kernel_supports(Feature::BtfGlobalFunc),
            datasec: features::kernel_supports(Feature::BtfDatasec),
            qmark_datasec: features::kernel_supports(Feature::BtfQmarkDatasec),
            float: features::kernel_supports(Feature::BtfFloat),
            decl_tag: features::kernel_supports(Feature::BtfDeclTag),
            type_tag: features::kernel_supports(Feature::BtfTypeTag),
            enum64: features::kernel_supports(Feature::BtfEnum64),
        };
        let raw = if wanted.needs_sanitization() {
            // Sanitize a copy: relocation and CO-RE keep the original.
            let mut copy = btf.clone();
            if let Err(e) = copy.sanitize(&wanted) {
                crate::log::warn(format_args!("failed to sanitize BTF: {e}"));
                return None;
            }
            copy.to_bytes()
        } else {
            btf.to_bytes()
        };
        let level = u32::from(self.open.log_level != 0);
        let r = if level == 0 {
            sysbpf::btf_load(&raw, None, None)
        } else {
            load_with_growing_log(1, |log| sysbpf::btf_load(&raw, Some(log), None)).0
        };
        match r {
            Ok(fd) => Some(fd),
            Err(e) => {
                crate::log::info(format_args!(
                    "Error loading .BTF into kernel: {e}. BTF is optional, ignoring."
                ));
                None
            }
        }
    }

    fn create_maps(&mut self, btf_fd: Option<&OwnedFd>) -> Result<Vec<Map>> {
        let specs = self.open.spec.maps.clone();
        let mut maps: Vec<Map> = Vec::with_capacity(specs.len());
        for m in &specs {
            if !m.autocreate {
                crate::log::debug(format_args!("map '{}': skipped auto-creating...", m.name));
                maps.push(Map {
                    spec: m.clone(),
                    handle: None,
                    mmap: None,
                    struct_ops_value: None,
                });
                continue;
            }
            let preset = self
                .open
                .reused
                .iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, h)| h.try_clone());
            let (handle, reused) = match preset {
                Some(h) => (h.with_context(|| format!("map '{}': reuse", m.name))?, true),
                None => create_map(m, btf_fd)
                    .with_context(|| format!("map '{}': failed to create", m.name))?,
            };
            let mut map = Map {
                spec: m.clone(),
                handle: Some(handle),
                mmap: None,
                struct_ops_value: None,
            };
            if !reused {
                if m.kind.is_internal() {
                    populate_internal(&mut map)?;
                }
                if m.map_type == objmaps::MAP_TYPE_ARENA {
                    self.populate_arena(&mut map)?;
                }
                if m.is_map_in_map() && !m.init_slots.is_empty() {
                    init_map_in_map_slots(&map, &maps, &specs)?;
                }
            }
            if let (Some(path), false, Some(h)) = (&m.pin_path, reused, &map.handle) {
                h.pin(path).with_context(|| {
                    format!(
                        "map '{}': failed to auto-pin at '{}'",
                        m.name,
                        path.display()
                    )
                })?;
                self.pinned.push(path.clone());
            }
            maps.push(map);
        }
        Ok(maps)
    }

    /// Where `__arena` globals start in the arena: at its end when the kernel takes full-range
    /// `ld_imm64` offsets, else at its start (libbpf's `arena_data_off`).
    fn arena_data_off(&self) -> u32 {
        let spec = &self.open.spec;
        let (Some(i), Some(d)) = (spec.arena_map_idx, &spec.arena_data) else {
            return 0;
        };
        if !features::kernel_supports(Feature::Ldimm64FullRangeOff) {
            return 0;
        }
        let page = crate::sys::mmap::page_size() as u64;
        let mmap_sz = page * u64::from(spec.maps[i].max_entries);
        (mmap_sz - (d.len() as u64).div_ceil(page) * page) as u32
    }

    /// Maps the arena and copies the `__arena` globals' initial values into it.
    fn populate_arena(&self, map: &mut Map) -> Result<()> {
        let Some(h) = &map.handle else { return Ok(()) };
        let name = map.spec.name.clone();
        if map.spec.map_extra != 0 {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "map '{name}': arenas at a fixed address (map_extra) are not supported yet"
                ),
            ));
        }
        let mut mm = h
            .mmap(true)
            .with_context(|| format!("map '{name}': failed to mmap arena"))?;
        if let Some(d) = &self.open.spec.arena_data {
            let off = self.arena_data_off() as usize;
            let dst = mm.as_mut_slice()?;
            if let Some(slot) = dst.get_mut(off..off + d.len()) {
                slot.copy_from_slice(d);
            }
        }
        map.mmap = Some(mm);
        Ok(())
    }

    fn load_programs(
        &mut self,
        linked: &[Option<LinkedProgram>],
        ext_values: &[ExternValue],
        maps: &[Map],
        btf_fd: Option<&OwnedFd>,
    ) -> Result<Vec<Program>> {
        let map_fds: Vec<Option<i32>> = maps
            .iter()
            .map(|m| m.handle.as_ref().map(|h| h.as_fd().as_raw_fd()))
            .collect();
        let kconfig_map_fd = self
            .open
            .spec
            .kconfig_map_idx
            .and_then(|i| map_fds.get(i).copied().flatten());
        let has_rodata = self
            .open
            .spec
            .maps
            .iter()
            .any(|m| m.kind == MapKind::Rodata);
        let kern_version = self
            .open
            .spec
            .kern_version
            .or_else(crate::kernel::version::kernel_version)
            .unwrap_or(0);
        let mut out = Vec::new();
        for (i, l) in linked.iter().enumerate() {
            let p = self.open.spec.programs[i].clone();
            if p.is_subprog {
                continue;
            }
            let Some(l) = l else {
                crate::log::debug(format_args!("prog '{}': skipped loading", p.name));
                out.push(Program {
                    name: p.name.clone(),
                    section: p.section.clone(),
                    prog_type: p.prog_type,
                    expected_attach_type: p.expected_attach_type,
                    handle: None,
                    insns: Vec::new(),
                });
                continue;
            };
            let mut insns = l.insns.clone();
            let dctx = DataCtx {
                map_fds: &map_fds,
                kconfig_map_fd,
                externs: ext_values,
                arena: self
                    .open
                    .spec
                    .arena_map_idx
                    .map(|i| (i, self.arena_data_off())),
            };
            data::relocate_data(&p.name, &mut insns, &l.relocs, &dctx).map_err(|e| {
                e.context(format!(
                    "prog '{}': failed to relocate data references",
                    p.name
                ))
            })?;
            if !features::kernel_supports(Feature::ProbeReadKernel) {
                downgrade_probe_read(&mut insns);
            }
            let insns = Insn::slice_from_bytes(&insns).ok_or_else(|| {
                Error::malformed(format!(
                    "prog '{}': instructions are not a multiple of 8 bytes",
                    p.name
                ))
            })?;
            let (handle, expected_attach_type) =
                self.load_one(&p, &insns, l, btf_fd, kern_version)?;
            if has_rodata && features::kernel_supports(Feature::ProgBindMap) {
                for (m, spec) in maps.iter().zip(&self.open.spec.maps) {
                    if spec.kind != MapKind::Rodata {
                        continue;
                    }
                    if let Some(h) = &m.handle {
                        if let Err(e) = handle.bind_map(h) {
                            crate::log::warn(format_args!(
                                "prog '{}': failed to bind map '{}': {e}",
                                p.name, spec.real_name
                            ));
                        }
                    }
                }
            }
            out.push(Program {
                name: p.name.clone(),
                section: p.section.clone(),
                prog_type: p.prog_type,
                expected_attach_type,
                handle: Some(handle),
                insns,
            });
        }
        Ok(out)
    }

    fn load_one(
        &mut self,
        p: &ProgramSpec,
        insns: &[Insn],
        l: &LinkedProgram,
        btf_fd: Option<&OwnedFd>,
        kern_version: u32,
    ) -> Result<(ProgramHandle, u32)> {
        let name = &p.name;
        if p.prog_type == 0 {
            return Err(Error::invalid(format!(
                "prog '{name}': missing BPF prog type, check ELF section name '{}'",
                p.section
            )));
        }
        if p.prog_type == sections::p::STRUCT_OPS && p.attach_btf_id == 0 {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!("prog '{name}': SEC(\"struct_ops\") program isn't referenced anywhere, did you forget to use it?"),
            ));
        }
        let flags = p.sec_def.as_ref().map_or(SecFlags::NONE, |d| d.flags);
        let mut prog_flags = p.prog_flags;
        if flags.contains(SecFlags::SLEEPABLE) {
            prog_flags |= F_SLEEPABLE;
        }
        if p.prog_type == sections::p::XDP && flags.contains(SecFlags::XDP_FRAGS) {
            prog_flags |= F_XDP_HAS_FRAGS;
        }
        let mut expected_attach_type = p.expected_attach_type;
        if flags.contains(SecFlags::EXP_ATTACH_OPT)
            && !features::kernel_supports(Feature::ExpAttachType)
        {
            expected_attach_type = 0;
        }
        if flags.contains(SecFlags::USDT) && features::kernel_supports(Feature::UprobeMultiLink) {
            expected_attach_type = sections::a::TRACE_UPROBE_MULTI;
        }
        let mut attach_btf_id = p.attach_btf_id;
        if flags.contains(SecFlags::ATTACH_BTF) && attach_btf_id == 0 {
            let Some(target) = p
                .attach_target
                .as_deref()
                .or_else(|| sections::attach_target(&p.section))
            else {
                return Err(Error::invalid(format!(
                    "prog '{name}': no BTF-based attach target is specified, use bpf_program__set_attach_target()"
                )));
            };
            let vm = self.vmlinux()?;
            attach_btf_id =
                find_attach_btf_id(&vm, expected_attach_type, target).ok_or_else(|| {
                    Error::not_found(format!(
                        "prog '{name}': failed to find kernel BTF type ID of '{target}'"
                    ))
                })?;
        }
        let with_btf = btf_fd.is_some() && features::kernel_supports(Feature::BtfFunc);
        let prog_name = features::kernel_supports(Feature::ProgName).then_some(name.as_str());
        let (fi_rec, fi) = l
            .func_info
            .as_ref()
            .filter(|_| with_btf)
            .map_or((0, &[][..]), |(r, b)| (*r as u32, b.as_slice()));
        let (li_rec, li) = l
            .line_info
            .as_ref()
            .filter(|_| with_btf)
            .map_or((0, &[][..]), |(r, b)| (*r as u32, b.as_slice()));
        let opts = ProgLoadOpts {
            expected_attach_type,
            prog_btf_fd: btf_fd.map(|f| f.as_fd()),
            prog_flags,
            kern_version,
            attach_btf_id,
            func_info: fi,
            func_info_rec_size: fi_rec,
            line_info: li,
            line_info_rec_size: li_rec,
            ..Default::default()
        };
        let license = &self.open.spec.license;
        let level = self.open.log_level;
        let first = if level == 0 {
            Some(sysbpf::prog_load(
                p.prog_type,
                prog_name,
                license,
                insns,
                &opts,
                None,
            ))
        } else {
            None
        };
        let fd = match first {
            Some(Ok(fd)) => fd,
            Some(Err(_)) | None => {
                let (r, log) = load_with_growing_log(level.max(1), |log| {
                    sysbpf::prog_load(p.prog_type, prog_name, license, insns, &opts, Some(log))
                });
                match r {
                    Ok(fd) => {
                        if level != 0 {
                            crate::log::debug(format_args!("prog '{name}': -- BEGIN PROG LOAD LOG --\n{log}-- END PROG LOAD LOG --"));
                        }
                        fd
                    }
                    Err(e) => {
                        // A poisoned CO-RE relocation: rewrite the log as libbpf does, and say
                        // which relocation failed and why.
                        let core =
                            poisoned_insn_in_log(&log).and_then(|i| self.poisoned_relo(p, l, i));
                        let log = core
                            .and_then(|o| fixup_verifier_log(&log, |_| Some(o)))
                            .unwrap_or(log);
                        let btf = self.open.spec.btf.as_ref();
                        let li = l.line_info.as_ref().map(|(r, b)| (*r, b.as_slice()));
                        let summary = verifier::summarize(&log, btf, li);
                        crate::log::warn(format_args!(
                            "prog '{name}': BPF program load failed: {e}"
                        ));
                        if !log.trim().is_empty() {
                            crate::log::warn(format_args!("prog '{name}': -- BEGIN PROG LOAD LOG --\n{log}-- END PROG LOAD LOG --"));
                        }
                        let mut err = if log.trim().is_empty() {
                            e
                        } else {
                            e.with_kind(ErrorKind::Verifier).with_log(log)
                        };
                        if let Some(s) = summary {
                            err = err.context(s);
                        }
                        if err.verifier_log().is_none() {
                            // EPERM without a verifier log on fentry/fexit/fmod_ret/LSM/freplace: the
                            // kernel refuses trampolines; say so instead of a bare errno.
                            err = crate::attach::tracing::explain_load_refusal(
                                err,
                                p.prog_type,
                                expected_attach_type,
                            );
                        }
                        if let Some(o) = core {
                            err = err.context(format!(
                                "CO-RE relocation #{}: {}",
                                o.relo_idx,
                                o.failure.as_deref().unwrap_or("failed")
                            ));
                        }
                        return Err(err.context(format!("prog '{name}': failed to load")));
                    }
                }
            }
        };
        Ok((ProgramHandle::from_fd(fd)?, expected_attach_type))
    }
}

/// The number of possible CPUs, for perf event arrays sized 0.
fn nr_cpus() -> Result<u32> {
    crate::map::possible_cpus().map(|n| n as u32)
}

/// Creates (or reuses a pinned) map; returns the handle and whether it was reused.
fn create_map(m: &MapSpec, btf_fd: Option<&OwnedFd>) -> Result<(MapHandle, bool)> {
    if let (Pinning::ByName, Some(path)) = (m.pinning, &m.pin_path) {
        match MapHandle::from_pinned_path(path) {
            Ok(h) => {
                let compatible = h.map_type().map(|t| t.as_u32()) == Some(m.map_type)
                    && h.key_size() == m.key_size
                    && h.value_size() == m.value_size
                    && h.max_entries() == m.max_entries
                    && h.map_flags() == m.map_flags;
                if !compatible {
                    return Err(Error::invalid(format!(
                        "couldn't reuse pinned map at '{}': parameter mismatch",
                        path.display()
                    )));
                }
                return Ok((h, true));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e.context(format!("couldn't retrieve pinned map '{}'", path.display())))
            }
        }
    }
    let mut max_entries = m.max_entries;
    if m.map_type == objmaps::MAP_TYPE_PERF_EVENT_ARRAY && max_entries == 0 {
        max_entries = nr_cpus()?;
    }
    let inner = match &m.inner {
        Some(inner) if m.is_map_in_map() => Some(
            create_map(inner, btf_fd)
                .map_err(|e| e.context("failed to create inner map"))?
                .0,
        ),
        _ => None,
    };
    let no_btf_types = matches!(
        m.map_type,
        4 | 7 | 8 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 22 | 23 | 25 | 33
    );
    let mut opts = MapCreateOpts {
        map_flags: m.map_flags,
        inner_map_fd: inner.as_ref().map(|h| h.as_fd()),
        numa_node: (m.map_flags & sysbpf::BPF_F_NUMA_NODE != 0).then_some(m.numa_node),
        map_extra: m.map_extra,
        ..Default::default()
    };
    if let Some(fd) = btf_fd {
        if !no_btf_types {
            opts.btf_fd = Some(fd.as_fd());
            opts.btf_key_type_id = m.btf_key_type_id;
            opts.btf_value_type_id = m.btf_value_type_id;
        }
    }
    if m.map_type == crate::obj::struct_ops::MAP_TYPE_STRUCT_OPS {
        opts.btf_vmlinux_value_type_id = m.btf_vmlinux_value_type_id;
        opts.btf_value_type_id = 0;
    }
    let map_type = MapType::from_u32(m.map_type).unwrap_or(MapType::Unspec);
    let raw_create = |opts: &MapCreateOpts<'_>| -> Result<MapHandle> {
        if MapType::from_u32(m.map_type).is_some() {
            MapHandle::create(
                map_type,
                Some(&m.name),
                m.key_size,
                m.value_size,
                max_entries,
                opts,
            )
        } else {
            let fd = sysbpf::map_create(
                m.map_type,
                Some(&m.name),
                m.key_size,
                m.value_size,
                max_entries,
                opts,
            )?;
            MapHandle::from_fd(fd)
        }
    };
    match raw_create(&opts) {
        Ok(h) => Ok((h, false)),
        Err(e) if opts.btf_key_type_id != 0 || opts.btf_value_type_id != 0 => {
            crate::log::warn(format_args!(
                "Error in bpf_create_map_xattr({}): {e}. Retrying without BTF.",
                m.name
            ));
            opts.btf_fd = None;
            opts.btf_key_type_id = 0;
            opts.btf_value_type_id = 0;
            raw_create(&opts).map(|h| (h, false))
        }
        Err(e) => Err(e),
    }
}

/// Sets the initial contents of a global data map, freezes `.rodata`/`.kconfig`, and maps
/// mmapable ones into memory.
fn populate_internal(map: &mut Map) -> Result<()> {
    let Some(h) = &map.handle else { return Ok(()) };
    let name = map.spec.name.clone();
    h.update(
        &0u32.to_ne_bytes(),
        &map.spec.data,
        crate::map::MapFlags::ANY,
    )
    .with_context(|| format!("map '{name}': failed to set initial contents"))?;
    if matches!(map.spec.kind, MapKind::Rodata | MapKind::Kconfig) {
        h.freeze()
            .with_context(|| format!("map '{name}': failed to freeze as read-only"))?;
    }
    if map.spec.map_flags & objmaps::F_MMAPABLE != 0 {
        let writable = map.spec.map_flags & objmaps::F_RDONLY_PROG == 0;
        map.mmap = Some(
            h.mmap(writable)
                .with_context(|| format!("map '{name}': failed to re-mmap() contents"))?,
        );
    }
    Ok(())
}

fn init_map_in_map_slots(map: &Map, created: &[Map], specs: &[MapSpec]) -> Result<()> {
    let Some(h) = &map.handle else { return Ok(()) };
    for (slot, target) in map.spec.init_slots.iter().enumerate() {
        let Some(target) = target else { continue };
        let idx = specs.iter().position(|m| &m.name == target);
        let fd = idx
            .and_then(|i| created.get(i))
            .and_then(|m| m.handle.as_ref())
            .map(|t| t.as_fd().as_raw_fd())
            .ok_or_else(|| {
                Error::not_found(format!(
                    "map '{}': slot [{slot}] map '{target}' is not created",
                    map.spec.name
                ))
            })?;
        h.update(
            &(slot as u32).to_ne_bytes(),
            &fd.to_ne_bytes(),
            crate::map::MapFlags::ANY,
        )
        .with_context(|| {
            format!(
                "map '{}': failed to initialize slot [{slot}] to map '{target}' fd={fd}",
                map.spec.name
            )
        })?;
    }
    Ok(())
}

/// libbpf's `bpf_object__sanitize_prog`: on kernels without `bpf_probe_read_{kernel,user}[_str]`,
/// calls fall back to `bpf_probe_read[_str]`.
fn downgrade_probe_read(insns: &mut [u8]) {
    const PROBE_READ: i32 = 4;
    const PROBE_READ_STR: i32 = 45;
    for insn in insns.chunks_exact_mut(8) {
        if insn[0] != 0x85 || insn[1] != 0 {
            continue;
        }
        let imm = i32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]);
        let new = match imm {
            112 | 113 => PROBE_READ,
            114 | 115 => PROBE_READ_STR,
            _ => continue,
        };
        insn[4..8].copy_from_slice(&new.to_ne_bytes());
    }
}

/// libbpf's `bpf_map_prepare_vdata`: each struct_ops function pointer gets its program's fd.
fn fill_struct_ops_values(
    maps: &mut [Map],
    kern: &[Option<crate::obj::struct_ops::KernStructOps>],
    progs: &[Program],
) {
    for (m, k) in maps.iter_mut().zip(kern) {
        let Some(k) = k else { continue };
        let mut v = k.vdata.clone();
        for (pname, off) in &k.func_slots {
            let Some(h) = progs
                .iter()
                .find(|p| &p.name == pname)
                .and_then(|p| p.handle.as_ref())
            else {
                continue;
            };
            let fd = h.as_fd().as_raw_fd() as u64;
            if let Some(slot) = v.get_mut(*off..*off + 8) {
                slot.copy_from_slice(&fd.to_ne_bytes());
            }
        }
        m.struct_ops_value = Some(v);
    }
}

fn init_prog_array_slots(maps: &mut [Map], progs: &[Program]) -> Result<()> {
    for map in maps
        .iter()
        .filter(|m| m.spec.map_type == objmaps::MAP_TYPE_PROG_ARRAY)
    {
        let Some(h) = &map.handle else { continue };
        for (slot, target) in map.spec.init_slots.iter().enumerate() {
            let Some(target) = target else { continue };
            // As libbpf: a slot naming a program that was not loaded fails the load.
            let Some(ph) = progs
                .iter()
                .find(|p| &p.name == target)
                .and_then(|p| p.handle.as_ref())
            else {
                return Err(Error::from_errno("BPF_MAP_UPDATE_ELEM", libc::EBADF).context(format!(
                    "map '{}': failed to initialize slot [{slot}] to prog '{target}': program not loaded",
                    map.spec.name
                )));
            };
            let fd = ph.as_fd().as_raw_fd();
            h.update(
                &(slot as u32).to_ne_bytes(),
                &fd.to_ne_bytes(),
                crate::map::MapFlags::ANY,
            )
            .with_context(|| {
                format!(
                    "map '{}': failed to initialize slot [{slot}] to prog '{target}' fd={fd}",
                    map.spec.name
                )
            })?;
        }
    }
    Ok(())
}
