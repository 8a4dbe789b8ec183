//! BTF → compilable C declarations (`vmlinux.h`), with the same output as libbpf's `btf_dump` (and so
//! `bpftool btf dump file ... format c`).
//!
//! Two passes per requested type: order (a depth-first topological sort that tells "strong" links,
//! where the dependency must be fully defined first, from "weak" ones through pointers, which a forward
//! declaration satisfies), then emit the queued named definitions, forward-declaring what is referenced
//! before it is defined. Declarators are built from a stack of the chain's types because C writes
//! pointers, arrays and function prototypes inside-out.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;

use super::index::FastHasher;
use super::types::*;
use super::Btf;
use crate::error::{Error, Result};

mod decl;
mod order;

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Deepest type chain (or nesting of inline definitions) the dumper follows before calling it a loop.
const MAX_DEPTH: usize = 512;

const ORDERING: u8 = 1;
const ORDERED: u8 = 2;

const NOT_EMITTED: u8 = 0;
const EMITTING: u8 = 1;
const EMITTED: u8 = 2;

/// The largest gap between members (in bits, 2 MiB) the dumper fills with padding fields.
const MAX_PADDING_BITS: i64 = 1 << 24;

/// The most padding (in bits, 8 MiB) one dumper fills in over all the structs it emits. The running
/// kernel's vmlinux needs about 330 000 bits; without a total, hostile BTF with many members each
/// just under [`MAX_PADDING_BITS`] apart turns a few KiB into gigabytes of filler lines.
const PADDING_BUDGET_BITS: i64 = 1 << 26;

/// The most C text (128 MiB) one dumper produces. Anonymous structs and unions are written out
/// inline at every use, so BTF nesting anonymous types two uses deep, level after level, asks for
/// output exponential in its size; the running kernel's whole vmlinux.h is about 3 MiB.
const MAX_OUTPUT_BYTES: usize = 1 << 27;

const TABS: &str = "\t\t\t\t\t\t\t\t\t\t\t\t\t";

fn pfx(lvl: usize) -> &'static str {
    &TABS[..lvl.min(TABS.len())]
}

fn too_deep(id: TypeId) -> Error {
    Error::malformed(format!(
        "BTF type [{id}]: type chain deeper than {MAX_DEPTH} while dumping C (type loop?)"
    ))
}

/// Per-type dumper state packed in one byte (vmlinux has 126k types): order state (2 bits), emit
/// state (2 bits) and three flags.
#[derive(Default, Clone, Copy)]
struct State(u8);

const FWD_EMITTED: u8 = 1 << 4;
const NAME_RESOLVED: u8 = 1 << 5;
const REFERENCED: u8 = 1 << 6;

impl State {
    fn order(self) -> u8 {
        self.0 & 3
    }
    fn set_order(&mut self, v: u8) {
        self.0 = (self.0 & !3) | v;
    }
    fn emit(self) -> u8 {
        (self.0 >> 2) & 3
    }
    fn set_emit(&mut self, v: u8) {
        self.0 = (self.0 & !(3 << 2)) | (v << 2);
    }
    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
    fn set(&mut self, flag: u8) {
        self.0 |= flag;
    }
}

/// Dumps BTF types as C declarations into a string buffer; state persists across calls, so a type
/// (and its dependencies) is defined only once however many times it is requested
/// (libbpf's `btf_dump`).
pub struct CDumper<'a> {
    btf: &'a Btf,
    out: String,
    ptr_bits: i64,
    states: Vec<State>,
    cached_names: FastMap<TypeId, String>,
    emit_queue: Vec<TypeId>,
    decl_stack: Vec<TypeId>,
    type_names: FastMap<&'a str, usize>,
    ident_names: FastMap<&'a str, usize>,
    /// Memoized alignments (`u8::MAX` = not computed yet; alignments are at most 8).
    aligns: Vec<u8>,
    /// Padding bits this dumper may still emit ([`PADDING_BUDGET_BITS`]).
    padding_left: i64,
    /// The most bytes of C this dumper writes ([`MAX_OUTPUT_BYTES`] unless set).
    max_output: usize,
}

