//! Target BTFs and candidate search: which target types may be the kernel's version of a local
//! type (same essential name, compatible kind), in vmlinux first and in module BTFs only when
//! vmlinux has none (libbpf's `bpf_core_find_cands` / `bpf_core_add_cands`).
//!
//! A [`TargetBtf`] is parsed once and shared (`Arc`) by every object loaded in the process; it
//! caches candidate lists per (essential name, kind), so the second object relocating
//! `task_struct` does no search at all. [`CoreTargets`] is the set one object relocates against:
//! vmlinux (or a custom BTF) plus module BTFs, loaded lazily on the first miss.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::compat::kind_core_compat;
use super::names::{essential_name, essential_name_len};
use crate::btf::{Btf, Kind, Type, TypeId, TypeKind};
use crate::error::{Error, Result};

/// Candidate ids per (essential name, kind class).
type CandCache = HashMap<(Box<str>, Kind), Arc<[TypeId]>>;

/// A target BTF (vmlinux, a module, or a custom file) with its CO-RE lookup caches.
pub struct TargetBtf {
    name: String,
    btf: Arc<Btf>,
    /// Essential name → ids of types whose own name carries a flavor (`foo___2`); built once.
    flavored: OnceLock<HashMap<Box<str>, Vec<TypeId>>>,
    /// (essential name, kind class) → candidate ids, in id order.
    cands: Mutex<CandCache>,
}

impl std::fmt::Debug for TargetBtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetBtf")
            .field("name", &self.name)
            .field("types", &self.btf.len())
            .finish_non_exhaustive()
    }
}

/// ENUM and ENUM64 are one class for candidate search.
fn kind_class(t: &Type) -> Kind {
    match t.kind {
        TypeKind::Enum64(_) => Kind::Enum,
        _ => t.btf_kind(),
    }
}

impl TargetBtf {
    /// Wraps a parsed BTF named `name` (`"vmlinux"`, a module name, or a file path).
    pub fn new(name: impl Into<String>, btf: Arc<Btf>) -> TargetBtf {
        TargetBtf {
            name: name.into(),
            btf,
            flavored: OnceLock::new(),
            cands: Mutex::new(HashMap::new()),
        }
    }

    /// Parses standalone BTF bytes (vmlinux, or a `btf_custom_path` file).
    pub fn parse(name: impl Into<String>, bytes: &[u8]) -> Result<TargetBtf> {
        let name = name.into();
        let btf = Btf::parse(bytes).map_err(|e| e.context(format!("target BTF '{name}'")))?;
        Ok(TargetBtf::new(name, Arc::new(btf)))
    }

    /// Parses a module's split BTF on top of `base` (vmlinux).
    pub fn parse_module(
        name: impl Into<String>,
        bytes: &[u8],
        base: &TargetBtf,
    ) -> Result<TargetBtf> {
        let name = name.into();
        let btf = Btf::parse_split(bytes, base.btf.clone())
            .map_err(|e| e.context(format!("module BTF '{name}'")))?;
        Ok(TargetBtf::new(name, Arc::new(btf)))
    }

    /// The process-wide `TargetBtf` for `btf` (the same `Arc`), so that every object relocating
    /// against one parsed BTF shares its candidate caches. An entry is dropped once nothing but
    /// this registry holds its BTF.
    pub fn shared(name: &str, btf: &Arc<Btf>) -> Arc<TargetBtf> {
        static REGISTRY: Mutex<Vec<Arc<TargetBtf>>> = Mutex::new(Vec::new());
        let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        reg.retain(|t| Arc::strong_count(&t.btf) > 1 || Arc::strong_count(t) > 1);
        if let Some(t) = reg.iter().find(|t| Arc::ptr_eq(&t.btf, btf)) {
            return t.clone();
        }
        let t = Arc::new(TargetBtf::new(name, btf.clone()));
        reg.push(t.clone());
        t
    }

    /// The name shown in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The BTF.
    pub fn btf(&self) -> &Arc<Btf> {
        &self.btf
    }

    /// Builds the name indexes now instead of on the first search.
    pub fn warm_up(&self) {
        self.btf.build_index();
        self.flavored();
    }

    fn flavored(&self) -> &HashMap<Box<str>, Vec<TypeId>> {
        self.flavored.get_or_init(|| {
            // Scan the string sections (a few MB, sequentially) for flavored names, then pick the
            // types whose name is one of them: much cheaper than decoding 100k+ type names.
            let btf = &*self.btf;
            let mut names: HashMap<u32, &str> = HashMap::new();
            let mut sections = vec![(
                btf.strings_end() - btf.strings().len() as u32,
                btf.strings(),
            )];
            if let Some(base) = btf.base() {
                sections.push((0, base.strings()));
            }
            for (start, bytes) in sections {
                // Every "___" in the section, then the string around it (once per string).
                let mut next_string = 0usize;
                for hit in memchr::memmem::find_iter(bytes, b"___") {
                    if hit < next_string {
                        continue;
                    }
                    let from = memchr::memrchr(0, &bytes[..hit]).map_or(0, |p| p + 1);
                    let to = memchr::memchr(0, &bytes[hit..]).map_or(bytes.len(), |p| hit + p);
                    next_string = to + 1;
                    if let Ok(name) = std::str::from_utf8(&bytes[from..to]) {
                        if essential_name_len(name) < name.len() {
                            names.insert(start + from as u32, name);
                        }
                    }
                }
            }
            let mut map: HashMap<Box<str>, Vec<TypeId>> = HashMap::new();
            if names.is_empty() {
                return map;
            }
            for (id, t) in btf.types() {
                if let Some(name) = names.get(&t.name_off) {
                    map.entry(essential_name(name).into()).or_default().push(id);
                }
            }
            map
        })
    }

