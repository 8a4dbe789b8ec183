//! Runtime support for generated skeletons (`oxbpf gen skeleton`, `oxbpf_gen::SkeletonBuilder`).
//!
//! A skeleton embeds an object's bytes and wraps the ordinary lifecycle with named, typed accessors:
//! [`OpenSkel`] holds the [`OpenObject`] plus an aligned copy of every global data section
//! (`.rodata`, `.data`, `.bss`, custom `.data.*`/`.rodata.*`/`.bss.*`), so the generated code can hand
//! out `&mut` views of them as `#[repr(C)]` structs before load; [`OpenSkel::load`] writes the
//! sections back as the maps' initial values and loads. [`Skel`] holds the loaded [`Object`] and the
//! links made by [`Skel::attach`]; after load the sections are viewed through their mmapped maps.
//!
//! Generated types implement [`bytemuck::Pod`] (the generator makes every padding byte an explicit
//! field and asserts sizes and offsets at compile time), so every view here is a checked cast.

use crate::error::{Error, Result, ResultExt};
use crate::link::Link;
use crate::obj::maps::F_MMAPABLE;
use crate::obj::MapKind;
use crate::obj::{MapSpec, ObjectSpec, OpenOptions, ProgramSpec};
use crate::object::{Map, Program};
use crate::sys::mmap::Mmap;
use crate::{Object, OpenObject};

pub use bytemuck;

pub mod bitfield;

/// Bytes stored with 8-byte alignment (ELF images and global data sections cast to structs).
#[derive(Debug, Clone)]
struct Aligned {
    words: Vec<u64>,
    len: usize,
}

impl Aligned {
    fn new(bytes: &[u8]) -> Aligned {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Aligned {
            words,
            len: bytes.len(),
        }
    }
    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[..self.len]
    }
    /// The bytes up to the next multiple of 8 (a section struct's tail padding is in range).
    fn padded(&self) -> &[u8] {
        bytemuck::cast_slice::<u64, u8>(&self.words)
    }
    fn padded_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut::<u64, u8>(&mut self.words)
    }
}

/// The first `size_of::<T>()` bytes of `bytes` as a `T`.
fn view<'a, T: bytemuck::Pod>(bytes: &'a [u8], what: &str) -> Result<&'a T> {
    let n = std::mem::size_of::<T>();
    let b = bytes.get(..n).ok_or_else(|| {
        Error::invalid(format!(
            "{what}: {} bytes, the skeleton's type needs {n}",
            bytes.len()
        ))
    })?;
    bytemuck::try_from_bytes(b).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

/// [`view`], mutably.
fn view_mut<'a, T: bytemuck::Pod>(bytes: &'a mut [u8], what: &str) -> Result<&'a mut T> {
    let n = std::mem::size_of::<T>();
    let len = bytes.len();
    let b = bytes.get_mut(..n).ok_or_else(|| {
        Error::invalid(format!(
            "{what}: {len} bytes, the skeleton's type needs {n}"
        ))
    })?;
    bytemuck::try_from_bytes_mut(b).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

/// An opened skeleton: the object plus aligned, writable copies of its global data sections.
#[derive(Debug)]
pub struct OpenSkel {
    obj: OpenObject,
    /// (section name, initial contents) of every global data map.
    sections: Vec<(String, Aligned)>,
}

impl OpenSkel {
    /// Opens the embedded object `data` under object name `name`.
    pub fn open(name: &str, data: &[u8]) -> Result<OpenSkel> {
        Self::open_with(name, data, &OpenOptions::default())
    }

    /// Opens the embedded object `data` under object name `name` with options.
    pub fn open_with(name: &str, data: &[u8], opts: &OpenOptions) -> Result<OpenSkel> {
        // The ELF reader wants its headers aligned; embedded bytes are only byte-aligned.
        let image = Aligned::new(data);
        let obj = Object::open_memory_with(name, image.bytes(), opts)?;
        Ok(OpenSkel::from_open_object(obj))
    }

