//! The printing half of the C dumper: struct/union layouts (alignment, packing, padding), enum,
//! typedef and forward definitions, and declarators, which C writes inside-out.

use std::fmt::Write as _;

use super::*;

impl<'a> CDumper<'a> {
    /// [`Btf::align_of`], memoized per type (struct layouts ask for the same types over and over);
    /// 0 when the type has no alignment.
    pub(super) fn align_of(&mut self, id: TypeId) -> u32 {
        self.align_rec(id, 0)
    }

    pub(super) fn align_rec(&mut self, id: TypeId, depth: usize) -> u32 {
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

    pub(super) fn composite_align(&mut self, c: &Composite, depth: usize) -> u32 {
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
    pub(super) fn is_packed(&mut self, c: &Composite) -> bool {
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
    pub(super) fn bit_padding(
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

    pub(super) fn struct_fwd(&mut self, id: TypeId, t: Type<'a>) {
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

    pub(super) fn struct_def(
        &mut self,
        id: TypeId,
        t: Type<'a>,
        lvl: usize,
        depth: usize,
    ) -> Result<()> {
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
            // The memoized alignment; a type without one counts as 1, as `btf__align_of` failing.
            let m_align = if packed {
                1
            } else {
                self.align_of(m.type_id).max(1) as i64
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

    pub(super) fn enum_def(&mut self, id: TypeId, t: Type<'a>, lvl: usize) {
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

    pub(super) fn fwd_def(&mut self, id: TypeId, t: Type<'a>) {
        let name = self.type_name(id);
        self.out
            .push_str(if t.kind_flag() { "union " } else { "struct " });
        self.out.push_str(&name);
    }

    pub(super) fn typedef_def(
        &mut self,
        id: TypeId,
        t: Type<'a>,
        lvl: usize,
        depth: usize,
    ) -> Result<()> {
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

    pub(super) fn type_decl(
        &mut self,
        mut id: TypeId,
        fname: &str,
        lvl: usize,
        depth: usize,
    ) -> Result<()> {
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

    pub(super) fn top(&self, start: usize, cnt: usize) -> Option<(TypeId, Type<'a>)> {
        if cnt == 0 {
            return None;
        }
        let id = self.decl_stack[start + cnt - 1];
        self.ty(id).ok().map(|t| (id, t))
    }

    pub(super) fn emit_mods(&mut self, start: usize, cnt: &mut usize) {
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

    pub(super) fn drop_mods(&mut self, start: usize, cnt: &mut usize) {
        while let Some((_, t)) = self.top(start, *cnt) {
            if !t.is_modifier() {
                return;
            }
            *cnt -= 1;
        }
    }

    pub(super) fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    pub(super) fn type_chain(
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
}
