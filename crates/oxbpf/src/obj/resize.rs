//! Resizing a map's value before load (libbpf's `bpf_map__set_value_size`): for a global data map
//! the initial contents and the section's BTF DATASEC follow, so that a section ending in an
//! array (the skeleton's "resizable array" pattern) keeps BTF the kernel accepts.

use super::{MapSpec, ObjectSpec};
use crate::btf::{Btf, TypeId, TypeKind, TypeKindBuf};
use crate::error::{Error, Result};

impl ObjectSpec {
    /// Sets the value size of map `name`. For a global data map (`.data`, `.bss`, `.rodata`,
    /// custom `.data.*` sections) the initial contents are cut or zero-extended to `size`, and the
    /// section's DATASEC is resized by giving its last variable, which must be an array, as many
    /// elements as fit; when the BTF cannot follow (no array at the end, a size that is not a
    /// whole number of elements), the map is created without BTF key/value types, as libbpf does.
    pub fn set_map_value_size(&mut self, name: &str, size: u32) -> Result<()> {
        let idx = self
            .maps
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| Error::not_found(format!("no map '{name}'")))?;
        set_value_size(&mut self.maps[idx], self.btf.as_mut(), size)
    }
}

/// [`ObjectSpec::set_map_value_size`] for one map and the object's BTF.
pub fn set_value_size(map: &mut MapSpec, btf: Option<&mut Btf>, size: u32) -> Result<()> {
    let name = map.name.clone();
    if map.kind.is_internal() {
        if map.map_type != super::maps::MAP_TYPE_ARRAY {
            return Err(Error::new(
                crate::error::ErrorKind::NotSupported,
                format!("map '{name}': only ARRAY global data maps can be resized"),
            ));
        }
        map.data.resize(size as usize, 0);
        let resized = match btf {
            Some(btf) => resize_datasec(btf, map, size),
            None => Ok(()),
        };
        if let Err(e) = resized {
            crate::log::warn(format_args!(
                "map '{name}': failed to adjust resized BTF, clearing BTF key/value info: {e}"
            ));
            map.btf_key_type_id = 0;
            map.btf_value_type_id = 0;
        }
    }
    map.value_size = size;
    Ok(())
}

/// libbpf's `map_btf_datasec_resize`: a new ARRAY type with the element count that fills `size`
/// from the last variable's offset, that variable retyped to it, and the DATASEC resized.
fn resize_datasec(btf: &mut Btf, map: &MapSpec, size: u32) -> Result<()> {
    let name = &map.name;
    let sec_id = map.btf_value_type_id;
    if sec_id == 0 {
        // No DATASEC known for this section: nothing to keep in step.
        return Ok(());
    }
    let TypeKind::Datasec(sec) = &btf.type_by_id(sec_id)?.kind else {
        return Err(Error::invalid(format!(
            "map '{name}': cannot be resized, map value type is not a datasec"
        )));
    };
    let vlen = sec.vars.len();
    let last = sec.vars.last().ok_or_else(|| {
        Error::invalid(format!(
            "map '{name}': cannot be resized, map value datasec is empty"
        ))
    })?;
    let TypeKind::Var(var) = &btf.type_by_id(last.type_id)?.kind else {
        return Err(Error::invalid(format!(
            "map '{name}': cannot be resized, last member of the datasec is not a var"
        )));
    };
    let (_, arr_ty) = btf.skip_mods_and_typedefs(var.type_id)?;
    let TypeKind::Array(arr) = &arr_ty.kind else {
        return Err(Error::invalid(format!(
            "map '{name}': cannot be resized, last var must be an array"
        )));
    };
    let arr = *arr;
    let elem_sz = btf.resolve_size(arr.elem_type)?;
    let room = size.checked_sub(last.offset);
    let nelems = match room {
        Some(room) if elem_sz > 0 && room % elem_sz == 0 => room / elem_sz,
        _ => {
            return Err(Error::invalid(format!(
                "map '{name}': cannot be resized, element size ({elem_sz}) doesn't align with new total size ({size})"
            )))
        }
    };
    let new_arr: TypeId = btf.add_array(arr.elem_type, arr.index_type, nelems);
    let var_id = last.type_id;
    btf.update_type(var_id, |t| {
        if let TypeKindBuf::Var(v) = &mut t.kind {
            v.type_id = new_arr;
        }
    })?;
    btf.update_type(sec_id, |t| {
        if let TypeKindBuf::Datasec(sec) = &mut t.kind {
            sec.size = size;
            if let Some(v) = sec.vars.get_mut(vlen - 1) {
                v.size = size - last.offset;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{Linkage, VarSecInfo};
    use crate::obj::maps::MapKind;

    /// BTF of `int a; int arr[2];` (or `int arr;`) in `.data.arr`, and its map.
    fn map_with(elem_last: bool) -> (MapSpec, Btf) {
        let mut btf = Btf::new();
        let int = btf.add_int("int", 4, crate::btf::INT_SIGNED).unwrap();
        let arr = btf.add_array(int, int, 2);
        let a = btf.add_var("a", int, Linkage::Global);
        let b = btf.add_var("arr", if elem_last { arr } else { int }, Linkage::Global);
        let bsize = if elem_last { 8 } else { 4 };
        let sec = btf.add_datasec(
            ".data.arr",
            4 + bsize,
            vec![
                VarSecInfo {
                    type_id: a,
                    offset: 0,
                    size: 4,
                },
                VarSecInfo {
                    type_id: b,
                    offset: 4,
                    size: bsize,
                },
            ],
        );
        let mut m = MapSpec::internal("o", MapKind::Data, ".data.arr", None, Some(&[1; 12]), 12);
        m.btf_value_type_id = sec;
        m.btf_key_type_id = int;
        (m, btf)
    }

    #[test]
    fn resizes_data_and_datasec() {
        let (mut m, mut btf) = map_with(true);
        set_value_size(&mut m, Some(&mut btf), 4 + 4 * 10).unwrap();
        assert_eq!(m.value_size, 44);
        assert_eq!(m.data.len(), 44);
        assert_eq!(&m.data[..12], &[1; 12]);
        assert!(m.data[12..].iter().all(|&b| b == 0));
        let TypeKind::Datasec(sec) = &btf.type_by_id(m.btf_value_type_id).unwrap().kind else {
            panic!("not a datasec")
        };
        assert_eq!(sec.size, 44);
        assert_eq!(sec.vars.get(1).unwrap().size, 40);
        let TypeKind::Var(v) = &btf
            .type_by_id(sec.vars.get(1).unwrap().type_id)
            .unwrap()
            .kind
        else {
            panic!("not a var")
        };
        let TypeKind::Array(a) = &btf.type_by_id(v.type_id).unwrap().kind else {
            panic!("not an array")
        };
        assert_eq!(a.nelems, 10);
        // Shrinking works the same way.
        set_value_size(&mut m, Some(&mut btf), 8).unwrap();
        assert_eq!(m.data, vec![1; 8]);
        assert_eq!(m.value_size, 8);
    }

    #[test]
    fn misaligned_or_not_array_drops_btf_types() {
        let (mut m, mut btf) = map_with(true);
        set_value_size(&mut m, Some(&mut btf), 4 + 6).unwrap();
        assert_eq!(m.value_size, 10);
        assert_eq!((m.btf_key_type_id, m.btf_value_type_id), (0, 0));

        let (mut m, mut btf) = map_with(false);
        set_value_size(&mut m, Some(&mut btf), 16).unwrap();
        assert_eq!((m.value_size, m.btf_value_type_id), (16, 0));
    }
}