    /// Wraps an already opened object (for example opened with options).
    pub fn from_open_object(obj: OpenObject) -> OpenSkel {
        let sections = obj
            .spec()
            .maps
            .iter()
            .filter(|m| m.kind.is_internal())
            .map(|m| (m.real_name.clone(), Aligned::new(&m.data)))
            .collect();
        OpenSkel { obj, sections }
    }

    /// The opened object.
    pub fn object(&self) -> &OpenObject {
        &self.obj
    }

    /// The opened object, to adjust (autoload, map sizes, attach targets, ...).
    pub fn object_mut(&mut self) -> &mut OpenObject {
        &mut self.obj
    }

    fn section_bytes(&self, section: &str) -> Result<&[u8]> {
        self.sections
            .iter()
            .find(|s| s.0 == section)
            .map(|s| s.1.padded())
            .ok_or_else(|| Error::not_found(format!("no global data section '{section}'")))
    }

    /// The initial contents of global data section `section` (`.rodata`, `.data.foo`, ...) as `T`.
    pub fn section<T: bytemuck::Pod>(&self, section: &str) -> Result<&T> {
        view(self.section_bytes(section)?, section)
    }

    /// The initial contents of `section` as a mutable `T`: what is written here is what the
    /// programs see after [`load`](OpenSkel::load) (for `.rodata`, what the verifier sees).
    pub fn section_mut<T: bytemuck::Pod>(&mut self, section: &str) -> Result<&mut T> {
        let s = self
            .sections
            .iter_mut()
            .find(|s| s.0 == section)
            .ok_or_else(|| Error::not_found(format!("no global data section '{section}'")))?;
        view_mut(s.1.padded_mut(), section)
    }

    /// Mutable references to the maps named in `names` (user maps by name, global data maps by
    /// section name), in that order; `None` for a name the object lacks.
    pub fn maps_mut<'a>(&'a mut self, names: &[&str]) -> Vec<Option<&'a mut MapSpec>> {
        let mut slots: Vec<Option<&'a mut MapSpec>> = names.iter().map(|_| None).collect();
        for m in self.obj.spec_mut().maps.iter_mut() {
            let key = map_key(m);
            if let Some(i) = names.iter().position(|n| *n == key) {
                slots[i] = Some(m);
            }
        }
        slots
    }

    /// Mutable references to the entry programs named in `names`, in that order.
    pub fn progs_mut<'a>(&'a mut self, names: &[&str]) -> Vec<Option<&'a mut ProgramSpec>> {
        let mut slots: Vec<Option<&'a mut ProgramSpec>> = names.iter().map(|_| None).collect();
        let spec: &'a mut ObjectSpec = self.obj.spec_mut();
        for p in spec.programs.iter_mut().filter(|p| !p.is_subprog) {
            if let Some(i) = names.iter().position(|n| *n == p.name) {
                slots[i] = Some(p);
            }
        }
        slots
    }

    /// Writes the sections back as initial values and loads the object.
    pub fn load(mut self) -> Result<Skel> {
        for (section, data) in &self.sections {
            let Some(m) = self
                .obj
                .spec_mut()
                .maps
                .iter_mut()
                .find(|m| m.kind.is_internal() && m.real_name == *section)
            else {
                continue;
            };
            // A map resized after open keeps its own contents.
            if m.data.len() == data.len {
                m.data.copy_from_slice(data.bytes());
            }
        }
        let obj = self.obj.load()?;
        // The skeleton's own mappings of the global data maps: they cover the section rounded up
        // to 8 bytes, as the generated structs do (their tail padding is explicit).
        let mut sections = Vec::new();
        for m in obj.maps() {
            let spec = m.spec();
            if !matches!(spec.kind, MapKind::Data | MapKind::Bss | MapKind::Rodata) {
                continue;
            }
            let Some(h) = m.handle() else { continue };
            if spec.map_flags & F_MMAPABLE == 0 {
                continue;
            }
            let writable = spec.kind != MapKind::Rodata;
            let mmap = h
                .mmap(writable)
                .with_context(|| format!("skeleton: mapping '{}'", spec.real_name))?;
            let len = (spec.value_size as usize).next_multiple_of(8);
            sections.push((spec.real_name.clone(), mmap, len));
        }
        Ok(Skel {
            obj,
            links: Vec::new(),
            sections,
        })
    }
}

