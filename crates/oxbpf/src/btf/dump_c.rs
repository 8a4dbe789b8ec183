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

    /// Ordering pass; returns whether `id` is reached through a strong link.
    fn order_type(&mut self, id: TypeId, through_ptr: bool, depth: usize) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let st = self.state(id).order();
        if st == ORDERED {
            return Ok(true);
        }
        let t = self.ty(id)?;
        if st == ORDERING {
            if t.is_composite() && through_ptr && t.name_off != 0 {
                return Ok(false);
            }
            return Err(Error::malformed(format!(
                "BTF type [{id}]: unsatisfiable type cycle"
            )));
        }
        let d = depth + 1;
        match &t.kind {
            TypeKind::Int(_) | TypeKind::Float(_) => {
                self.state(id).set_order(ORDERED);
                Ok(false)
            }
            TypeKind::Ptr(target) => {
                let r = self.order_type(*target, true, d);
                self.state(id).set_order(ORDERED);
                r
            }
            TypeKind::Array(a) => self.order_type(a.elem_type, false, d),
            TypeKind::Struct(c) | TypeKind::Union(c) => {
                if through_ptr && t.name_off != 0 {
                    return Ok(false);
                }
                self.state(id).set_order(ORDERING);
                for m in &c.members {
                    self.order_type(m.type_id, false, d)?;
                }
                if t.name_off != 0 {
                    self.emit_queue.push(id);
                }
                self.state(id).set_order(ORDERED);
                Ok(true)
            }
            TypeKind::Enum(_) | TypeKind::Enum64(_) | TypeKind::Fwd(_) => {
                if t.name_off != 0 || !self.state(id).has(REFERENCED) {
                    self.emit_queue.push(id);
                }
                self.state(id).set_order(ORDERED);
                Ok(true)
            }
            TypeKind::Typedef(target) => {
                let strong = self.order_type(*target, through_ptr, d)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.emit_queue.push(id);
                self.state(id).set_order(ORDERED);
                Ok(true)
            }
            TypeKind::Volatile(n) | TypeKind::Const(n) | TypeKind::Restrict(n) => {
                self.order_type(*n, through_ptr, d)
            }
            TypeKind::TypeTag(tt) => self.order_type(tt.target, through_ptr, d),
            TypeKind::FuncProto(p) => {
                let mut strong = self.order_type(p.ret, through_ptr, d)?;
                for prm in &p.params {
                    strong |= self.order_type(prm.type_id, through_ptr, d)?;
                }
                Ok(strong)
            }
            TypeKind::Func(_) | TypeKind::Var(_) | TypeKind::Datasec(_) | TypeKind::DeclTag(_) => {
                self.state(id).set_order(ORDERED);
                Ok(false)
            }
            TypeKind::Void => Ok(false),
        }
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

    /// [`Btf::align_of`], memoized per type (struct layouts ask for the same types over and over);
    /// 0 when the type has no alignment.
    fn align_of(&mut self, id: TypeId) -> u32 {
        self.align_rec(id, 0)
    }

    fn align_rec(&mut self, id: TypeId, depth: usize) -> u32 {
        match self.aligns.get(id as usize) {
            Some(&a) if a != u8::MAX => return a as u32,
            Some(_) if depth <= MAX_DEPTH => {}
            _ => return 0,
        }
        let Ok(t) = self.ty(id) else { return 0 };
        let ptr = (self.ptr_bits / 8) as u32;
        let a = match &t.kind {
            TypeKind::Int(Int { size, .. })
            | TypeKind::Enum(Enum { size, .. })
            | TypeKind::Enum64(Enum { size, .. })
            | TypeKind::Float(size) => ptr.min(*size),
            TypeKind::Ptr(_) => ptr,
            TypeKind::Typedef(n)
            | TypeKind::Volatile(n)
            | TypeKind::Const(n)
            | TypeKind::Restrict(n)
            | TypeKind::TypeTag(TypeTag { target: n, .. }) => self.align_rec(*n, depth + 1),
            TypeKind::Array(a) => self.align_rec(a.elem_type, depth + 1),
            TypeKind::Struct(c) | TypeKind::Union(c) => self.composite_align(c, depth),
            _ => 0,
        };
        self.aligns[id as usize] = a.min(u8::MAX as u32 - 1) as u8;
        a
    }

    fn composite_align(&mut self, c: &Composite, depth: usize) -> u32 {
        let mut max_align = 1;
        for m in &c.members {
            let a = self.align_rec(m.type_id, depth + 1);
            if a == 0 {
                return 0;
            }
            max_align = max_align.max(a);
            if m.bitfield_size == 0 && m.bit_offset % (8 * a) != 0 {
                return 1;
            }
        }
        if c.size % max_align != 0 {
            return 1;
        }
        max_align
    }

    /// Whether struct `t` needs `__attribute__((packed))` to get its BTF layout.
    fn is_packed(&mut self, c: &Composite) -> bool {
        let mut max_align = 1;
        for m in &c.members {
            let align = self.align_of(m.type_id);
            if align != 0 && m.bitfield_size == 0 && m.bit_offset % (8 * align) != 0 {
                return true;
            }
            max_align = max_align.max(align);
        }
        c.size % max_align != 0
    }

    /// Emits `type: bits;` fillers for the gap from bit `cur` to bit `next`. A gap of more than
    /// [`MAX_PADDING_BITS`] is refused: it would take gigabytes of filler lines (only malformed or
    /// hostile BTF has one; a struct's real contents are members, arrays included).
    fn bit_padding(
        &mut self,
        id: TypeId,
        mut cur: i64,
        next: i64,
        next_align: i64,
        in_bitfield: bool,
        lvl: usize,
    ) -> Result<()> {
        if next - cur > MAX_PADDING_BITS {
            return Err(Error::malformed(format!(
                "BTF type [{id}]: padding gap of {} bits at bit {cur} is too large to dump as C",
                next - cur
            )));
        }
        if cur >= next {
            return Ok(());
        }
        if next - cur > self.padding_left {
            return Err(Error::malformed(format!(
                "BTF type [{id}]: padding gap of {} bits at bit {cur} exceeds the dump's total padding budget ({PADDING_BUDGET_BITS} bits)",
                next - cur
            )));
        }
        self.padding_left -= next - cur;
        let pads: [(&str, i64); 4] = [
            ("long", self.ptr_bits),
            ("int", 32),
            ("short", 16),
            ("char", 8),
        ];
        let roundup = |x: i64, y: i64| if y <= 0 { x } else { (x + y - 1) / y * y };
        let (mut pad_type, mut pad_bits, mut new_off) = ("char", 8, 0);
        for &(name, bits) in &pads {
            pad_type = name;
            pad_bits = bits;
            new_off = roundup(cur, bits);
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            if in_bitfield
                || (new_off == next && roundup(cur, next_align * 8) != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                let _ = write!(
                    self.out,
                    "\n{}{}: {};",
                    pfx(lvl),
                    pad_type,
                    if in_bitfield { new_off - cur } else { 0 }
                );
            }
            cur = new_off;
        }
        while cur != next {
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                let _ = write!(self.out, "\n{}{}: {};", pfx(lvl), pad_type, pad_bits);
                cur += bits;
                continue;
            }
            for &(name, pbits) in pads.iter().rev() {
                pad_type = name;
                pad_bits = pbits;
                if pbits < bits {
                    continue;
                }
                let _ = write!(self.out, "\n{}{}: {};", pfx(lvl), name, bits);
                cur += bits;
                break;
            }
            if pad_bits < bits {
                // Unreachable with sane sizes (char covers any remainder below 8 bits); stop anyway.
                break;
            }
        }
        Ok(())
    }

    fn struct_fwd(&mut self, id: TypeId, t: Type<'a>) {
        let kw = if matches!(t.kind, TypeKind::Struct(_)) {
            "struct"
        } else {
            "union"
        };
        let name = self.type_name(id);
        self.out.push_str(kw);
        if t.name_off != 0 {
            self.out.push(' ');
        }
        self.out.push_str(&name);
    }

    fn struct_def(&mut self, id: TypeId, t: Type<'a>, lvl: usize, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let (c, is_struct) = match &t.kind {
            TypeKind::Struct(c) => (c, true),
            TypeKind::Union(c) => (c, false),
            _ => return Ok(()),
        };
        let align = self.align_of(id).max(1) as i64;
        let packed = is_struct && self.is_packed(c);
        self.struct_fwd(id, t);
        self.out.push_str(" {");
        let mut off: i64 = 0;
        let mut prev_bitfield = false;
        for m in &c.members {
            if self.out.len() > self.max_output {
                return Err(Error::malformed(format!(
                    "BTF type [{id}]: C output exceeds {} bytes (anonymous types nested and repeated too often)",
                    self.max_output
                )));
            }
            let fname = self.name(m.name_off);
            let m_sz = m.bitfield_size as i64;
            let m_off = m.bit_offset as i64;
            let m_align = if packed {
                1
            } else {
                self.btf.align_of(m.type_id).unwrap_or(1) as i64
            };
            let in_bitfield = prev_bitfield && m_sz != 0;
            self.bit_padding(id, off, m_off, m_align, in_bitfield, lvl + 1)?;
            self.out.push('\n');
            self.out.push_str(pfx(lvl + 1));
            self.type_decl(m.type_id, fname, lvl + 1, depth + 1)?;
            if m_sz != 0 {
                let _ = write!(self.out, ": {m_sz}");
                off = m_off + m_sz;
                prev_bitfield = true;
            } else {
                let sz = self.btf.resolve_size(m.type_id).unwrap_or(0) as i64;
                off = m_off + sz * 8;
                prev_bitfield = false;
            }
            self.out.push(';');
        }
        if is_struct {
            self.bit_padding(id, off, c.size as i64 * 8, align, false, lvl + 1)?;
        }
        if !c.members.is_empty() || c.size != 0 {
            self.out.push('\n');
            self.out.push_str(pfx(lvl));
        }
        self.out.push('}');
        if packed {
            self.out.push_str(" __attribute__((packed))");
        }
        Ok(())
    }

    fn enum_def(&mut self, id: TypeId, t: Type<'a>, lvl: usize) {
        let (e, is64) = match &t.kind {
            TypeKind::Enum(e) => (e, false),
            TypeKind::Enum64(e) => (e, true),
            _ => return,
        };
        let name = self.type_name(id);
        self.out.push_str("enum");
        if t.name_off != 0 {
            self.out.push(' ');
        }
        self.out.push_str(&name);
        if e.values.is_empty() {
            return;
        }
        self.out.push_str(" {");
        for v in &e.values {
            let vname = self.name(v.name_off);
            let dups = Self::name_dups(&mut self.ident_names, vname);
            let _ = write!(self.out, "\n{}{}", pfx(lvl + 1), vname);
            if dups > 1 {
                let _ = write!(self.out, "___{dups}");
            }
            let _ = match (is64, e.signed) {
                (false, true) => write!(self.out, " = {},", v.value as u32 as i32),
                (false, false) => write!(self.out, " = {},", v.value as u32),
                (true, true) => write!(self.out, " = {}LL,", v.value as i64),
                (true, false) => write!(self.out, " = {}ULL,", v.value),
            };
        }
        let _ = write!(self.out, "\n{}}}", pfx(lvl));
        if e.size == 1 {
            self.out.push_str(" __attribute__((mode(byte)))");
        } else if e.size == 8 && self.ptr_bits == 64 {
            let needs_word = !is64 || e.values.iter().all(|v| v.value >> 32 == 0);
            if needs_word {
                self.out.push_str(" __attribute__((mode(word)))");
            }
        }
    }

    fn fwd_def(&mut self, id: TypeId, t: Type<'a>) {
        let name = self.type_name(id);
        self.out
            .push_str(if t.kind_flag() { "union " } else { "struct " });
        self.out.push_str(&name);
    }

    fn typedef_def(&mut self, id: TypeId, t: Type<'a>, lvl: usize, depth: usize) -> Result<()> {
        let name = self.ident_name(id);
        let target = t.target().unwrap_or(0);
        if target == 0 && name == "__gnuc_va_list" {
            self.out
                .push_str("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.push_str("typedef ");
        self.type_decl(target, &name, lvl, depth)
    }

    fn type_decl(&mut self, mut id: TypeId, fname: &str, lvl: usize, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let start = self.decl_stack.len();
        loop {
            if self.decl_stack.len() - start > MAX_DEPTH {
                self.decl_stack.truncate(start);
                return Err(too_deep(id));
            }
            self.decl_stack.push(id);
            if id == 0 {
                break;
            }
            let t = self.ty(id)?;
            match &t.kind {
                TypeKind::Ptr(n)
                | TypeKind::Volatile(n)
                | TypeKind::Const(n)
                | TypeKind::Restrict(n)
                | TypeKind::TypeTag(TypeTag { target: n, .. }) => id = *n,
                TypeKind::FuncProto(p) => id = p.ret,
                TypeKind::Array(a) => id = a.elem_type,
                _ => break,
            }
        }
        let mut cnt = self.decl_stack.len() - start;
        let r = self.type_chain(start, &mut cnt, fname, lvl, depth + 1);
        self.decl_stack.truncate(start);
        r
    }

    fn top(&self, start: usize, cnt: usize) -> Option<(TypeId, Type<'a>)> {
        if cnt == 0 {
            return None;
        }
        let id = self.decl_stack[start + cnt - 1];
        self.ty(id).ok().map(|t| (id, t))
    }

    fn emit_mods(&mut self, start: usize, cnt: &mut usize) {
        while let Some((_, t)) = self.top(start, *cnt) {
            let s = match t.kind {
                TypeKind::Volatile(_) => "volatile ",
                TypeKind::Const(_) => "const ",
                TypeKind::Restrict(_) => "restrict ",
                _ => return,
            };
            self.out.push_str(s);
            *cnt -= 1;
        }
    }

    fn drop_mods(&mut self, start: usize, cnt: &mut usize) {
        while let Some((_, t)) = self.top(start, *cnt) {
            if !t.is_modifier() {
                return;
            }
            *cnt -= 1;
        }
    }

    fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    fn type_chain(
        &mut self,
        start: usize,
        cnt: &mut usize,
        fname: &str,
        lvl: usize,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(too_deep(0));
        }
        let mut last_was_ptr = true;
        while *cnt > 0 {
            *cnt -= 1;
            let id = self.decl_stack[start + *cnt];
            if id == 0 {
                self.emit_mods(start, cnt);
                self.out.push_str("void");
                last_was_ptr = false;
                continue;
            }
            let t = self.ty(id)?;
            match &t.kind {
                TypeKind::Int(_) | TypeKind::Float(_) => {
                    self.emit_mods(start, cnt);
                    self.out.push_str(self.name(t.name_off));
                }
                TypeKind::Struct(_) | TypeKind::Union(_) => {
                    self.emit_mods(start, cnt);
                    if t.name_off == 0 {
                        self.struct_def(id, t, lvl, depth + 1)?;
                    } else {
                        self.struct_fwd(id, t);
                    }
                }
                TypeKind::Enum(_) | TypeKind::Enum64(_) => {
                    self.emit_mods(start, cnt);
                    if t.name_off == 0 {
                        self.enum_def(id, t, lvl);
                    } else {
                        let name = self.type_name(id);
                        self.out.push_str("enum ");
                        self.out.push_str(&name);
                    }
                }
                TypeKind::Fwd(_) => {
                    self.emit_mods(start, cnt);
                    self.fwd_def(id, t);
                }
                TypeKind::Typedef(_) => {
                    self.emit_mods(start, cnt);
                    let name = self.ident_name(id);
                    self.out.push_str(&name);
                }
                TypeKind::Ptr(_) => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
                TypeKind::Volatile(_) => self.out.push_str(" volatile"),
                TypeKind::Const(_) => self.out.push_str(" const"),
                TypeKind::Restrict(_) => self.out.push_str(" restrict"),
                TypeKind::TypeTag(tt) => {
                    self.emit_mods(start, cnt);
                    let name = self.name(t.name_off);
                    if tt.attr {
                        let _ = write!(self.out, " __attribute__(({name}))");
                    } else {
                        let _ = write!(self.out, " __attribute__((btf_type_tag(\"{name}\")))");
                    }
                }
                TypeKind::Array(a) => {
                    self.drop_mods(start, cnt);
                    if *cnt == 0 {
                        self.emit_name(fname, last_was_ptr);
                        let _ = write!(self.out, "[{}]", a.nelems);
                        return Ok(());
                    }
                    let multidim = self
                        .top(start, *cnt)
                        .is_some_and(|(_, n)| matches!(n.kind, TypeKind::Array(_)));
                    if !fname.is_empty() && !last_was_ptr {
                        self.out.push(' ');
                    }
                    if !multidim {
                        self.out.push('(');
                    }
                    self.type_chain(start, cnt, fname, lvl, depth + 1)?;
                    if !multidim {
                        self.out.push(')');
                    }
                    let _ = write!(self.out, "[{}]", a.nelems);
                    return Ok(());
                }
                TypeKind::FuncProto(p) => {
                    self.drop_mods(start, cnt);
                    if *cnt > 0 {
                        self.out.push_str(" (");
                        self.type_chain(start, cnt, fname, lvl, depth + 1)?;
                        self.out.push(')');
                    } else {
                        self.emit_name(fname, last_was_ptr);
                    }
                    self.out.push('(');
                    let n = p.params.len();
                    if n == 0 || (n == 1 && p.params.first().is_some_and(|p| p.type_id == 0)) {
                        self.out.push_str("void)");
                        return Ok(());
                    }
                    for (i, prm) in p.params.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        if i == n - 1 && prm.type_id == 0 {
                            self.out.push_str("...");
                            break;
                        }
                        let pname = self.name(prm.name_off);
                        self.type_decl(prm.type_id, pname, lvl, depth + 1)?;
                    }
                    self.out.push(')');
                    return Ok(());
                }
                _ => {
                    // FUNC, VAR, DATASEC, DECL_TAG cannot appear inside a declarator.
                    return Ok(());
                }
            }
            last_was_ptr = matches!(t.kind, TypeKind::Ptr(_));
        }
        self.emit_name(fname, last_was_ptr);
        Ok(())
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
mod tests {
    use super::*;
    use crate::btf::Linkage;

    fn dump_all(b: &Btf) -> String {
        let mut d = CDumper::new(b);
        for id in 1..b.len() as TypeId {
            d.dump_type(id).unwrap();
        }
        d.take_output()
    }

    #[test]
    fn bitfields_padding_and_packed() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap();
        let uchar = b.add_int("unsigned char", 1, 0).unwrap();
        let long = b.add_int("long", 8, INT_SIGNED).unwrap();
        // struct bf { int a: 3; int b: 5; /* gap */ long c; };
        b.add_struct(
            "bf",
            16,
            &[("a", int, 0, 3), ("b", int, 3, 5), ("c", long, 64, 0)],
        );
        // A packed struct: a long at offset 1.
        b.add_struct("pk", 9, &[("x", uchar, 0, 0), ("y", long, 8, 0)]);
        // Trailing padding: `long: 0` aligns to 8, then `int: 32` fills the rest.
        b.add_struct("tail", 12, &[("x", int, 0, 0)]);
        let out = dump_all(&b);
        assert!(
            out.contains("struct bf {\n\tint a: 3;\n\tint b: 5;\n\tlong c;\n};\n\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "struct pk {\n\tunsigned char x;\n\tlong y;\n} __attribute__((packed));\n\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("struct tail {\n\tint x;\n\tlong: 0;\n\tint: 32;\n};\n\n"),
            "{out}"
        );
    }

    #[test]
    fn anonymous_members_arrays_and_function_pointers() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap();
        let chr = b.add_int("char", 1, INT_CHAR).unwrap();
        let arr = b.add_array(chr, int, 16);
        let arr2 = b.add_array(arr, int, 2);
        let cchr = b.add_const(chr);
        let pcchr = b.add_ptr(cchr);
        let proto = b.add_func_proto(int, &[("name", pcchr), ("", 0)]);
        let fptr = b.add_ptr(proto);
        let anon_u = b.add_union("", 4, &[("i", int, 0, 0), ("c", chr, 0, 0)]);
        let cb = b.add_typedef("cb_t", fptr);
        b.add_struct(
            "s",
            56,
            &[
                ("", anon_u, 0, 0),
                ("names", arr2, 32, 0),
                ("cb", fptr, 320, 0),
                ("cb2", cb, 384, 0),
            ],
        );
        let out = dump_all(&b);
        let want = "struct s {\n\tunion {\n\t\tint i;\n\t\tchar c;\n\t};\n\tchar names[2][16];\n\
                    \tint (*cb)(const char *name, ...);\n\tcb_t cb2;\n};\n\n";
        assert!(
            out.contains("typedef int (*cb_t)(const char *name, ...);\n\n"),
            "{out}"
        );
        assert!(out.contains(want), "{out}");
        // The typedef is defined before the struct that uses it.
        assert!(out.find("typedef int (*cb_t)").unwrap() < out.find("struct s {").unwrap());
    }

    #[test]
    fn forward_declarations_and_dependency_order() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap();
        // struct a { struct b *pb; }; struct b { struct a a; int x; };  -> b needs a defined first,
        // a needs only a forward declaration of b.
        let a_id = b.add_struct("a", 8, &[("pb", 0, 0, 0)]);
        let b_id = b.add_struct("b", 16, &[("a", a_id, 0, 0), ("x", int, 64, 0)]);
        let pb = b.add_ptr(b_id);
        let pb_name = b.add_string("pb");
        b.update_type(a_id, |t| {
            t.kind = TypeKindBuf::Struct(CompositeBuf {
                size: 8,
                bitfield_encoding: false,
                members: vec![Member {
                    name_off: pb_name,
                    type_id: pb,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            })
        })
        .unwrap();
        let fwd = b.add_fwd("opaque", FwdKind::Union);
        let pf = b.add_ptr(fwd);
        b.add_var("v", pf, Linkage::Global);
        let out = dump_all(&b);
        assert_eq!(
            out,
            "struct b;\n\nstruct a {\n\tstruct b *pb;\n};\n\nstruct b {\n\tstruct a a;\n\tint x;\n};\n\nunion opaque;\n\n",
        );
    }

    #[test]
    fn enums_signed_64_and_duplicate_names() {
        let mut b = Btf::new();
        b.add_enum("e", 4, true, &[("A", -1), ("B", 2)]);
        b.add_enum("", 4, false, &[("A", 7)]);
        b.add_enum64("big", 8, false, &[("HUGE", 1 << 40)]);
        b.add_enum("small", 1, false, &[("S", 1)]);
        b.add_struct("dup", 4, &[]);
        b.add_struct("dup", 8, &[]);
        let out = dump_all(&b);
        assert!(
            out.contains("enum e {\n\tA = -1,\n\tB = 2,\n};\n\n"),
            "{out}"
        );
        assert!(out.contains("enum {\n\tA___2 = 7,\n};\n\n"), "{out}");
        assert!(
            out.contains("enum big {\n\tHUGE = 1099511627776ULL,\n};\n\n"),
            "{out}"
        );
        assert!(out.contains("} __attribute__((mode(byte)));"), "{out}");
        assert!(
            out.contains("struct dup {\n\tint: 32;\n};\n\nstruct dup___2 {\n\tlong: 64;\n};\n\n"),
            "{out}"
        );
    }

    #[test]
    fn inline_anonymous_nesting_is_bounded() {
        // Each anonymous union holds the next one twice: written inline, 2^24 copies of the
        // innermost member from 25 types.
        let mut b = Btf::new();
        let mut inner = b.add_int("int", 4, 0).unwrap();
        for _ in 0..24 {
            inner = b.add_union("", 4, &[("a", inner, 0, 0), ("b", inner, 0, 0)]);
        }
        let top = b.add_struct("top", 4, &[("x", inner, 0, 0)]);
        let mut d = CDumper::new(&b);
        d.set_output_limit(1 << 20);
        let e = d.dump_type(top).unwrap_err();
        assert!(
            e.to_string().contains("C output exceeds 1048576 bytes"),
            "{e}"
        );
        assert!(d.output().len() < 2 << 20, "{}", d.output().len());
    }

    #[test]
    fn total_padding_is_bounded() {
        // Found by the btf_dump fuzz target: members each just under the per-gap limit apart add
        // up to hundreds of MiB of filler from a few hundred bytes of BTF.
        let mut b = Btf::new();
        let int = b.add_int("int", 4, 0).unwrap();
        let step = (MAX_PADDING_BITS - 64) as u32;
        let names: Vec<String> = (0..16).map(|i| format!("m{i}")).collect();
        let members: Vec<(&str, TypeId, u32, u8)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), int, i as u32 * step, 0))
            .collect();
        let s = b.add_struct("spread", 16 * step / 8, &members);
        let mut d = CDumper::new(&b);
        let e = d.dump_type(s).unwrap_err();
        assert!(e.to_string().contains("total padding budget"), "{e}");
        assert!(d.output().len() < 16 << 20, "{} bytes", d.output().len());
    }

    #[test]
    fn huge_padding_gap_is_an_error_not_gigabytes() {
        // Found by the btf_parse fuzz target: a 256 MiB struct with no members.
        let mut b = Btf::new();
        let s = b.add_struct("huge", 1 << 28, &[]);
        let e = CDumper::new(&b).dump_type(s).unwrap_err();
        assert!(e.to_string().contains("too large to dump"), "{e}");
        // A gap just under the limit still dumps.
        let ok = b.add_struct("big", 1 << 20, &[]);
        let mut d = CDumper::new(&b);
        d.dump_type(ok).unwrap();
        assert_eq!(
            d.output().lines().filter(|l| *l == "\tlong: 64;").count(),
            (1 << 20) / 8
        );
    }

    #[test]
    fn loops_are_errors_not_hangs() {
        let mut b = Btf::new();
        let p1 = b.add_ptr(2);
        let _p2 = b.add_ptr(p1);
        let td = b.add_typedef("t", p1);
        let mut d = CDumper::new(&b);
        let e = d.dump_type(td).unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");
        // An anonymous struct containing itself.
        let mut b = Btf::new();
        b.add_struct("", 4, &[("x", 1, 0, 0)]);
        let td = b.add_typedef("t", 1);
        assert!(CDumper::new(&b).dump_type(td).is_err());
    }

    #[test]
    fn anonymous_member_of_a_named_type_keeps_its_tag() {
        // 7.x kernels (built with -fms-extensions): `union { struct tree; struct head rcu; };`. As
        // libbpf and bpftool do, the member is spelled with its tag only, which compilers read as
        // a member under -fms-extensions (and as declaring nothing otherwise).
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap();
        let tree = b.add_struct("tree", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
        let head = b.add_struct("head", 4, &[("x", int, 0, 0)]);
        let u = b.add_union("", 8, &[("", tree, 0, 0), ("rcu", head, 0, 0)]);
        let outer = b.add_struct("outer", 12, &[("n", int, 0, 0), ("", u, 32, 0)]);
        let mut d = CDumper::new(&b);
        d.dump_type(outer).unwrap();
        let out = d.take_output();
        assert!(
            out.contains(
                "struct outer {\n\tint n;\n\tunion {\n\t\tstruct tree;\n\t\tstruct head rcu;\n\t};\n};\n"
            ),
            "{out}"
        );
        // The named type itself is defined before its use.
        assert!(out.find("struct tree {").unwrap() < out.find("struct outer {").unwrap());
    }
}