impl<'a> CDumper<'a> {
    /// A dumper over `btf` (and its base, for split BTF).
    pub fn new(btf: &'a Btf) -> CDumper<'a> {
        let n = btf.len();
        let mut states = vec![State::default(); n];
        states[0].set_order(ORDERED);
        states[0].set_emit(EMITTED);
        let mut mark = |id: TypeId| {
            if let Some(s) = states.get_mut(id as usize) {
                s.set(REFERENCED);
            }
        };
        for (_, t) in btf.all_types() {
            match &t.kind {
                TypeKind::Array(a) => {
                    mark(a.index_type);
                    mark(a.elem_type);
                }
                TypeKind::Struct(c) | TypeKind::Union(c) => {
                    c.members.iter().for_each(|m| mark(m.type_id))
                }
                TypeKind::FuncProto(p) => p.params.iter().for_each(|p| mark(p.type_id)),
                TypeKind::Datasec(d) => d.vars.iter().for_each(|v| mark(v.type_id)),
                _ => {
                    if let Some(t) = t.target() {
                        mark(t);
                    }
                }
            }
        }
        CDumper {
            btf,
            out: String::with_capacity(1 << 16),
            ptr_bits: btf.pointer_size() as i64 * 8,
            states,
            cached_names: FastMap::default(),
            emit_queue: Vec::new(),
            decl_stack: Vec::new(),
            type_names: FastMap::default(),
            ident_names: FastMap::default(),
            aligns: vec![u8::MAX; n],
            padding_left: PADDING_BUDGET_BITS,
            max_output: MAX_OUTPUT_BYTES,
        }
    }

    /// Limits the C text this dumper writes to about `bytes` (128 MiB by default): past it,
    /// [`CDumper::dump_type`] fails instead of writing on.
    pub fn set_output_limit(&mut self, bytes: usize) {
        self.max_output = bytes;
    }

    /// The text emitted so far.
    pub fn output(&self) -> &str {
        &self.out
    }

    /// Takes the text emitted so far, leaving the buffer empty (the dumper keeps its state).
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// Emits type `id` as C with every definition it needs that was not emitted before
    /// (`btf_dump__dump_type`). Modifiers, pointers, functions and variables emit only their
    /// dependencies.
    pub fn dump_type(&mut self, id: TypeId) -> Result<()> {
        if id as usize >= self.btf.len() {
            return Err(Error::invalid(format!("BTF type id {id} out of range")));
        }
        self.emit_queue.clear();
        self.order_type(id, false, 0)?;
        let queue = std::mem::take(&mut self.emit_queue);
        for &q in &queue {
            self.emit_type(q, 0, 0)?;
        }
        self.emit_queue = queue;
        Ok(())
    }

    /// Emits the declaration of something of type `id` named `field_name` (e.g. `int (*cb)(void *)`),
    /// at indent level `lvl` (`btf_dump__emit_type_decl`).
    pub fn emit_type_decl(&mut self, id: TypeId, field_name: &str, lvl: usize) -> Result<()> {
        if id as usize >= self.btf.len() {
            return Err(Error::invalid(format!("BTF type id {id} out of range")));
        }
        self.type_decl(id, field_name, lvl, 0)
    }

    fn ty(&self, id: TypeId) -> Result<Type<'a>> {
        self.btf.type_by_id(id)
    }