    /// The ids of this BTF's own types that are candidates for a local type `local_t` whose
    /// essential name is `essential`: same essential name, same kind (ENUM ~ ENUM64), in id order.
    pub fn candidates(&self, essential: &str, local_t: &Type) -> Arc<[TypeId]> {
        let key = (Box::<str>::from(essential), kind_class(local_t));
        if let Some(c) = self
            .cands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return c.clone();
        }
        let btf = &*self.btf;
        let exact = btf.ids_by_name(essential).iter().copied().filter(|&id| {
            btf.name_of(id)
                .is_ok_and(|n| essential_name(n) == essential)
        });
        let flavored = self
            .flavored()
            .get(essential)
            .into_iter()
            .flatten()
            .copied();
        let mut ids: Vec<TypeId> = exact
            .chain(flavored)
            .filter(|&id| {
                btf.type_by_id(id)
                    .is_ok_and(|t| kind_core_compat(&t, local_t))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let ids: Arc<[TypeId]> = ids.into();
        self.cands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, ids.clone());
        ids
    }
}

/// One candidate: a type of one target BTF.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The BTF holding it.
    pub target: &'a TargetBtf,
    /// Its id there.
    pub id: TypeId,
}

type ModuleLoader = Box<dyn Fn() -> Result<Vec<Arc<TargetBtf>>> + Send + Sync>;

/// What one object's CO-RE relocations resolve against: the kernel's BTF (or a custom BTF, which
/// disables module search, like libbpf's `btf_custom_path`) and the module BTFs.
pub struct CoreTargets {
    main: Arc<TargetBtf>,
    custom: bool,
    modules: OnceLock<Vec<Arc<TargetBtf>>>,
    module_loader: Option<ModuleLoader>,
}

impl std::fmt::Debug for CoreTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreTargets")
            .field("main", &self.main)
            .field("custom", &self.custom)
            .field("modules", &self.modules.get().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl CoreTargets {
    /// Relocate against the kernel's `vmlinux` BTF (module BTFs: see [`with_modules`](Self::with_modules)).
    pub fn new(vmlinux: Arc<TargetBtf>) -> CoreTargets {
        CoreTargets {
            main: vmlinux,
            custom: false,
            modules: OnceLock::new(),
            module_loader: None,
        }
    }

    /// Relocate against a custom BTF only (libbpf's `btf_custom_path`): module BTFs are never searched.
    pub fn custom(btf: Arc<TargetBtf>) -> CoreTargets {
        CoreTargets {
            custom: true,
            ..CoreTargets::new(btf)
        }
    }

    /// Adds module BTFs, searched in this order when vmlinux has no candidate.
    pub fn with_modules(self, modules: Vec<Arc<TargetBtf>>) -> CoreTargets {
        let _ = self.modules.set(modules);
        self
    }

    /// Adds a loader called the first time a type is missing from vmlinux (libbpf loads module BTFs
    /// only then, too). An error from it fails that relocation and is retried next time.
    pub fn with_module_loader(
        mut self,
        load: impl Fn() -> Result<Vec<Arc<TargetBtf>>> + Send + Sync + 'static,
    ) -> CoreTargets {
        self.module_loader = Some(Box::new(load));
        self
    }

    /// The main target (vmlinux or the custom BTF).
    pub fn main(&self) -> &Arc<TargetBtf> {
        &self.main
    }

    fn modules(&self) -> Result<&[Arc<TargetBtf>]> {
        if let Some(m) = self.modules.get() {
            return Ok(m);
        }
        let Some(load) = &self.module_loader else {
            return Ok(&[]);
        };
        let loaded = load().map_err(|e| e.context("load kernel module BTFs"))?;
        Ok(self.modules.get_or_init(|| loaded))
    }

    /// The candidates for local type `local_id`: vmlinux's, or when it has none (and the target is
    /// not custom) every module's, in module order.
    pub fn find_candidates(&self, local: &Btf, local_id: TypeId) -> Result<Vec<Candidate<'_>>> {
        let local_t = local.type_by_id(local_id)?;
        let name = local.str_at(local_t.name_off)?;
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "CO-RE: no candidate search for anonymous type [{local_id}]"
            )));
        }
        let ess = essential_name(name);
        let mut out: Vec<Candidate<'_>> = self
            .main
            .candidates(ess, &local_t)
            .iter()
            .map(|&id| Candidate {
                target: &self.main,
                id,
            })
            .collect();
        if !out.is_empty() || self.custom {
            return Ok(out);
        }
        for m in self.modules()? {
            out.extend(
                m.candidates(ess, &local_t)
                    .iter()
                    .map(|&id| Candidate { target: m, id }),
            );
        }
        Ok(out)
    }
}
