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

mod create;
mod file;
mod func_info;
mod load;
mod resolve;
pub mod verifier;

use crate::error::{Error, Result, ResultExt};
use crate::insn::Insn;
use crate::map::MapHandle;
use crate::obj::maps as objmaps;
use crate::obj::programs::ProgramSpec;
use crate::obj::sections;
use crate::obj::{MapSpec, ObjectSpec, OpenOptions};
use crate::program::{ProgramHandle, ProgramInfo};
use crate::sys::mmap::Mmap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// freplace targets: program name → the loaded program whose function it replaces.
    attach_progs: Vec<(String, Arc<OwnedFd>)>,
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
    log: Option<String>,
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
        let data = file::read_object_file(path)
            .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        let name = crate::obj::object_name_from_path(path);
        let spec = ObjectSpec::parse_owned(data, &name, opts)
            .with_context(|| format!("object '{}'", path.display()))?;
        Ok(OpenObject {
            spec,
            path: Some(path.to_path_buf()),
            kconfig: None,
            btf_custom_path: None,
            log_level: 0,
            reused: Vec::new(),
            attach_progs: Vec::new(),
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
            attach_progs: Vec::new(),
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
    /// The verifier log of a successful load made with a log level (see `ProgramSpec::log_level`).
    pub fn log(&self) -> Option<&str> {
        self.log.as_deref()
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
    /// Makes `prog` (an `freplace` program) replace function `func` of the loaded program `target`
    /// (libbpf's `bpf_program__set_attach_target` with a target program fd). The function's BTF id
    /// is looked up in the target program's BTF at load time.
    pub fn set_attach_target_prog(
        &mut self,
        prog: &str,
        target: std::os::fd::BorrowedFd<'_>,
        func: &str,
    ) -> Result<()> {
        self.set_attach_target(prog, func)?;
        let fd = target
            .try_clone_to_owned()
            .map_err(|e| Error::io("dup the target program fd", e))?;
        self.attach_progs.retain(|(n, _)| n != prog);
        self.attach_progs.push((prog.to_string(), Arc::new(fd)));
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
    /// The initial contents of global data map `name` (`.data`, `.rodata`, `.bss`, `.data.*`
    /// sections), to read or change before load: what the skeleton's `rodata`/`bss` pointers
    /// give in C. `None` for a map that is not global data.
    pub fn initial_value_mut(&mut self, name: &str) -> Option<&mut [u8]> {
        self.map_mut(name)
            .filter(|m| m.kind.is_internal())
            .map(|m| m.data.as_mut_slice())
    }
    /// The initial contents of global data map `name` as a `T` (a `#[repr(C)]` mirror of the
    /// section's variables, as bpftool's skeleton declares it). Fails when the section is smaller
    /// than `T` or not aligned for it.
    pub fn initial_value_as<T: bytemuck::Pod>(&mut self, name: &str) -> Result<&mut T> {
        let data = self
            .initial_value_mut(name)
            .ok_or_else(|| Error::not_found(format!("no global data map '{name}'")))?;
        let n = std::mem::size_of::<T>();
        let head = data.get_mut(..n).ok_or_else(|| {
            Error::invalid(format!("map '{name}': {n}-byte view of a smaller section"))
        })?;
        bytemuck::try_from_bytes_mut(head).map_err(|e| Error::invalid(format!("map '{name}': {e}")))
    }
    /// Sets the value size of map `name` (libbpf's `bpf_map__set_value_size`). A global data map
    /// keeps its initial contents (cut or zero-extended) and its BTF DATASEC in step, growing or
    /// shrinking the array the section ends with; see [`ObjectSpec::set_map_value_size`].
    pub fn set_value_size(&mut self, name: &str, size: u32) -> Result<()> {
        if self.reused.iter().any(|(n, _)| n == name) {
            return Err(Error::new(
                crate::error::ErrorKind::Busy,
                format!("map '{name}': reused map cannot be resized"),
            ));
        }
        self.spec.set_map_value_size(name, size)
    }

    /// Loads the object: maps, relocations, programs. Every kernel object made on the way is
    /// released if any step fails.
    pub fn load(self) -> Result<Object> {
        let label = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| self.spec.name.clone());
        load::Loader::new(self)
            .run()
            .with_context(|| format!("object '{label}'"))
    }
}