    fn name(&self, off: u32) -> &'a str {
        self.btf.str_at(off).unwrap_or("")
    }

    fn state(&mut self, id: TypeId) -> &mut State {
        // Ids were validated at parse time; the fallback only guards hand-edited tables.
        let idx = (id as usize).min(self.states.len() - 1);
        &mut self.states[idx]
    }

    fn is_blacklisted(&self, t: Type<'a>) -> bool {
        t.name_off != 0 && self.name(t.name_off) == "__builtin_va_list"
    }

    /// Emission pass for `id`, referenced from inside `cont_id` (0 at top level).
    fn emit_type(&mut self, id: TypeId, cont_id: TypeId, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let st = *self.state(id);
        if st.emit() == EMITTED {
            return Ok(());
        }
        let t = self.ty(id)?;
        let d = depth + 1;
        if st.emit() == EMITTING {
            if st.has(FWD_EMITTED) {
                return Ok(());
            }
            match &t.kind {
                TypeKind::Struct(_) | TypeKind::Union(_) => {
                    if id == cont_id || t.name_off == 0 {
                        return Ok(());
                    }
                    self.struct_fwd(id, t);
                    self.out.push_str(";\n\n");
                    self.state(id).set(FWD_EMITTED);
                }
                TypeKind::Typedef(_) => {
                    if !self.is_blacklisted(t) {
                        self.typedef_def(id, t, 0, d)?;
                        self.out.push_str(";\n\n");
                    }
                    self.state(id).set(FWD_EMITTED);
                }
                _ => {}
            }
            return Ok(());
        }
        let top_level = cont_id == 0;
        match &t.kind {
            TypeKind::Int(_) => {
                self.missing_aliases(id);
                self.state(id).set_emit(EMITTED);
            }
            TypeKind::Enum(_) | TypeKind::Enum64(_) => {
                if top_level {
                    self.enum_def(id, t, 0);
                    self.out.push_str(";\n\n");
                }
                self.state(id).set_emit(EMITTED);
            }
            TypeKind::Ptr(n)
            | TypeKind::Volatile(n)
            | TypeKind::Const(n)
            | TypeKind::Restrict(n) => self.emit_type(*n, cont_id, d)?,
            TypeKind::TypeTag(tt) => self.emit_type(tt.target, cont_id, d)?,
            TypeKind::Array(a) => self.emit_type(a.elem_type, cont_id, d)?,
            TypeKind::Fwd(_) => {
                self.fwd_def(id, t);
                self.out.push_str(";\n\n");
                self.state(id).set_emit(EMITTED);
            }
            TypeKind::Typedef(target) => {
                self.state(id).set_emit(EMITTING);
                self.emit_type(*target, id, d)?;
                if !self.state(id).has(FWD_EMITTED) && !self.is_blacklisted(t) {
                    self.typedef_def(id, t, 0, d)?;
                    self.out.push_str(";\n\n");
                }
                self.state(id).set_emit(EMITTED);
            }
            TypeKind::Struct(c) | TypeKind::Union(c) => {
                self.state(id).set_emit(EMITTING);
                if top_level || t.name_off == 0 {
                    let new_cont = if t.name_off == 0 { cont_id } else { id };
                    for m in &c.members {
                        self.emit_type(m.type_id, new_cont, d)?;
                    }
                } else if !self.state(id).has(FWD_EMITTED) && id != cont_id {
                    self.struct_fwd(id, t);
                    self.out.push_str(";\n\n");
                    self.state(id).set(FWD_EMITTED);
                }
                if top_level {
                    self.struct_def(id, t, 0, d)?;
                    self.out.push_str(";\n\n");
                    self.state(id).set_emit(EMITTED);
                } else {
                    self.state(id).set_emit(NOT_EMITTED);
                }
            }
            TypeKind::FuncProto(p) => {
                self.emit_type(p.ret, cont_id, d)?;
                for prm in &p.params {
                    self.emit_type(prm.type_id, cont_id, d)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn missing_aliases(&mut self, id: TypeId) {
        const ALIASES: [(&str, &str); 4] = [
            ("__Poly8_t", "unsigned char"),
            ("__Poly16_t", "unsigned short"),
            ("__Poly64_t", "unsigned long long"),
            ("__Poly128_t", "unsigned __int128"),
        ];
        let name = self.type_name(id);
        if let Some((n, base)) = ALIASES.iter().find(|(n, _)| *n == name) {
            let _ = write!(self.out, "typedef {base} {n};\n\n");
        }
    }

    fn name_dups(map: &mut FastMap<&'a str, usize>, name: &'a str) -> usize {
        let n = map.entry(name).or_insert(0);
        *n += 1;
        *n
    }

    fn resolve_name(&mut self, id: TypeId, ident: bool) -> Cow<'a, str> {
        let Ok(t) = self.ty(id) else {
            return Cow::Borrowed("");
        };
        if t.name_off == 0 {
            return Cow::Borrowed("");
        }
        let orig = self.name(t.name_off);
        if self.state(id).has(NAME_RESOLVED) {
            return match self.cached_names.get(&id) {
                Some(n) => Cow::Owned(n.clone()),
                None => Cow::Borrowed(orig),
            };
        }
        self.state(id).set(NAME_RESOLVED);
        let no_dedup = match &t.kind {
            TypeKind::Fwd(_) => true,
            TypeKind::Enum(e) => e.values.is_empty(),
            _ => false,
        };
        if no_dedup {
            return Cow::Borrowed(orig);
        }
        let map = if ident {
            &mut self.ident_names
        } else {
            &mut self.type_names
        };
        let dups = Self::name_dups(map, orig);
        if dups > 1 {
            let name = format!("{orig}___{dups}");
            self.cached_names.insert(id, name.clone());
            return Cow::Owned(name);
        }
        Cow::Borrowed(orig)
    }

    fn type_name(&mut self, id: TypeId) -> Cow<'a, str> {
        self.resolve_name(id, false)
    }

    fn ident_name(&mut self, id: TypeId) -> Cow<'a, str> {
        self.resolve_name(id, true)
    }
}

const HEADER_PROLOGUE: &str = "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
#endif\n\n";

const HEADER_EPILOGUE: &str =
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
#endif /* __VMLINUX_H__ */\n";

impl Btf {
    /// The whole type table as a C header, like `bpftool btf dump file ... format c`: every named
    /// struct/union/enum/typedef/forward declaration in dependency order, inside the `__VMLINUX_H__`
    /// guard and the `preserve_access_index` pragma.
    pub fn to_c_header(&self) -> Result<String> {
        let mut out = Vec::new();
        self.write_c_header(&mut out)?;
        String::from_utf8(out).map_err(|_| Error::malformed("BTF names are not UTF-8"))
    }

    /// Writes [`Btf::to_c_header`]'s text to `w` as it is produced (bounded memory for large BTF).
    pub fn write_c_header(&self, w: &mut dyn std::io::Write) -> Result<()> {
        const CHUNK: usize = 1 << 16;
        let io = |e| Error::io("write C header", e);
        let mut d = CDumper::new(self);
        d.out.push_str(HEADER_PROLOGUE);
        for id in 1..self.len() as TypeId {
            d.dump_type(id)?;
            if d.out.len() >= CHUNK {
                w.write_all(d.out.as_bytes()).map_err(io)?;
                d.out.clear();
            }
        }
        d.out.push_str(HEADER_EPILOGUE);
        w.write_all(d.out.as_bytes()).map_err(io)
    }

    /// C definitions of type `id` and everything it depends on (no guard, no pragma).
    pub fn type_to_c(&self, id: TypeId) -> Result<String> {
        let mut d = CDumper::new(self);
        d.dump_type(id)?;
        Ok(d.out)
    }
}

#[cfg(test)]
mod tests;