/// The name a skeleton uses for a map: global data maps go by their section, others by name.
pub fn map_key(m: &MapSpec) -> &str {
    if m.kind.is_internal() {
        &m.real_name
    } else {
        &m.name
    }
}

/// A loaded skeleton: the object and the links [`attach`](Skel::attach) made.
#[derive(Debug)]
pub struct Skel {
    obj: Object,
    links: Vec<(String, Link)>,
    /// (section, mapping, bytes viewable) of every mmapable global data map.
    sections: Vec<(String, Mmap, usize)>,
}

impl Skel {
    /// The loaded object.
    pub fn object(&self) -> &Object {
        &self.obj
    }

    /// The loaded object, mutably.
    pub fn object_mut(&mut self) -> &mut Object {
        &mut self.obj
    }

    /// The map a skeleton calls `name` (see [`map_key`]).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.obj.maps().iter().find(|m| map_key(m.spec()) == name)
    }

    /// The entry program `name`.
    pub fn prog(&self, name: &str) -> Option<&Program> {
        self.obj.program(name)
    }

    /// Global data section `section` as `T`, read through its mmapped map (live: what the
    /// programs wrote is visible).
    pub fn section<T: bytemuck::Pod>(&self, section: &str) -> Result<&T> {
        let (_, m, len) = self
            .sections
            .iter()
            .find(|s| s.0 == section)
            .ok_or_else(|| {
                Error::not_found(format!("no mmapped global data section '{section}'"))
            })?;
        view(&m.as_slice()[..(*len).min(m.len())], section)
    }

    /// Global data section `section` as a mutable `T` through its writable mapping (not for
    /// `.rodata*`, which is frozen after load).
    pub fn section_mut<T: bytemuck::Pod>(&mut self, section: &str) -> Result<&mut T> {
        let (_, m, len) = self
            .sections
            .iter_mut()
            .find(|s| s.0 == section)
            .ok_or_else(|| {
                Error::not_found(format!("no mmapped global data section '{section}'"))
            })?;
        let len = *len;
        let bytes = m
            .as_mut_slice()
            .with_context(|| format!("section '{section}'"))?;
        let n = len.min(bytes.len());
        view_mut(&mut bytes[..n], section)
    }

    /// Attaches every program that can be attached from its `SEC()` name (libbpf's
    /// `<name>__attach`); the links are kept until [`detach`](Skel::detach) or drop.
    pub fn attach(&mut self) -> Result<()> {
        let links = self.obj.attach_all()?;
        self.links.extend(links);
        Ok(())
    }

    /// Attaches one program from its `SEC()` name and keeps the link.
    pub fn attach_prog(&mut self, name: &str) -> Result<()> {
        let link = self.obj.attach_program(name)?;
        self.links.retain(|l| l.0 != name);
        self.links.push((name.to_string(), link));
        Ok(())
    }

    /// Keeps a link made elsewhere (e.g. by a manual attach with options) for program `name`.
    pub fn keep_link(&mut self, name: &str, link: Link) {
        self.links.push((name.to_string(), link));
    }

    /// The link of program `name`, when attached.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.0 == name).map(|l| &l.1)
    }

    /// Every link held, with its program's name.
    pub fn links(&self) -> &[(String, Link)] {
        &self.links
    }

    /// Drops every link (detaching the programs); the object stays loaded.
    pub fn detach(&mut self) {
        self.links.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_copies_bytes_and_aligns() {
        let a = Aligned::new(&[1, 2, 3, 4, 5]);
        assert_eq!(a.bytes(), &[1, 2, 3, 4, 5]);
        assert_eq!(a.bytes().as_ptr() as usize % 8, 0);
        let v: &u32 = view(a.bytes(), "t").unwrap();
        assert_eq!(*v, u32::from_ne_bytes([1, 2, 3, 4]));
        assert!(view::<u64>(a.bytes(), "t").is_err());
    }
}
