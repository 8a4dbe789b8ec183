//! [`List`]: a kind's trailing entries (members, enumerators, parameters, section variables), read
//! straight from the encoded words of the type section and decoded one entry at a time.

use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;

use super::types::{EnumValue, Member, Param, VarSecInfo};

mod sealed {
    pub trait Sealed {}
}

/// An entry kind that a [`List`] decodes from its encoded words (implemented by [`Member`],
/// [`EnumValue`], [`Param`] and [`VarSecInfo`]; sealed).
pub trait ListItem: sealed::Sealed + Copy {
    /// Decodes one entry from its words (`flag` is the owning type's `kind_flag`). Missing words
    /// read as 0, so decoding never fails.
    fn decode(words: &[u32], flag: bool) -> Self;
}

#[inline]
fn word(w: &[u32], i: usize) -> u32 {
    w.get(i).copied().unwrap_or(0)
}

impl sealed::Sealed for Member {}
impl ListItem for Member {
    #[inline]
    fn decode(w: &[u32], bitfield_encoding: bool) -> Member {
        let off = word(w, 2);
        let (bit_offset, bitfield_size) = if bitfield_encoding {
            (off & 0x00ff_ffff, (off >> 24) as u8)
        } else {
            (off, 0)
        };
        Member {
            name_off: word(w, 0),
            type_id: word(w, 1),
            bit_offset,
            bitfield_size,
        }
    }
}

impl sealed::Sealed for EnumValue {}
impl ListItem for EnumValue {
    /// ENUM entries are 2 words (value sign-extended when `signed`), ENUM64 entries 3.
    #[inline]
    fn decode(w: &[u32], signed: bool) -> EnumValue {
        let lo = word(w, 1);
        let value = if w.len() >= 3 {
            (word(w, 2) as u64) << 32 | lo as u64
        } else if signed {
            lo as i32 as i64 as u64
        } else {
            lo as u64
        };
        EnumValue {
            name_off: word(w, 0),
            value,
        }
    }
}

impl sealed::Sealed for Param {}
impl ListItem for Param {
    #[inline]
    fn decode(w: &[u32], _: bool) -> Param {
        Param {
            name_off: word(w, 0),
            type_id: word(w, 1),
        }
    }
}

impl sealed::Sealed for VarSecInfo {}
impl ListItem for VarSecInfo {
    #[inline]
    fn decode(w: &[u32], _: bool) -> VarSecInfo {
        VarSecInfo {
            type_id: word(w, 0),
            offset: word(w, 1),
            size: word(w, 2),
        }
    }
}

/// The entries of one type, decoded on access: cheap to copy, indexable with [`List::get`],
/// iterable (an [`ExactSizeIterator`] of values).
pub struct List<'a, T> {
    words: &'a [u32],
    stride: u8,
    flag: bool,
    _item: PhantomData<fn() -> T>,
}

/// The members of a STRUCT or UNION.
pub type Members<'a> = List<'a, Member>;
/// The enumerators of an ENUM or ENUM64.
pub type EnumValues<'a> = List<'a, EnumValue>;
/// The parameters of a FUNC_PROTO.
pub type Params<'a> = List<'a, Param>;
/// The entries of a DATASEC.
pub type VarSecInfos<'a> = List<'a, VarSecInfo>;

impl<T> Clone for List<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for List<'_, T> {}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        List::EMPTY
    }
}

impl<'a, T> List<'a, T> {
    /// A list with no entries.
    pub const EMPTY: List<'static, T> = List {
        words: &[],
        stride: 1,
        flag: false,
        _item: PhantomData,
    };

    /// The entries in `words`, `stride` words each (a trailing partial entry is ignored).
    pub(crate) fn new(words: &'a [u32], stride: usize, flag: bool) -> List<'a, T> {
        List {
            words,
            stride: stride.clamp(1, 3) as u8,
            flag,
            _item: PhantomData,
        }
    }

    /// The number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.words.len() / self.stride as usize
    }

    /// True when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded words of the entries.
    pub fn raw_words(&self) -> &'a [u32] {
        self.words
    }
}

impl<'a, T: ListItem> List<'a, T> {
    /// Entry `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        let s = self.stride as usize;
        let w = self
            .words
            .get(i.checked_mul(s)?..i.checked_mul(s)?.checked_add(s)?)?;
        Some(T::decode(w, self.flag))
    }

    /// The first entry.
    pub fn first(&self) -> Option<T> {
        self.get(0)
    }

    /// The last entry.
    pub fn last(&self) -> Option<T> {
        self.get(self.len().checked_sub(1)?)
    }

    /// The entries in order.
    #[inline]
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter {
            list: *self,
            front: 0,
            back: self.len(),
        }
    }

    /// The entries, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }
}

impl<T: ListItem + fmt::Debug> fmt::Debug for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: ListItem + PartialEq> PartialEq for List<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}
impl<T: ListItem + Eq> Eq for List<'_, T> {}

impl<T: ListItem + PartialEq> PartialEq<[T]> for List<'_, T> {
    fn eq(&self, other: &[T]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl<T: ListItem + PartialEq> PartialEq<Vec<T>> for List<'_, T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        *self == other[..]
    }
}

impl<'a, T: ListItem> IntoIterator for List<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;
    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: ListItem> IntoIterator for &List<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;
    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

/// Iterator over a [`List`]'s entries.
#[derive(Clone)]
pub struct ListIter<'a, T> {
    list: List<'a, T>,
    front: usize,
    back: usize,
}

impl<T: ListItem> Iterator for ListIter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        let v = self.list.get(self.front);
        self.front += 1;
        v
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<T> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl<T: ListItem> DoubleEndedIterator for ListIter<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl<T: ListItem> ExactSizeIterator for ListIter<'_, T> {}
impl<T: ListItem> FusedIterator for ListIter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_decode_and_iterate() {
        let w = [1, 2, 3 | 5 << 24, 4, 5, 64];
        let plain: Members<'_> = List::new(&w, 3, false);
        assert_eq!(plain.len(), 2);
        assert_eq!(plain.get(0).unwrap().bit_offset, 3 | 5 << 24);
        let bf: Members<'_> = List::new(&w, 3, true);
        let m = bf.get(0).unwrap();
        assert_eq!((m.bit_offset, m.bitfield_size), (3, 5));
        assert_eq!(bf.iter().next_back().unwrap().type_id, 5);
        assert_eq!(bf.iter().len(), 2);
        assert!(bf.get(2).is_none());
        assert_eq!(bf.last().unwrap().bit_offset, 64);
        // A partial trailing entry is not an entry.
        assert_eq!(List::<Member>::new(&w[..5], 3, false).len(), 1);
    }

    #[test]
    fn enum_values_widen() {
        let w = [1, u32::MAX];
        let s: EnumValues<'_> = List::new(&w, 2, true);
        assert_eq!(s.get(0).unwrap().as_i64(), -1);
        let u: EnumValues<'_> = List::new(&w, 2, false);
        assert_eq!(u.get(0).unwrap().value, u32::MAX as u64);
        let w64 = [1, 2, 3];
        let e: EnumValues<'_> = List::new(&w64, 3, false);
        assert_eq!(e.get(0).unwrap().value, 3 << 32 | 2);
    }
}
