//! The load pipeline (libbpf's `bpf_object_prepare` + `bpf_object_load`): externs, struct_ops
//! layout, CO-RE, subprogram linking, BTF upload, maps, data relocations, program loads.

mod attach_btf;

use super::create::{
    create_map, fill_struct_ops_values, init_map_in_map_slots, init_prog_array_slots,
    populate_internal,
};
use super::func_info::{self, LoadExtInfo};
use super::{resolve, verifier, Map, Object, OpenObject, Program};
use crate::btf::BtfFeatures;
use crate::btf::{Btf, Linkage, TypeKind, TypeKindBuf};
use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::insn::Insn;
use crate::kernel::features::{self, Feature};

use crate::obj::maps::{self as objmaps, MapKind};
use crate::obj::programs::ProgramSpec;
use crate::obj::sections::{self, SecFlags};
use crate::program::load_with_growing_log;
use crate::program::ProgramHandle;
use crate::reloc::calls::{self, CallCtx, LinkedProgram};
use crate::reloc::core::{
    fixup_verifier_log, poisoned_insn_in_log, CoreOutcome, CoreRelocator, CoreTargets, TargetBtf,
};
use crate::reloc::data::{self, DataCtx, ExternValue};
use crate::sys::bpf::{self as sysbpf, ProgLoadOpts};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

/// `BPF_F_SLEEPABLE`.
const F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
const F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// Everything the load pipeline carries between steps.
pub(super) struct Loader {
    open: OpenObject,
    /// Module BTF fds this load refers to (kfuncs, ksyms, attach targets in modules).
    mods: resolve::ModuleFds,
    vmlinux: Option<Arc<Btf>>,
    /// What each CO-RE relocation did, per function (index into the spec's programs).
    core: Vec<Vec<CoreOutcome>>,
    /// Pins made by this load, removed again if the load fails.
    pinned: Vec<PathBuf>,
}

impl Loader {
    pub(super) fn new(open: OpenObject) -> Self {
        Loader {
            open,
            mods: resolve::ModuleFds::default(),
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

    pub(super) fn run(mut self) -> Result<Object> {
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
        let mut linked = self.link_programs()?;
        // `__arg_ctx` arguments retyped for verifiers that don't know the tag (before the BTF
        // goes up: the copies are added to it).
        func_info::fixup_func_info(&mut self.open.spec, &mut linked)?;
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
            modules: &crate::kernel::module_btf::module_btfs,
        };
        let r = resolve::resolve_externs(&spec.externs, &mut kcfg, &host, &mut self.mods);
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
            CoreTargets::new(vmlinux).with_module_loader(|| {
                Ok(crate::kernel::module_btf::module_btfs()?
                    .iter()
                    .map(|m| TargetBtf::shared(&m.name, &m.btf))
                    .collect())
            })
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
            Some(ext) => func_info::ext_sections(spec, ext),
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
                        && btf.type_name(*t).ok() == Some(name.as_str())
                })
                .map(|(id, _)| id);
            if let Some(id) = id {
                let _ = btf.update_type(id, |t| {
                    if let TypeKindBuf::Func(f) = &mut t.kind {
                        f.linkage = Linkage::Static;
                    }
                });
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
                    log: None,
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
            let (handle, expected_attach_type, log) =
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
                log,
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
    ) -> Result<(ProgramHandle, u32, Option<String>)> {
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
            expected_attach_type = sections::attach_type::TRACE_UPROBE_MULTI;
        }
        let attach = self.attach_btf(p, flags, expected_attach_type)?;
        let ext_info = LoadExtInfo::for_load(l, btf_fd.is_some());
        let prog_name = features::kernel_supports(Feature::ProgName).then_some(name.as_str());
        let fd_array = self.mods.fd_array();
        let opts = ProgLoadOpts {
            attach_btf_obj_fd: attach.obj.and_then(|id| self.mods.get(id)),
            attach_prog_fd: attach.prog.as_ref().map(|f| f.as_fd()),
            fd_array: &fd_array,
            expected_attach_type,
            prog_btf_fd: btf_fd.map(|f| f.as_fd()),
            prog_flags,
            kern_version,
            attach_btf_id: attach.id,
            func_info: ext_info.func_info,
            func_info_rec_size: ext_info.func_info_rec_size,
            line_info: ext_info.line_info,
            line_info_rec_size: ext_info.line_info_rec_size,
            ..Default::default()
        };
        let license = &self.open.spec.license;
        let level = self.open.log_level | p.log_level;
        let mut kept_log = None;
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
                            kept_log = Some(log);
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
        Ok((ProgramHandle::from_fd(fd)?, expected_attach_type, kept_log))
    }
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
