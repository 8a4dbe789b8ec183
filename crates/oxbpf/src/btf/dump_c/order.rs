//! The ordering pass of the C dumper: a depth-first walk that queues the named definitions a type
//! needs, telling strong links (the dependency must be complete first) from weak ones through
//! pointers (a forward declaration will do).

use super::{too_deep, CDumper, MAX_DEPTH, ORDERED, ORDERING, REFERENCED};
use crate::btf::types::*;
use crate::error::{Error, Result};

impl CDumper<'_> {
    /// Ordering pass; returns whether `id` is reached through a strong link.
    pub(super) fn order_type(
        &mut self,
        id: TypeId,
        through_ptr: bool,
        depth: usize,
    ) -> Result<bool> {
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
}
